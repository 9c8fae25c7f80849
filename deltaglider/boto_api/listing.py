"""ListObjectsV2-shaped listings of the files a folder holds."""

from __future__ import annotations


class ListingCalls:
    """Mixed into DeltaGliderClient."""
