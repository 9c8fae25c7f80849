"""How much work one upload and one cold download of an archive cost, counted rather than timed.

The family is a run of zip releases whose stored binary drifts a little further from the first one
at every release, so that a later release becomes a snapshot (a base stored as a delta against the
full reference) and the next one is stored as a delta against that snapshot. Counted for that next
upload, and for a cold download of it (a new service, an empty cache):

- bytes hashed, as a multiple of the file's size: every SHA-256 taken in Python (``hashlib.sha256``
  and ``hashlib.new("sha256")``, which ``hashlib.file_digest`` uses), the caches' own included;
- bytes written and read by the process (``wchar``/``rchar`` of ``/proc/self/io``: every write and
  read system call, copies by ``sendfile`` included), as multiples of the file's size;
- storage requests by type (the in-memory store's log);
- renames (``os.replace``: a temporary file written beside its final name, then moved there);
- encodes and decodes (a counting xdelta3 adapter).

The store is in memory; the cache is the file cache (as a client has by default) in a fresh folder
under the system's temporary folder, beside the scratch folders. Runs against whatever checkout
``PYTHONPATH`` names: ``PYTHONPATH=. python bench/work_counts.py`` prints a Markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import random
import tempfile
import zipfile
from collections import Counter
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deltaglider.adapters.cache_fs import FsCache
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService

SPACE = DeltaSpace("b", "rel")
_EPOCH = (2024, 1, 1, 0, 0, 0)


def drifting_zips(folder: Path, count: int, *, size: int, step: float, seed: int = 5) -> list[Path]:
    """Releases ``app-<n>.zip``: a deflated source file of ``size`` bytes of which each release
    replaces another ``step``, a deflated README and a stored VERSION file."""
    rng = random.Random(seed)
    blob = bytearray(_text(rng, size))
    readme = "\n".join(f"line {i}: {rng.random()}" for i in range(1500)).encode()
    span = int(size * step)
    paths = []
    for n in range(count):
        if n:
            at = ((n - 1) * span) % (size - span)
            blob[at : at + span] = _text(rng, span)
        path = folder / f"app-{n:02d}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for member, data, method in (
                ("lib/app.py", bytes(blob), zipfile.ZIP_DEFLATED),
                ("README.txt", readme, zipfile.ZIP_DEFLATED),
                ("VERSION", f"1.{n}".encode(), zipfile.ZIP_STORED),
            ):
                info = zipfile.ZipInfo(member, date_time=_EPOCH)
                info.compress_type = method
                archive.writestr(info, data)
        paths.append(path)
    return paths


def _text(rng: random.Random, size: int) -> bytes:
    """Source-like lines: deflate shrinks them, and a changed line changes the deflated stream from
    there on (so only a delta of the decoded content stays small)."""
    out = bytearray()
    while len(out) < size:
        name, factor = rng.randrange(10**6), rng.randrange(999)
        out += f"def f_{name}(x):\n    return x * {factor} + {rng.random()}\n".encode()
    return bytes(out[:size])


class CountingDiff(XDelta3Diff):
    def __init__(self) -> None:
        super().__init__()
        self.encodes = 0
        self.decodes = 0

    def encode(self, source: Path, target: Path, out: Path, *args: Any, **kwargs: Any) -> int:
        # Passes on whatever else this checkout's port takes (a plan, in later versions).
        self.encodes += 1
        return super().encode(source, target, out, *args, **kwargs)

    def decode(self, source: Path, delta: Path, out: Path, *, expected_size: int | None = None) -> int:
        self.decodes += 1
        return super().decode(source, delta, out, expected_size=expected_size)

    def decode_raw(self, source: Path, delta: Path, out: Path, *, size_limit: int) -> int:
        self.decodes += 1
        return super().decode_raw(source, delta, out, size_limit=size_limit)


@dataclass
class Counts:
    hashed: int = 0
    written: int = 0
    read: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    encodes: int = 0
    decodes: int = 0
    renames: int = 0


class _CountingHash:
    """A SHA-256 object that adds what it is fed to ``tally``."""

    def __init__(self, real: Any, tally: Counts) -> None:
        self._real = real
        self._tally = tally

    def update(self, data: Any) -> None:
        self._tally.hashed += memoryview(data).nbytes
        self._real.update(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def hashing_counted(tally: Counts) -> Iterator[None]:
    real_sha256: Callable[..., Any] = hashlib.sha256
    real_new: Callable[..., Any] = hashlib.new

    def sha256(data: bytes = b"", **kwargs: Any) -> _CountingHash:
        counted = _CountingHash(real_sha256(**kwargs), tally)
        if data:
            counted.update(data)
        return counted

    def new(name: str, data: bytes = b"", **kwargs: Any) -> Any:
        if name.lower() != "sha256":
            return real_new(name, data, **kwargs)
        return sha256(data, **kwargs)

    hashlib.sha256 = sha256  # type: ignore[assignment]
    hashlib.new = new  # type: ignore[assignment]
    try:
        yield
    finally:
        hashlib.sha256 = real_sha256  # type: ignore[assignment]
        hashlib.new = real_new  # type: ignore[assignment]


def _io() -> tuple[int, int]:
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


@contextmanager
def counted(store: MemoryStorage, diff: CountingDiff) -> Iterator[Counts]:
    tally = Counts()
    store.calls.clear()
    diff.encodes = diff.decodes = 0
    read0, wrote0 = _io()
    real_replace = os.replace

    def replace(src: Any, dst: Any, **kwargs: Any) -> None:
        tally.renames += 1
        real_replace(src, dst, **kwargs)

    os.replace = replace
    try:
        with hashing_counted(tally):
            yield tally
    finally:
        os.replace = real_replace
    read1, wrote1 = _io()
    tally.read, tally.written = read1 - read0, wrote1 - wrote0
    tally.requests = Counter(op for op, _, _ in store.calls)
    tally.encodes, tally.decodes = diff.encodes, diff.decodes


def service(store: MemoryStorage, cache_dir: Path, diff: CountingDiff) -> DeltaService:
    hasher = Sha256Hasher()
    logger = StdLogger("deltaglider.bench")
    return DeltaService(
        storage=store,
        diff=diff,
        hasher=hasher,
        cache=FsCache(cache_dir, max_bytes=1 << 30, hasher=hasher, logger=logger),
        clock=_Clock(),
        logger=logger,
        metrics=NoopMetrics(),
        tool_version="deltaglider/bench",
        max_ratio=0.5,
    )


class _Clock:
    def __init__(self) -> None:
        from datetime import UTC, datetime

        self._now = datetime(2026, 1, 2, tzinfo=UTC)

    def now(self) -> Any:
        from datetime import timedelta

        self._now += timedelta(milliseconds=1)
        return self._now


def _on_snapshot(store: MemoryStorage, key: str, before: Container[str]) -> bool:
    """Whether ``key`` is a delta against a snapshot that was there before it (not one it made)."""
    ref = store.raw("b", key)[1].get("dg-ref-key", "")
    return "reference-" in ref and ref.endswith(".delta") and ref in before


def _new_process() -> None:
    """Forgets what this process remembers across clients (by the names each version used), as a new
    process would have nothing remembered."""
    for module, name in (
        ("deltaglider.core.rebuild.archives", "_BASES"),
        ("deltaglider.core.rebuild.sources", "_DERIVED"),
        ("deltaglider.adapters.cache_fs", "_CHECKED"),
    ):
        memo = getattr(importlib.import_module(module), name, None)
        if memo is not None:
            memo.__init__()


def _fresh(store: MemoryStorage, diff: CountingDiff) -> DeltaService:
    _new_process()
    return service(store, Path(tempfile.mkdtemp(prefix="dg-bench-cache-")), diff)


def run(folder: Path, size: int, step: float) -> tuple[int, dict[str, Counts]]:
    """Uploads the family with one client until a release lands against a snapshot; that upload is
    counted as made by that client (warm) and again by a new client (cold: a new process, an empty
    cache, as a CLI call is), then a cold download of it."""
    files = drifting_zips(folder, 30, size=size, step=step)
    store = MemoryStorage()
    diff = CountingDiff()
    up = _fresh(store, diff)
    for path in files:
        before = {key: store.raw("b", key) for key in store.keys("b")}
        with counted(store, diff) as warm:
            summary = up.put(path, SPACE)
        if summary.operation == "PUT_DELTA" and _on_snapshot(store, summary.key, before):
            break
    else:
        raise SystemExit("no upload of this family landed against a snapshot")
    after = {key: store.raw("b", key) for key in store.keys("b")}
    for key in store.keys("b"):
        if key not in before:
            store.delete("b", key)
    with counted(store, diff) as cold_upload:
        again = _fresh(store, diff).put(path, SPACE)
    assert again.key == summary.key and _on_snapshot(store, again.key, before)
    for key, (body, meta) in after.items():
        store.set_raw("b", key, body, meta)
    with counted(store, diff) as download:
        _fresh(store, diff).get(ObjectKey("b", f"rel/{path.name}"), folder / "out.zip")
    assert (folder / "out.zip").read_bytes() == path.read_bytes()
    return path.stat().st_size, {
        "upload (warm client)": warm,
        "upload (new client)": cold_upload,
        "cold download": download,
    }


def table(size: int, counts: dict[str, Counts]) -> str:
    rows = [
        ("hashed (x file)", lambda c: f"{c.hashed / size:.2f}"),
        ("written (x file)", lambda c: f"{c.written / size:.2f}"),
        ("read (x file)", lambda c: f"{c.read / size:.2f}"),
        ("requests", lambda c: ", ".join(f"{op} {n}" for op, n in sorted(c.requests.items()))),
        ("renames (a temporary file into place)", lambda c: str(c.renames)),
        ("encodes", lambda c: str(c.encodes)),
        ("decodes", lambda c: str(c.decodes)),
    ]
    lines = [
        f"File: {size:,} bytes (a zip whose upload lands against a snapshot base).",
        "",
        "| | " + " | ".join(counts) + " |",
        "|---" * (len(counts) + 1) + "|",
    ]
    lines += [f"| {name} | " + " | ".join(cell(c) for c in counts.values()) + " |" for name, cell in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2_700_000, help="bytes of the source file inside")
    parser.add_argument("--step", type=float, default=0.06, help="share of it each release replaces")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dg-bench-") as folder:
        size, counts = run(Path(folder), args.size, args.step)
    print(table(size, counts))


if __name__ == "__main__":
    main()
