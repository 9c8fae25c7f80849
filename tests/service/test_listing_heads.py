"""Listings read each delta's metadata with a HEAD (a listing carries none): thousands of deltas are
round-trip bound one after the other, so the HEADs of a listing run at once, in a bounded number."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from support.sdk import make_service

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core import listing
from deltaglider.core.models import DeltaSpace
from deltaglider.core.service import DeltaService
from deltaglider.ports.storage import ObjectHead

SPACE = DeltaSpace("b", "rel")


class _SlowHeads(MemoryStorage):
    """HEADs that take a round trip, counting how many are in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.slow = False
        self.in_flight = 0
        self.most = 0
        self._lock = threading.Lock()

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        if not self.slow:
            return super().head(bucket, key)
        with self._lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        try:
            time.sleep(0.02)
            return super().head(bucket, key)
        finally:
            with self._lock:
                self.in_flight -= 1


def _stored(releases: list[Path], copies: int) -> tuple[_SlowHeads, DeltaService]:
    """``copies`` of each later release as deltas, under names that sort by copy; HEADs slow from now."""
    store = _SlowHeads()
    service = make_service(store)
    for i in range(copies):
        for path in releases[1:]:
            service.put(path, SPACE, name=f"{i:02d}-{path.name}")
    store.slow = True
    return store, service


def test_a_listing_heads_its_deltas_at_once_and_keeps_its_order(releases: list[Path]) -> None:
    store, service = _stored(releases, 8)

    entries = list(service.list(SPACE))

    names = [e.name for e in entries]
    assert names == sorted(names) and len(names) == 8 * (len(releases) - 1)
    assert all(e.original_size is not None for e in entries)
    assert 1 < store.most <= listing.HEADS_AT_ONCE


def test_stats_heads_at_once_too(releases: list[Path]) -> None:
    store, service = _stored(releases, 4)

    summary = service.stats(SPACE)

    # The first file became the reference: the others are deltas.
    assert (summary.reference_file_count, summary.delta_count) == (1, 4 * (len(releases) - 1) - 1)
    assert 1 < store.most <= listing.HEADS_AT_ONCE
