"""LoggerPort over the standard ``logging`` module (logger ``deltaglider`` by default).

No handler is installed: the application's logging configuration decides where records go.
"""

from __future__ import annotations

import logging


def _format(message: str, fields: dict[str, object]) -> str:
    if not fields:
        return message
    return message + " " + " ".join(f"{key}={value}" for key, value in fields.items())


class StdLogger:
    def __init__(self, name: str = "deltaglider", level: int | str | None = None) -> None:
        self._logger = logging.getLogger(name)
        if level is not None:
            self._logger.setLevel(level.upper() if isinstance(level, str) else level)

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def debug(self, message: str, **fields: object) -> None:
        if self._logger.isEnabledFor(logging.DEBUG):
            self._logger.debug(_format(message, fields))

    def info(self, message: str, **fields: object) -> None:
        if self._logger.isEnabledFor(logging.INFO):
            self._logger.info(_format(message, fields))

    def warning(self, message: str, **fields: object) -> None:
        self._logger.warning(_format(message, fields))
