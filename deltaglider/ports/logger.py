"""The logger port: messages with structured fields."""

from __future__ import annotations

from typing import Protocol


class LoggerPort(Protocol):
    def debug(self, message: str, **fields: object) -> None: ...

    def info(self, message: str, **fields: object) -> None: ...

    def warning(self, message: str, **fields: object) -> None: ...
