"""Bucket calls: create, delete, list, ACLs."""

from __future__ import annotations


class BucketCalls:
    """Mixed into DeltaGliderClient."""
