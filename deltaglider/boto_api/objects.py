"""Object calls: put, get, head and delete by Bucket and Key."""

from __future__ import annotations


class ObjectCalls:
    """Mixed into DeltaGliderClient."""
