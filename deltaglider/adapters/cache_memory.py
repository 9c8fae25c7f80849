"""A reference cache in process memory: LRU by bytes, checked on the way in, an entry found by its
SHA-256 and the origin it was stored under (see ``ports.cache``).

The service works on files, so an entry in use is written out to a private temporary file for the
duration of the ``use`` block. An adopted file is read in as it is: its caller checked it.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deltaglider.ports.hash import HashPort


class MemoryCache:
    def __init__(self, *, max_bytes: int, hasher: HashPort, tmp_dir: str | None = None) -> None:
        self._max_bytes = max_bytes
        self._hasher = hasher
        self._tmp_dir = tmp_dir
        self._entries: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._entries.values())

    @contextmanager
    def use(self, sha256: str, *, origin: str) -> Iterator[Path | None]:
        with self._lock:
            data = self._entries.get((sha256, origin))
            if data is not None:
                self._entries.move_to_end((sha256, origin))
        if data is None:
            yield None
            return
        fd, name = tempfile.mkstemp(prefix="deltaglider-ref-", dir=self._tmp_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            yield Path(name)
        finally:
            os.unlink(name)

    @contextmanager
    def adopt(self, sha256: str, src: Path, *, origin: str) -> Iterator[Path]:
        if os.stat(src).st_size <= self._max_bytes:
            self._keep(sha256, origin, Path(src).read_bytes())
        yield src

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix=f"deltaglider-{os.getpid()}-", dir=self._tmp_dir) as folder:
            yield Path(folder)

    def clear(self) -> int:
        """Drops every entry (one in use was written out to its own file, which stays until its
        ``use`` ends)."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
        return count

    def store(self, sha256: str, src: Path, *, origin: str) -> bool:
        if os.stat(src).st_size > self._max_bytes:
            return False
        data = Path(src).read_bytes()
        if self._hasher.sha256_bytes(data) != sha256:
            return False
        self._keep(sha256, origin, data)
        return True

    def _keep(self, sha256: str, origin: str, data: bytes) -> None:
        with self._lock:
            self._entries[(sha256, origin)] = data
            self._entries.move_to_end((sha256, origin))
            total = sum(len(v) for v in self._entries.values())
            while total > self._max_bytes:
                _, dropped = self._entries.popitem(last=False)
                total -= len(dropped)
