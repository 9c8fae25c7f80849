"""The cache port: reference files kept locally, addressed by their SHA-256."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol


class CachePort(Protocol):
    def use(self, sha256: str) -> AbstractContextManager[Path | None]:
        """A context yielding a local file whose SHA-256 was checked to be ``sha256``, or None on a
        miss. The path stays valid (not evicted, not replaced) until the context exits."""
        ...

    def store(self, sha256: str, src: Path) -> bool:
        """Keeps a copy of ``src`` if its content hashes to ``sha256`` and it fits the cache's size
        cap; True if the cache now holds it. Never raises for a cache that is merely full."""
        ...
