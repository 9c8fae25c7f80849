"""What every flow of the service needs: the ports and the service-wide settings."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deltaglider.ports.cache import CachePort
from deltaglider.ports.clock import ClockPort
from deltaglider.ports.diff import DiffPort
from deltaglider.ports.hash import HashPort
from deltaglider.ports.logger import LoggerPort
from deltaglider.ports.metrics import MetricsPort
from deltaglider.ports.storage import StoragePort


@dataclass(frozen=True)
class Context:
    storage: StoragePort
    diff: DiffPort
    hasher: HashPort
    cache: CachePort
    clock: ClockPort
    logger: LoggerPort
    metrics: MetricsPort
    tool_version: str
    max_ratio: float

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A private folder for one operation's scratch files, removed afterwards."""
        path = Path(tempfile.mkdtemp(prefix="deltaglider-"))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
