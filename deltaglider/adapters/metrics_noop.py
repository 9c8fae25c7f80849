"""Metrics that go nowhere."""

from __future__ import annotations


class NoopMetrics:
    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        pass

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        pass
