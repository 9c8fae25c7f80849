"""The cache port: reference files kept locally, addressed by their SHA-256 and by where they came from.

An entry is found only by the origin it was stored under as well as its SHA-256. The SHA-256 a delta
names is written by whoever wrote the delta: served by SHA-256 alone, a delta planted in one folder
would be rebuilt from another folder's reference, read here before by someone else. The origin of a
base is ``ctx.storage.url(bucket, key)`` of the key it was fetched from (or stored at); something
derived from a base (its decoded content) names its own origin from the base's.

What a flow has just checked itself (downloaded, rebuilt or derived, then hashed) is written in the
cache's own ``scratch`` folder and ``adopt``-ed: moved in as it is, neither copied nor hashed again.
Anything else comes in through ``store``, which hashes it as it copies it. Either way the cache never
keeps a file whose SHA-256 nobody checked.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable


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

    def adopt(self, sha256: str, src: Path, *, origin: str) -> AbstractContextManager[Path]:
        """A context yielding the file to read instead of ``src``, which the caller has just checked
        to hash to ``sha256`` (and must not write to afterwards): ``src`` is moved into the cache as
        the entry for ``origin``, unread, when it fits the cap (best from a file in :meth:`scratch`);
        otherwise, or when the cache cannot take it, ``src`` itself is yielded and left in place.
        The path stays valid until the context exits. Never raises for a cache that is merely full or
        unusable."""
        ...

    def scratch(self) -> AbstractContextManager[Path]:
        """A private folder, removed when the context exits, for files that may be adopted: on the
        cache's own file system where it has one, so that adopting one is a rename."""
        ...


@runtime_checkable
class ClearableCache(Protocol):
    """A cache that can drop its entries at once (``DeltaGliderClient.clear_cache``)."""

    def clear(self) -> int:
        """Removes every entry no one is using now; returns how many went. Never touches anything
        but the cache's own entries."""
        ...
