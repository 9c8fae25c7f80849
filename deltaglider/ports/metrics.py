"""The metrics port: counters and timings, tagged."""

from __future__ import annotations

from typing import Protocol


class MetricsPort(Protocol):
    def increment(self, name: str, value: int = 1, **tags: str) -> None: ...

    def timing(self, name: str, seconds: float, **tags: str) -> None: ...
