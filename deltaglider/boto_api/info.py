"""What is stored and what would be: object info, bucket statistics, estimates, similar files, batches."""

from __future__ import annotations


class InfoCalls:
    """Mixed into DeltaGliderClient."""
