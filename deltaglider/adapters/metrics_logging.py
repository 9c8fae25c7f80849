"""Metrics written as log lines (logger ``deltaglider.metrics``).

``DG_METRICS=logging`` writes them at INFO: ``count put.bytes 1048576 operation=PUT_DELTA``,
``timing put.seconds 0.051234s operation=PUT_DELTA``. Unless the application set that logger's level
itself, it is set to the adapter's level, so the lines pass a ``deltaglider`` logger kept at WARNING
(as the command line keeps it) and reach its handlers. With no metrics chosen and the log level at
DEBUG, the same lines are written at DEBUG.
"""

from __future__ import annotations

import logging

LOGGER_NAME = "deltaglider.metrics"


def _tags(tags: dict[str, str]) -> str:
    return "".join(f" {key}={value}" for key, value in sorted(tags.items()))


class LoggingMetrics:
    def __init__(self, name: str = LOGGER_NAME, level: int = logging.DEBUG) -> None:
        self._logger = logging.getLogger(name)
        self._level = level
        if self._logger.level == logging.NOTSET and level > logging.DEBUG:
            self._logger.setLevel(level)

    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        self._logger.log(self._level, "count %s %d%s", name, value, _tags(tags))

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        self._logger.log(self._level, "timing %s %.6fs%s", name, seconds, _tags(tags))
