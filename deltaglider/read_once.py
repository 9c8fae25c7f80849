"""One read-only look at a store, each read made once: a listing, and the HEAD of each object, kept for
the length of the look, so that several views of one folder that a caller shows together (a listing's
lines and its totals) cost one listing and one HEAD per object, and agree.

Only for reads: a write through it would go to the store while its memory kept the old answers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from deltaglider.ports.storage import ObjectHead, StoragePort


class ReadOnce:
    """``StoragePort`` reads over ``inner``, each answered once."""

    def __init__(self, inner: StoragePort) -> None:
        self._inner = inner
        self._lists: dict[tuple[str, str, bool], list[ObjectHead]] = {}
        self._heads: dict[tuple[str, str], ObjectHead | None] = {}
        # Listings HEAD on several threads.
        self._lock = threading.Lock()

    def list(self, bucket: str, prefix: str, *, recursive: bool = True) -> Iterator[ObjectHead]:
        asked = (bucket, prefix, recursive)
        with self._lock:
            found = self._lists.get(asked)
        if found is None:
            found = list(self._inner.list(bucket, prefix, recursive=recursive))
            with self._lock:
                self._lists[asked] = found
        return iter(found)

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        asked = (bucket, key)
        with self._lock:
            if asked in self._heads:
                return self._heads[asked]
        found = self._inner.head(bucket, key)
        with self._lock:
            self._heads[asked] = found
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
