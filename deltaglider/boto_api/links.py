"""Presigned links, rehydrated copies for delta-stored files, and their purge."""

from __future__ import annotations


class LinkCalls:
    """Mixed into DeltaGliderClient."""
