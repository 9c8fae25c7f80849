"""The system clock, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
