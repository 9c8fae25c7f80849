#!/usr/bin/env python3
"""Multi-threaded batch upload: many files at once, one client shared by every thread.

    python examples/batch_upload.py s3://artifacts/nightly/ dist/*.zip --workers 8

A ``DeltaGliderClient`` is safe to share between threads, and the codec releases the GIL while it
encodes, so uploads run in parallel on several cores. Files uploaded at the same time into a folder
that has no reference yet race to create it; the store's conditional create lets exactly one win
(stored whole, as the reference) and the others are stored as deltas against the winner's file.

One failed file does not stop the others: each failure is reported and the exit code is 1.

Without files it uploads twelve generated releases, into a temporary folder store unless a STORE is
given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from _sample import releases, store_argument

from deltaglider import DeltaGliderError, UploadSummary, create_client


def upload_all(folder: str, files: list[Path], workers: int) -> int:
    client = create_client()  # one client for all threads: it shares the reference cache
    failures = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(client.upload, path, folder): path for path in files}
        for future in as_completed(futures):
            path = futures[future]
            try:
                summary: UploadSummary = future.result()
            except (DeltaGliderError, OSError) as exc:
                failures += 1
                print(f"FAILED  {path.name}: {exc}", file=sys.stderr)
                continue
            print(f"{summary.operation:<9} {path.name:<20} {summary.stored_size:>8} bytes stored")
    stats = client.stats(folder)
    print(
        f"{stats.file_count} files, {stats.delta_count} as deltas: "
        f"{stats.original_bytes} bytes in {stats.stored_bytes} ({stats.savings_percent:.1f}% saved)"
    )
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Upload many files on a thread pool.")
    parser.add_argument("store", nargs="?", help="folder to upload into (default: a temporary folder)")
    parser.add_argument("files", nargs="*", type=Path, help="files to upload (default: samples)")
    parser.add_argument("--workers", type=int, default=4, help="uploads at once")
    args = parser.parse_args(argv)
    folder = store_argument(args.store)
    if args.files:
        return upload_all(folder, args.files, args.workers)
    with tempfile.TemporaryDirectory(prefix="dg-example-") as work:
        files = releases(Path(work), "nightly-{version}.zip", [f"{n:02d}" for n in range(12)], size=100_000)
        return upload_all(folder, files, args.workers)


if __name__ == "__main__":
    sys.exit(main())
