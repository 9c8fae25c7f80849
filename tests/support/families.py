"""Families of releases that drift from their first one, for the tests of several bases (issue 13)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService
from support.sdk import make_service

SIZE = (1 << 20) + 4096  # large enough to start a full reference of its own


def drifting_family(folder: Path, count: int, *, step: float = 0.06, seed: int = 5) -> list[Path]:
    """Releases ``app-<n>.iso`` of one blob, each replacing another ``step`` of it with new bytes:
    small against the previous release, ever larger against the first."""
    rng = random.Random(seed)
    blob = bytearray(rng.randbytes(SIZE))
    paths = []
    span = int(SIZE * step)
    for n in range(count):
        if n:
            at = ((n - 1) * span) % (SIZE - span)
            blob[at : at + span] = rng.randbytes(span)
        path = folder / f"app-{n:02d}.iso"  # a disk image: a delta candidate by name
        path.write_bytes(bytes(blob))
        paths.append(path)
    return paths


class CountingDiff(XDelta3Diff):
    """The codec, counting the decodes a download needs (legacy ones through ``decode_raw`` too)."""

    def __init__(self) -> None:
        super().__init__()
        self.decodes = 0

    def decode(self, source: Path, delta: Path, out: Path, *, expected_size: int | None = None) -> int:
        self.decodes += 1
        return super().decode(source, delta, out, expected_size=expected_size)

    def decode_raw(self, source: Path, delta: Path, out: Path, *, size_limit: int) -> int:
        self.decodes += 1
        return super().decode_raw(source, delta, out, size_limit=size_limit)


def cold_service(store: MemoryStorage) -> tuple[DeltaService, CountingDiff]:
    diff = CountingDiff()
    return make_service(store, diff=diff, cache=MemoryCache(max_bytes=1 << 30, hasher=Sha256Hasher())), diff


SPACE = DeltaSpace("b", "rel")


def stored_family(
    folder: Path, count: int, *, clock: Any = None, step: float = 0.06
) -> tuple[MemoryStorage, DeltaService, list[Path]]:
    """A drifting family uploaded in order into ``SPACE`` of a new store, with the service used."""
    family = drifting_family(folder, count, step=step)
    store = MemoryStorage()
    service = make_service(store, clock=clock)
    for path in family:
        service.put(path, SPACE)
    return store, service, family


def two_families(folder: Path, seed: int) -> list[list[Path]]:
    """Two families of 6 releases that drift fast, for random histories of one DeltaSpace."""
    families = []
    for index in range(2):
        (folder / f"f{index}").mkdir()
        families.append(drifting_family(folder / f"f{index}", 6, step=0.12, seed=seed + index))
    return families


def cold_get(store: MemoryStorage, name: str, out: Path) -> int:
    """Downloads ``name`` of ``SPACE`` with an empty cache into ``out``; the decodes it took."""
    service, diff = cold_service(store)
    service.get(ObjectKey(SPACE.bucket, f"{SPACE.prefix}/{name}"), out)
    return diff.decodes
