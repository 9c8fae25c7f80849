"""Shared by the producer benchmarks: a pair of files through the SDK into a ``file://`` store.

The first file is uploaded, then the second is timed; the second is then downloaded by a fresh client
with an empty cache (timed) and checked byte for byte. Run the benchmarks as ``python bench/X.py``:
this folder is then first on ``sys.path``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deltaglider import create_client
from deltaglider.client import UploadSummary


@dataclass(frozen=True)
class PairRun:
    second: UploadSummary  # what the second upload stored
    upload_s: float
    download_s: float


def upload_then_download(old: Path, new: Path, room: Path) -> PairRun:
    """Uploads ``old`` then ``new`` into a store under ``room``; downloads ``new`` back, exact."""
    client = create_client(endpoint_url=f"file://{room / 'store'}", cache_dir=str(room / "cache"))
    client.upload(old, "s3://b/rel/")
    start = time.perf_counter()
    second = client.upload(new, "s3://b/rel/")
    up = time.perf_counter() - start
    fresh = create_client(endpoint_url=f"file://{room / 'store'}", cache_dir=str(room / "cache2"))
    start = time.perf_counter()
    got = fresh.download(f"s3://b/rel/{new.name}", room / "out")
    down = time.perf_counter() - start
    if Path(got.path).read_bytes() != new.read_bytes():
        raise AssertionError(f"{new.name} came back different")
    return PairRun(second, up, down)


def run_pairs(argv: list[str], usage: str | None, measure: Callable[[Path, Path, Path], None]) -> int:
    """``measure(old, new, scratch)`` for each pair of paths in ``argv``; usage and 2 on a bad count."""
    if len(argv) < 2 or len(argv) % 2:
        print(usage, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(0, len(argv), 2):
            measure(Path(argv[i]), Path(argv[i + 1]), Path(tmp))
    return 0
