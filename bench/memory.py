"""Peak anonymous memory of SDK uploads and downloads of large similar files (local store).

Generates a random base file and a copy with a few edits (insertions, overwrites, a deletion; with
its halves swapped too, for the pair that makes the encoder index the whole source), then
runs each operation in a fresh child process that does only that operation through
``deltaglider.create_client`` against a local folder store, sampling its own ``RssAnon`` (from
``/proc/self/status``: heap and anonymous maps, not the page cache or the memory-mapped files) every
millisecond. Reports the interpreter's baseline and the peak per operation.

    python bench/memory.py                      # 1 GiB files, defaults
    python bench/memory.py --size 256MiB --runs 3 --json out.json

``BENCH_ENCODE_MEMORY=<bytes>`` in the environment sets the children's process-wide encode limit.
Linux only (``/proc``). Needs about 6x ``--size`` of free disk in ``--dir`` (default: a temp folder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_UNITS = {"": 1, "k": 2**10, "kib": 2**10, "m": 2**20, "mib": 2**20, "g": 2**30, "gib": 2**30}
_CHUNK = 8 * 2**20
MIB = 2**20

# The child: samples RssAnon on a thread while the main thread runs one client call.
_CHILD = r"""
import json, os, resource, sys, threading, time

def rss_anon():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no RssAnon in /proc/self/status")

op, store, cache, src, dest = sys.argv[1:6]
from deltaglider import create_client
client = create_client(cache_dir=cache, log_level="WARNING")
if os.environ.get("BENCH_ENCODE_MEMORY"):  # to compare: another process-wide encode limit
    from deltaglider.core.encode_limit import ENCODE_GATE
    ENCODE_GATE.resize(int(os.environ["BENCH_ENCODE_MEMORY"]))
baseline = rss_anon()
peak = baseline
done = threading.Event()

def sample():
    global peak
    while not done.is_set():
        peak = max(peak, rss_anon())
        time.sleep(0.001)

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
started = time.monotonic()
if op == "upload":
    summary = client.upload(src, store)
    what = summary.operation
elif op == "upload-threads":
    # One client shared by a thread per file, all started at once.
    results = []
    barrier = threading.Barrier(len(src.split(os.pathsep)))
    def upload(path):
        barrier.wait()
        results.append(client.upload(path, store).operation)
    threads = [threading.Thread(target=upload, args=(p,)) for p in src.split(os.pathsep)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    what = "/".join(sorted(set(results))) + f" x{len(results)}"
else:
    summary = client.download(store + src, dest)
    what = "GET"
seconds = time.monotonic() - started
done.set()
sampler.join()
peak = max(peak, rss_anon())
print(json.dumps({
    "op": op, "operation": what, "seconds": seconds, "baseline": baseline, "peak": peak,
    "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
"""


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1GiB, 256MiB, 1000000)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def make_pair(folder: Path, size: int, *, moved: bool = False, seed: int = 1) -> tuple[Path, Path]:
    """``app-1.0.tar`` (random) and ``app-1.1.tar``: see :func:`write_variant`."""
    rng = random.Random(seed)
    base, new = folder / "app-1.0.tar", folder / "app-1.1.tar"
    with open(base, "wb") as fb:
        for pos in range(0, size, _CHUNK):
            fb.write(rng.randbytes(min(_CHUNK, size - pos)))
    write_variant(base, new, rng, moved=moved)
    return base, new


def write_variant(base: Path, new: Path, rng: random.Random, *, moved: bool) -> None:
    """``base`` with 32 small overwrites, a 64 KiB insertion and a 64 KiB deletion, streamed in
    chunks. ``moved``: its halves are also swapped, so the encoder must index the whole source (its
    largest memory), not a sliding window."""
    size = base.stat().st_size
    overwrites = sorted(rng.randrange(size) for _ in range(32))
    insert_at, delete_at = rng.randrange(size // 2), size // 2 + rng.randrange(size // 2 - 2**16)
    half = size // 2 if moved else 0
    with open(base, "rb") as fb, open(new, "wb") as fn:
        for start, stop in ((half, size), (0, half)):
            pos = start
            fb.seek(pos)
            while pos < stop:
                chunk = bytearray(fb.read(min(_CHUNK, stop - pos)))
                end = pos + len(chunk)
                for at in overwrites:
                    if pos <= at < end - 16:
                        chunk[at - pos : at - pos + 16] = rng.randbytes(16)
                if pos <= delete_at < end:
                    cut = delete_at - pos
                    del chunk[cut : cut + 2**16]
                if pos <= insert_at < end:
                    cut = insert_at - pos
                    chunk[cut:cut] = rng.randbytes(2**16)
                fn.write(chunk)
                pos = end


def run_child(op: str, store: str, cache: Path, src: str, dest: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, op, store, str(cache), src, dest],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{op} child failed ({proc.returncode}):\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def measure(size: int, folder: Path, *, moved: bool) -> list[dict[str, Any]]:
    """One round: upload base (it becomes the reference), upload next (a delta), download next, then
    download base; each in its own child. Checks the downloads byte for byte."""
    data = folder / "data"
    data.mkdir()
    base, new = make_pair(data, size, moved=moved)
    store_root = folder / "store"
    (store_root / "bucket").mkdir(parents=True)
    store = f"{store_root}/bucket/app/"
    cache = folder / "cache"
    rows = [
        run_child("upload", store, cache, str(base), ""),
        run_child("upload", store, cache, str(new), ""),
    ]
    for original in (new, base):
        out = folder / f"out-{original.name}"
        row = run_child("download", store, cache, original.name, str(out))
        if not _same(out, original):
            raise RuntimeError(f"{out} differs from {original}")
        out.unlink()
        rows.append(row)
    for row, name in zip(rows, ["upload base", "upload next", "download next", "download base"], strict=True):
        row["step"] = name
        row["size"] = size
        row["pair"] = "moved" if moved else "local edits"
    return rows


def measure_threads(size: int, count: int, folder: Path) -> dict[str, Any]:
    """``count`` threads of one client upload ``count`` different "moved" variants of one reference
    at once (every encode indexing its whole source): the encode gate keeps their sum bounded."""
    data = folder / "data"
    data.mkdir()
    base, _ = make_pair(data, size, moved=True)
    variants = []
    for i in range(count):
        variant = data / f"app-2.{i}.tar"
        write_variant(base, variant, random.Random(100 + i), moved=True)
        variants.append(str(variant))
    store_root = folder / "store"
    (store_root / "bucket").mkdir(parents=True)
    store = f"{store_root}/bucket/app/"
    run_child("upload", store, folder / "cache", str(base), "")
    row = run_child("upload-threads", store, folder / "cache", os.pathsep.join(variants), "")
    row.update(step=f"{count} threads upload at once", size=size, pair="moved")
    return row


def _same(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(_CHUNK), fb.read(_CHUNK)
            if x != y:
                return False
            if not x:
                return True


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| pair | step | size MiB | stored as | seconds | baseline anon MiB | peak anon MiB | max RSS MiB |",
        "|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['pair']} | {r['step']} | {r['size'] / MIB:,.0f} | {r['operation']} | {r['seconds']:.1f} | "
            f"{r['baseline'] / MIB:.1f} | {r['peak'] / MIB:.1f} | {r['maxrss'] / MIB:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=parse_size, default=2**30, help="file size (default 1GiB)")
    parser.add_argument("--runs", type=int, default=1, help="rounds (fresh files and store each)")
    parser.add_argument(
        "--pairs",
        choices=["local", "moved", "both"],
        default="both",
        help="local edits (a sliding window suffices), moved halves (the whole source indexed), or both",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=16,
        help="also: this many threads of one client upload --thread-size files at once (0: skip)",
    )
    parser.add_argument("--thread-size", type=parse_size, default=64 * MIB, help="default 64MiB")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    kinds = {"local": [False], "moved": [True], "both": [False, True]}[args.pairs]
    for run in range(args.runs):
        for moved in kinds:
            with tempfile.TemporaryDirectory(prefix="dg-memory-", dir=args.dir) as tmp:
                for row in measure(args.size, Path(tmp), moved=moved):
                    row["run"] = run + 1
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
        if args.threads > 0:
            with tempfile.TemporaryDirectory(prefix="dg-memory-", dir=args.dir) as tmp:
                row = measure_threads(args.thread_size, args.threads, Path(tmp))
                row["run"] = run + 1
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    host = platform.node() or "host"
    print(f"{host}: {os.cpu_count()} CPUs, Python {platform.python_version()}, {time.ctime()}")
    print(table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
