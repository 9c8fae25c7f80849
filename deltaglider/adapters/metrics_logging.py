"""Metrics written as DEBUG log lines (logger ``deltaglider.metrics``)."""

from __future__ import annotations

import logging


def _tags(tags: dict[str, str]) -> str:
    return "".join(f" {key}={value}" for key, value in sorted(tags.items()))


class LoggingMetrics:
    def __init__(self, name: str = "deltaglider.metrics") -> None:
        self._logger = logging.getLogger(name)

    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        self._logger.debug("count %s %d%s", name, value, _tags(tags))

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        self._logger.debug("timing %s %.6fs%s", name, seconds, _tags(tags))
