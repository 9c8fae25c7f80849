"""How fast a decoded archive downloads: the rebuild that recompresses its members, on a real pair.

Two consecutive numpy wheels (fetched with pip's own client into ``--data``, default
``~/.cache/deltaglider-bench/rebuild``) are uploaded in order through the SDK into a ``file://`` store;
the second is stored as a delta of its decoded members. Then, each ``--runs`` times:

* ``download, warm``: the same client downloads the second wheel (its decoded base is cached);
* ``download, cold``: a fresh client with an empty cache downloads it (it fetches the reference and
  derives the base first);
* ``rebuild, N workers``: :func:`deltaglider.transforms.rebuild` alone, from the decoded stream and
  recipe to the wheel, with 1 worker and with one per core;
* ``xdelta3 -d``: stock xdelta3 decoding a plain ``-9`` delta of the wheel against the first, the
  proxy for the original DeltaGlider's download (a GET plus that decode).

It prints each time's minimum and median, the least CPU time a run took, and MB/s of rebuilt
output (the wheel's size over the least time).
Usage: ``python bench/rebuild_speed.py [--runs N] [--data DIR] [--versions A B]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CACHE = Path(os.environ.get("DG_BENCH_CACHE", Path.home() / ".cache" / "deltaglider-bench")) / "rebuild"
WHEEL = ("--only-binary=:all:", "--platform", "manylinux2014_x86_64", "--python-version", "3.11")
MB = 1_000_000


def fetch(project: str, version: str, data: Path) -> Path:
    """The wheel of ``project==version``, downloaded with pip unless already in ``data``."""
    data.mkdir(parents=True, exist_ok=True)
    found = sorted(data.glob(f"{project}-{version}-*.whl"))
    if not found:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", *WHEEL, "-d", str(data)]
        subprocess.run([*pip, f"{project}=={version}"], check=True)
        found = sorted(data.glob(f"{project}-{version}-*.whl"))
    return found[0]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def timed(runs: int, step: Callable[[], None]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run; the CPU time is this process's, every thread's together (a
    subprocess's is not counted)."""
    times = []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    return times


def line(label: str, times: list[tuple[float, float]], size: int) -> str:
    walls = [wall for wall, _ in times]
    best, median, cpu = min(walls), statistics.median(walls), min(cpu for _, cpu in times)
    return f"| {label} | {best:.3f} | {median:.3f} | {cpu:.3f} | {size / best / MB:.1f} |"


def sdk_rows(first: Path, second: Path, work: Path, runs: int) -> tuple[list[str], str]:
    """Uploads both wheels into a folder store, then times the second's download, warm and cold."""
    from deltaglider import create_client

    size, want = second.stat().st_size, sha256(second)
    endpoint = f"file://{work / 'store'}"
    (work / "store").mkdir()
    prefix = "s3://bench/wheels/"
    client = create_client(endpoint_url=endpoint, cache_dir=str(work / "cache"), log_level="WARNING")
    client.upload(first, prefix)
    start = time.perf_counter()
    summary = client.upload(second, prefix)
    upload = f"upload: {time.perf_counter() - start:.2f} s, stored {summary.stored_size} bytes"
    out = work / "out.whl"

    def download(reader_cache: Path | None) -> Callable[[], None]:
        def step() -> None:
            reader = client
            if reader_cache is not None:
                shutil.rmtree(reader_cache, ignore_errors=True)
                reader = create_client(
                    endpoint_url=endpoint, cache_dir=str(reader_cache), log_level="WARNING"
                )
            reader.download(prefix + second.name, out)
            if sha256(out) != want:
                raise SystemExit("the download is not the wheel")
            out.unlink()

        return step

    rows = [
        line("download, warm", timed(runs, download(None)), size),
        line("download, cold", timed(runs, download(work / "cache2")), size),
    ]
    return rows, f"{upload} ({summary.stored_size / size:.1%})"


def rebuild_rows(second: Path, work: Path, runs: int) -> tuple[list[str], float]:
    """Times the rebuild alone, on one worker and on every core; the decoded stream's size in MB."""
    from deltaglider.transforms import encode_container, rebuild, unpack
    from deltaglider.transforms.recompress import default_workers

    size, want = second.stat().st_size, sha256(second)
    out = work / "rebuilt.whl"
    encoded = encode_container(second, work / "decoded")
    assert encoded is not None
    rows = []
    for workers in sorted({1, default_workers()}):

        def step(workers: int = workers) -> None:
            rebuild(work / "decoded", encoded.recipe, out, workers=workers)

        rows.append(line(f"rebuild, {workers} worker(s)", timed(runs, step), size))
        if sha256(out) != want:
            raise SystemExit("the rebuild is not the wheel")
    return rows, unpack(encoded.recipe).decoded_size / MB


def stock_rows(first: Path, second: Path, work: Path, runs: int) -> tuple[list[str], int]:
    """Times stock ``xdelta3 -d`` of a plain ``-9`` delta; the delta's size."""
    delta, out = work / "plain.vcdiff", work / "stock.whl"
    subprocess.run(["xdelta3", "-f", "-e", "-9", "-s", str(first), str(second), str(delta)], check=True)

    def step() -> None:
        subprocess.run(["xdelta3", "-f", "-d", "-s", str(first), str(delta), str(out)], check=True)

    rows = [line("stock xdelta3 -d of a plain delta", timed(runs, step), second.stat().st_size)]
    return rows, delta.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=CACHE)
    parser.add_argument("--project", default="numpy")
    parser.add_argument("--versions", nargs=2, default=("2.1.2", "2.1.3"))
    args = parser.parse_args()
    first, second = (fetch(args.project, v, args.data) for v in args.versions)
    size = second.stat().st_size
    with tempfile.TemporaryDirectory(prefix="dg-rebuild-bench-") as tmp:
        work = Path(tmp)
        sdk, upload = sdk_rows(first, second, work, args.runs)
        rebuilt, decoded_mb = rebuild_rows(second, work, args.runs)
        stock, plain_size = stock_rows(first, second, work, args.runs)
    print(f"{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{second.name}: {size / MB:.1f} MB, {decoded_mb:.1f} MB decoded; after {first.name}")
    print(upload)
    print(f"plain xdelta3 -9 delta: {plain_size} bytes ({plain_size / size:.1%})")
    print(f"\n{args.runs} runs each\n")
    print("| step | min s | median s | min CPU s | MB/s of the wheel (min) |\n|---|---|---|---|---|")
    print("\n".join(sdk + rebuilt + stock))


if __name__ == "__main__":
    main()
