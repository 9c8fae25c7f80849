"""Building DeltaService instances over test adapters, and small helpers for SDK tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.service import DeltaService
from deltaglider.ports.cache import CachePort
from deltaglider.ports.diff import DiffPort
from deltaglider.ports.storage import StoragePort

FIXED_NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
TOOL = "deltaglider/test"


class FixedClock:
    def now(self) -> datetime:
        return FIXED_NOW


class TickingClock:
    """Every reading is one millisecond after the previous one: shared by the clients of a test, it
    orders their write stamps as their calls were made."""

    def __init__(self) -> None:
        self._now = datetime(2026, 1, 2, tzinfo=UTC)

    def now(self) -> datetime:
        self._now += timedelta(milliseconds=1)
        return self._now


def make_service(
    storage: StoragePort | None = None,
    *,
    cache: CachePort | None = None,
    diff: DiffPort | None = None,
    max_ratio: float = 0.5,
    original_compatible: bool = False,
    clock: Any = None,
) -> DeltaService:
    hasher = Sha256Hasher()
    return DeltaService(
        storage=storage if storage is not None else MemoryStorage(),
        diff=diff if diff is not None else XDelta3Diff(),
        hasher=hasher,
        cache=cache if cache is not None else MemoryCache(max_bytes=1 << 30, hasher=hasher),
        clock=FixedClock() if clock is None else clock,
        logger=StdLogger("deltaglider.tests"),
        metrics=NoopMetrics(),
        tool_version=TOOL,
        max_ratio=max_ratio,
        original_compatible=original_compatible,
    )


def sha256(path: Path) -> str:
    return Sha256Hasher().sha256_file(path)


def leftovers(folder: Path) -> list[str]:
    """Every entry in ``folder`` (recursively), as relative paths: to show nothing was left behind."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
