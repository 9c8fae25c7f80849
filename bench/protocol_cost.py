"""What the removal protocol costs an upload: store requests per upload (counted on the memory store,
so the same on every run) and wall time per upload on a folder store, for whichever ``deltaglider`` is
importable, so that two versions compare side by side in one run:

    python bench/protocol_cost.py                              # this checkout
    PYTHONPATH=/path/to/old/checkout python bench/protocol_cost.py

The family is generated (deterministic): ``--files`` releases of a ``--size`` byte disk image, each a
few patches on the previous one, so each upload after the first is a small delta.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import deltaglider
from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.clock_utc import UtcClock
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace
from deltaglider.core.service import DeltaService


def family(folder: Path, count: int, size: int) -> list[Path]:
    rng = random.Random(11)
    blob = bytearray(rng.randbytes(size))
    paths = []
    for n in range(count):
        if n:
            for _ in range(8):
                at = rng.randrange(size - 64)
                blob[at : at + 64] = rng.randbytes(64)
        path = folder / f"app-1.{n}.iso"
        path.write_bytes(bytes(blob))
        paths.append(path)
    return paths


def service(storage: object) -> DeltaService:
    hasher = Sha256Hasher()
    return DeltaService(
        storage=storage,  # type: ignore[arg-type]
        diff=XDelta3Diff(),
        hasher=hasher,
        cache=MemoryCache(max_bytes=1 << 30, hasher=hasher),
        clock=UtcClock(),
        logger=StdLogger("bench"),
        metrics=NoopMetrics(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--size", type=int, default=4_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"deltaglider from {Path(deltaglider.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="dg-bench-") as tmp:
        files = family(Path(tmp), args.files, args.size)
        space = DeltaSpace("b", "rel")

        memory = MemoryStorage()
        svc = service(memory)
        per_upload: list[Counter[str]] = []
        for path in files:
            before = len(memory.calls)
            svc.put(path, space)
            per_upload.append(Counter(op for op, _, _ in memory.calls[before:]))
        later = per_upload[1:]
        ops = sorted({op for counts in later for op in counts})
        print("requests per later upload (memory store, mean over uploads 2..n):")
        for op in ops:
            print(f"  {op:18s} {statistics.mean(c[op] for c in later):5.2f}")
        print(f"  {'all':18s} {statistics.mean(sum(c.values()) for c in later):5.2f}")
        before = len(memory.calls)
        svc.retain(space, keep_last=2)
        print(f"requests of retain --keep-last 2 over {len(files)} files: {len(memory.calls) - before}")

        times = []
        for run in range(args.runs):
            root = Path(tmp) / f"store-{run}"
            (root / "b").mkdir(parents=True)
            svc = service(LocalStorage(root))
            started = time.perf_counter()
            for path in files:
                svc.put(path, space)
            times.append((time.perf_counter() - started) / len(files))
        print(
            f"seconds per upload, folder store, {args.files} x {args.size:,} bytes: "
            f"min {min(times):.3f}, median {statistics.median(times):.3f}, max {max(times):.3f} "
            f"({args.runs} runs)"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
