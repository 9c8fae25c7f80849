"""The cache port: reference files kept locally, addressed by their SHA-256 and by where they came from.

An entry is found only by the origin it was stored under as well as its SHA-256. The SHA-256 a delta
names is written by whoever wrote the delta: served by SHA-256 alone, a delta planted in one folder
would be rebuilt from another folder's reference, read here before by someone else. The origin of a
base is ``ctx.storage.url(bucket, key)`` of the key it was fetched from (or stored at); something
derived from a base (its decoded content) names its own origin from the base's.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol


class CachePort(Protocol):
    def use(self, sha256: str, *, origin: str) -> AbstractContextManager[Path | None]:
        """A context yielding a local file whose SHA-256 was checked to be ``sha256``, stored under
        ``origin``, or None on a miss. The path stays valid (not evicted, not replaced) until the
        context exits."""
        ...

    def store(self, sha256: str, src: Path, *, origin: str) -> bool:
        """Keeps a copy of ``src``, found later under ``origin``, if its content hashes to ``sha256``
        and it fits the cache's size cap; True if the cache now holds it. Never raises for a cache
        that is merely full or unusable."""
        ...
