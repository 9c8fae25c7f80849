"""The clock port."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class ClockPort(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...
