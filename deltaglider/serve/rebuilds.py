"""Rebuilt files, shared: a file asked for by many readers at once is rebuilt once, and each reader
streams it from the finished temporary file at its own pace.

A rebuild runs as a task of its own, not inside the request that asked first: a reader that is slow
or goes away never holds or cancels it. At most ``max_rebuilds`` run at once. Finished files stay for
later readers up to ``cache_bytes`` in all, the least recently used going first once no reader holds
them; a failed rebuild is forgotten at once, so the next reader tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread

from deltaglider.serve.store import Rebuilt

#: What rebuilds one file: (bucket, key, path to write) -> what was written.
RebuildFn = Callable[[str, str, Path], Rebuilt]


@dataclass
class RebuildStats:
    """Counts for /metrics: rebuilds started and how long they took, readers served by a file already
    rebuilt or being rebuilt."""

    rebuilds: int = 0
    failures: int = 0
    seconds: float = 0.0
    shared: int = 0
    cache_hits: int = 0


@dataclass
class _Entry:
    folder: Path
    done: asyncio.Future[Rebuilt]
    readers: int = 0
    size: int = 0


@dataclass
class Rebuilds:
    """The rebuilds in flight and the finished files kept, under ``folder`` (the server's scratch)."""

    folder: Path
    max_rebuilds: int
    cache_bytes: int
    stats: RebuildStats = field(default_factory=RebuildStats)

    def __post_init__(self) -> None:
        self._entries: OrderedDict[tuple[str, str, str], _Entry] = OrderedDict()
        self._slots = asyncio.Semaphore(self.max_rebuilds)
        self._tasks: set[asyncio.Task[None]] = set()
        self._kept = 0

    @contextlib.asynccontextmanager
    async def file(self, bucket: str, key: str, version: str, rebuild: RebuildFn) -> AsyncIterator[Rebuilt]:
        """The rebuilt file of ``key`` at ``version``, held for the block's length (it is not removed
        while any reader holds it); the rebuild's error if it failed."""
        name = (bucket, key, version)
        entry = self._entries.get(name)
        if entry is None:
            folder = Path(tempfile.mkdtemp(prefix="rebuild-", dir=self.folder))
            entry = self._entries[name] = _Entry(folder, asyncio.get_running_loop().create_future())
            task = asyncio.create_task(self._run(name, entry, rebuild))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif entry.done.done():
            self.stats.cache_hits += 1
            self._entries.move_to_end(name)
        else:
            self.stats.shared += 1
        entry.readers += 1
        try:
            yield await asyncio.shield(entry.done)
        finally:
            entry.readers -= 1
            self._trim()

    async def _run(self, name: tuple[str, str, str], entry: _Entry, rebuild: RebuildFn) -> None:
        async with self._slots:
            started = time.perf_counter()
            self.stats.rebuilds += 1
            try:
                result = await anyio.to_thread.run_sync(rebuild, name[0], name[1], entry.folder / "file")
            except asyncio.CancelledError:
                self._forget(name, entry)
                entry.done.cancel()
                raise
            except Exception as exc:
                self.stats.failures += 1
                self._forget(name, entry)
                entry.done.set_exception(exc)
                entry.done.exception()  # retrieved: no "never retrieved" warning when no reader waits
                return
            finally:
                self.stats.seconds += time.perf_counter() - started
        entry.size = result.size
        self._kept += result.size
        entry.done.set_result(result)
        self._trim()

    def _forget(self, name: tuple[str, str, str], entry: _Entry) -> None:
        if self._entries.get(name) is entry:
            del self._entries[name]
            if entry.done.done() and not entry.done.cancelled() and not entry.done.exception():
                self._kept -= entry.size
        shutil.rmtree(entry.folder, ignore_errors=True)

    def _trim(self) -> None:
        """Removes finished files no reader holds, oldest first, while over the budget."""
        for name, entry in list(self._entries.items()):
            if self._kept <= self.cache_bytes:
                return
            if entry.readers == 0 and entry.done.done():
                self._forget(name, entry)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for name, entry in list(self._entries.items()):
            self._forget(name, entry)
