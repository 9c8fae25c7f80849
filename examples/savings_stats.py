#!/usr/bin/env python3
"""Measuring savings with ``stats``: what each folder of a store holds and what it costs.

    python examples/savings_stats.py s3://releases/

One line per sub-folder (each its own DeltaSpace: one reference and its deltas), then the total:
files, how many are deltas, their original size, what is stored (references included) and the
share saved. ``stats`` reads sizes from the listing and the metadata; it downloads nothing.

Read the numbers as a store's lifetime: the first file of a folder costs its full size (it becomes
the reference; its zero-diff delta adds a few bytes, so a folder holding one file shows a saving of
slightly *below* zero), and every later similar file costs a delta. A small file (under 1 MiB) that
is no archive does not start a folder's reference and is stored whole, as is bzip2 or compress
content; zip, gzip, xz and ar files are stored as deltas of their decoded content when that pays.

When the store holds nothing yet (a new temporary folder store by default), two sample folders are
published first: similar releases, and unrelated whole files.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _sample import fill_if_empty, store_argument

from deltaglider import StatsSummary, create_client


def row(name: str, stats: StatsSummary) -> str:
    return (
        f"{name:<16} {stats.file_count:>6} {stats.delta_count:>7} {stats.original_bytes:>12} "
        f"{stats.stored_bytes:>12} {stats.savings_percent:>7.1f}%"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-folder savings of a store.")
    parser.add_argument("store", nargs="?", help="store or folder to measure (default: samples)")
    args = parser.parse_args(argv)
    folder = store_argument(args.store)
    client = create_client()
    if args.store is None or not any(True for _ in client.list(folder, recursive=True)):
        fill_if_empty(client, folder + "app/", "app-{version}.tar", ["1.0", "1.1", "1.2", "1.3"])
        with tempfile.TemporaryDirectory(prefix="dg-example-") as work:
            for n in range(3):
                path = Path(work) / f"notes-{n}.txt"
                path.write_bytes(os.urandom(20_000))
                client.upload(path, folder + "docs/")

    print(f"{'folder':<16} {'files':>6} {'deltas':>7} {'original':>12} {'stored':>12} {'saved':>8}")
    for entry in client.list(folder):
        if entry.is_prefix:
            print(row(entry.name, client.stats(entry.url)))
    print(row("total", client.stats(folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
