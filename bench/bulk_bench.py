"""Files per second of a bucket's migration against the number of workers: the caller's threads
(``--workers``) against Dask worker processes (a ``LocalCluster``, one thread each) and a
``ProcessPoolExecutor``.

python bench/bulk_bench.py [--spaces 24] [--files 4] [--size 200000] [--runs 2] [--counts 1 2 4]
                           [--store file|s3] [--json PATH]

The bucket: ``--spaces`` folders of ``--files`` zip releases each (``tests/support/artifacts``),
stored as plain objects, as a bucket is before its migration. ``--store file`` keeps both buckets in
a folder store (the run is bound by the encodes); ``--store s3`` on moto's server on 127.0.0.1 (bound
by the server, one process). Each configuration migrates into a fresh bucket ``--runs`` times; the
table gives the best and the median files/s (after one untimed run that starts the workers), and
for Dask the largest peak RSS of a worker.
Needs the ``dask`` extra.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from support.artifacts import release_zips  # noqa: E402
from support.moto_server import fake_aws_env, run_moto_server  # noqa: E402

from deltaglider import create_client  # noqa: E402
from deltaglider.client import DeltaGliderClient  # noqa: E402


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_releases(root: Path, spaces: int, files: int, size: int) -> list[Path]:
    paths = []
    for space in range(spaces):
        folder = root / f"space{space:03d}"
        folder.mkdir(parents=True)
        paths += release_zips(folder, f"tool{space:03d}", files, size=size, seed=space)
    return paths


class Store:
    """Where the buckets live: a folder store, or moto's S3 server."""

    def __init__(self, kind: str, work: Path, stack: ExitStack) -> None:
        self.kind = kind
        self.work = work
        self.count = 0
        if kind == "s3":
            import boto3

            server = stack.enter_context(run_moto_server(work / "moto.log"))
            self.endpoint: str | None = server.url
            self.s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=server.url)

    def client(self) -> DeltaGliderClient:
        return create_client(endpoint_url=self.endpoint if self.kind == "s3" else None,
                             cache_dir=str(self.work / "cache"), log_level="ERROR")  # fmt: skip

    def bucket(self) -> str:
        """A new empty bucket's URL."""
        self.count += 1
        name = f"bench{self.count:03d}"
        if self.kind == "s3":
            self.s3.create_bucket(Bucket=name)
            return f"s3://{name}/"
        (self.work / "store" / name).mkdir(parents=True)
        return f"file://{self.work}/store/{name}/"

    def fill(self, url: str, paths: list[Path], root: Path) -> None:
        for path in paths:
            key = path.relative_to(root).as_posix()
            if self.kind == "s3":
                self.s3.put_object(Bucket=url[5:-1], Key=key, Body=path.read_bytes())
            else:
                target = Path(url[len("file://") :]) / key
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())


@contextmanager
def dask_executor(processes: int, peaks: list[float]) -> Iterator[Executor]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=processes, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR)  # fmt: skip
    with cluster, Client(cluster) as client:
        client.wait_for_workers(processes)
        yield client.get_executor(pure=False)
        peaks.append(max(client.run(peak_rss_mib).values()))


@contextmanager
def process_pool(processes: int, _peaks: list[float]) -> Iterator[Executor]:
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@contextmanager
def no_executor(_count: int, _peaks: list[float]) -> Iterator[None]:
    yield None


def measure(
    store: Store, source: str, files: int, *, executor: Executor | None, workers: int, runs: int
) -> list[float]:
    client = store.client()
    rates = []
    # One untimed run first: worker processes start, import and build their client once, which a
    # bucket of many thousand files pays once.
    for run in range(runs + 1):
        target = store.bucket()
        started = time.perf_counter()
        result = client.migrate(source, target, preserve_prefix=False, workers=workers, executor=executor)
        elapsed = time.perf_counter() - started
        if not result.ok or len(result.ended) != files:
            raise SystemExit(f"migration failed: {result.failed}")
        if run:
            rates.append(files / elapsed)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spaces", type=int, default=24)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--size", type=int, default=200_000, help="bytes of each release's binary member")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--store", choices=["file", "s3"], default="file")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ.update(fake_aws_env())
    # Worker processes import this tree's deltaglider.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dg-bulk-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        paths = make_releases(work / "releases", args.spaces, args.files, args.size)
        store = Store(args.store, work, stack)
        source = store.bucket()
        store.fill(source, paths, work / "releases")
        files = len(paths)
        kinds: list[tuple[str, Callable[[int, list[float]], Any]]] = [
            ("threads (--workers)", no_executor),
            ("Dask LocalCluster processes", dask_executor),
            ("ProcessPoolExecutor", process_pool),
        ]
        for label, opened in kinds:
            for count in args.counts:
                peaks: list[float] = []
                with opened(count, peaks) as executor:
                    workers = count if executor is None else 1
                    rates = measure(store, source, files, executor=executor, workers=workers, runs=args.runs)
                row = {"executor": label, "workers": count, "best": max(rates),
                       "median": statistics.median(rates), "runs": len(rates),
                       "worker_peak_rss_mib": peaks[0] if peaks else None}  # fmt: skip
                rows.append(row)
                rss = f"{row['worker_peak_rss_mib']:.0f}" if peaks else "-"
                print(f"{label:30} {count:2}  {row['best']:7.1f} {row['median']:7.1f} files/s  rss {rss} MiB",
                      flush=True)  # fmt: skip
    meta = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "store": args.store, "files": files, "spaces": args.spaces, "size": args.size}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
