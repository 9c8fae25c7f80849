"""What the history tests (tests/history) share: the stores they run on, clients that keep history,
releases of one family, and the check every name's history must pass whatever raced or crashed.

The check reads with a fresh client (an empty cache), as another process would: the versions are
listed newest first by ID, unique, at most one current (the first), and each downloads byte for byte
(its SHA-256 the one listed) within two decodes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.adapters.storage_s3 import S3Storage
from deltaglider.core.models import DeltaSpace, ObjectKey, VersionInfo
from deltaglider.core.service import DeltaService
from deltaglider.ports.clock import ClockPort
from support.moto_server import serialize_conditional_writes, use_fake_aws_env

BUCKET = "dg-history"
SPACE = DeltaSpace(BUCKET, "rel")
SIZE = 48_000
#: A rebuild reads a delta against its base, and a snapshot base against the full reference: never
#: more (issue 25: "the two-decode bound still holds" for kept versions too).
MAX_DECODES = 2


@contextlib.contextmanager
def open_store(kind: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An empty store of ``kind`` (``memory``, ``folder`` or ``s3``: moto in process, its conditional
    writes atomic as on S3) holding the bucket :data:`BUCKET`."""
    if kind == "memory":
        yield MemoryStorage()
    elif kind == "folder":
        (folder / "store" / BUCKET).mkdir(parents=True)
        yield LocalStorage(folder / "store")
    else:
        use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))
        serialize_conditional_writes(monkeypatch.setattr)
        with mock_aws():
            boto = boto3.client("s3", region_name="us-east-1")
            boto.create_bucket(Bucket=BUCKET)
            yield S3Storage(boto)


class CountingDiff:
    """The xdelta3 port, counting the decodes it makes (both kinds)."""

    def __init__(self) -> None:
        self.inner = XDelta3Diff()
        self.decodes = 0

    def decode(self, *args: Any, **kwargs: Any) -> int:
        self.decodes += 1
        return self.inner.decode(*args, **kwargs)

    def decode_raw(self, *args: Any, **kwargs: Any) -> int:
        self.decodes += 1
        return self.inner.decode_raw(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def client(
    storage: Any,
    clock: ClockPort,
    *,
    whole: bool = False,
    keep_history: bool = True,
    diff: Any = None,
) -> DeltaService:
    """A client of its own (its own cache), as another process would be; ``whole``: deltas off
    (``max_ratio`` 0), so that its uploads are stored whole."""
    hasher = Sha256Hasher()
    return DeltaService(
        storage=storage,
        diff=XDelta3Diff() if diff is None else diff,
        hasher=hasher,
        cache=MemoryCache(max_bytes=1 << 28, hasher=hasher),
        clock=clock,
        logger=StdLogger("deltaglider.tests.history"),
        metrics=NoopMetrics(),
        tool_version="deltaglider/history-tests",
        max_ratio=0.0 if whole else 0.5,
        keep_history=keep_history,
    )


def content(serial: int, drift: float | None = 0.01) -> bytes:
    """A release of one family: its first bytes with ``drift`` of them changed (None: unrelated
    bytes), and ``serial`` at the end so that no two releases are the same file."""
    data = bytearray(random.Random(7).randbytes(SIZE))
    rng = random.Random(serial)
    if drift is None:
        data = bytearray(rng.randbytes(SIZE))
    else:
        for _ in range(int(SIZE * drift)):
            data[rng.randrange(SIZE)] = rng.randrange(256)
    return bytes(data) + serial.to_bytes(8, "big")


def release(folder: Path, name: str, serial: int, drift: float | None = 0.01) -> Path:
    """:func:`content` as a file named ``name``, newer (its mtime) the greater its serial."""
    path = folder / "files" / str(serial) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content(serial, drift))
    os.utime(path, (1_700_000_000 + serial, 1_700_000_000 + serial))
    return path


def key_of(name: str) -> ObjectKey:
    return ObjectKey(BUCKET, f"{SPACE.prefix}/{name}")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Read:
    """A version as a fresh client lists and downloads it."""

    info: VersionInfo
    data: bytes


def read_history(store: Any, clock: ClockPort, name: str, folder: Path) -> list[Read]:
    """Every version of ``name``, newest first, as a fresh client lists and downloads it, held to the
    rules of the module doc."""
    listed = client(store, clock).versions(key_of(name))
    ids = [v.version_id for v in listed]
    assert ids == sorted(set(ids), reverse=True), f"{name}: versions not newest first, or repeated: {ids}"
    current = [v for v in listed if v.is_current]
    assert len(current) <= 1, f"{name}: {len(current)} current versions"
    assert not current or listed[0].is_current, f"{name}: the current version is not the newest"
    found = []
    for info in listed:
        diff = CountingDiff()
        out = folder / "read" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        client(store, clock, diff=diff).get(key_of(name), out, version=info.version_id)
        data = out.read_bytes()
        assert sha256(data) == info.sha256, f"{name}@{info.version_id} does not download as listed"
        assert diff.decodes <= MAX_DECODES, f"{name}@{info.version_id}: {diff.decodes} decodes"
        found.append(Read(info, data))
    return found


def contents_of(history: list[Read]) -> list[bytes]:
    return [read.data for read in history]


def serials(history: list[Read]) -> list[int]:
    """The serial each version's bytes end in (:func:`content`): what a failing comparison shows."""
    return [int.from_bytes(read.data[-8:], "big") for read in history]
