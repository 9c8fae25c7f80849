#!/usr/bin/env python3
"""Nightly backups with retention: one tar of a folder a night, old nights deleted.

Run from cron once a night::

    python examples/nightly_backup.py s3://backups/db/ --source /var/lib/app/export --keep-days 14

The folder is packed into ``backup-<date>.tar``: consecutive tars of a slowly changing folder are
stored as small deltas. A ``.tar.gz`` would be stored as a delta of its decoded tar too (when a known
zlib setting reproduces it byte for byte), but every download would pay its recompression: a plain
tar is the cheaper form here. Then every backup older than ``--keep-days`` (by the date in its name) is
deleted.

Deleting an old night removes its own object only: the folder's ``reference.bin`` (the first night's
bytes, which every later delta is rebuilt from) stays as long as the folder is in use, so expect the
stored total to be one full backup plus the deltas.

Without ``--source`` it simulates ten nights of a changing folder (``--date`` moves one day each
night), into a temporary folder store unless a STORE is given.
"""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _sample import releases, store_argument

from deltaglider import DeltaGliderClient, create_client

NAME = re.compile(r"^backup-(\d{4}-\d{2}-\d{2})\.tar$")


def make_tar(source: Path, dest: Path) -> None:
    with tarfile.open(dest, "w") as tar:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                info = tar.gettarinfo(path, arcname=str(path.relative_to(source)))
                # A fixed mtime keeps unchanged members byte-identical from one night to the next.
                info.mtime = 0
                with path.open("rb") as f:
                    tar.addfile(info, f)


def back_up(client: DeltaGliderClient, source: Path, folder: str, night: date) -> None:
    with tempfile.TemporaryDirectory(prefix="dg-backup-") as work:
        archive = Path(work) / f"backup-{night.isoformat()}.tar"
        make_tar(source, archive)
        summary = client.upload(archive, folder)
    print(
        f"{archive.name}: {summary.original_size} bytes, stored {summary.stored_size} ({summary.operation})"
    )


def apply_retention(client: DeltaGliderClient, folder: str, today: date, keep_days: int) -> list[str]:
    """Deletes the backups dated more than ``keep_days`` before ``today``; returns their names."""
    cutoff = today - timedelta(days=keep_days)
    # The listing is read in full first: deleting while iterating a listing may skip entries.
    old = [
        entry
        for entry in client.list(folder)
        if (m := NAME.match(entry.name)) and date.fromisoformat(m.group(1)) < cutoff
    ]
    for entry in old:
        client.delete(entry.url)
        print(f"deleted {entry.name} (older than {keep_days} days)")
    return [entry.name for entry in old]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Nightly tar backups with retention.")
    parser.add_argument("store", nargs="?", help="folder for the backups (default: a temporary folder)")
    parser.add_argument("--source", type=Path, help="folder to back up (default: simulate ten nights)")
    parser.add_argument("--keep-days", type=int, default=7, help="delete backups older than this")
    parser.add_argument("--date", type=date.fromisoformat, help="tonight's date (default: today, UTC)")
    args = parser.parse_args(argv)
    folder = store_argument(args.store)
    client = create_client()
    today = args.date or datetime.now(UTC).date()
    if args.source is not None:
        back_up(client, args.source, folder, today)
        apply_retention(client, folder, today, args.keep_days)
        return 0
    with tempfile.TemporaryDirectory(prefix="dg-example-") as work:
        data = Path(work) / "data"
        tables = releases(data, "table-{version}.db", ["a", "b", "c"])
        for night in range(10):
            # The folder changes a little every night: a few records appended to one table.
            with tables[night % 3].open("ab") as table:
                table.write(f"night {night}: {night * 7919}\n".encode() * 20)
            tonight = today - timedelta(days=9 - night)
            back_up(client, data, folder, tonight)
            apply_retention(client, folder, tonight, args.keep_days)
    kept = [entry.name for entry in client.list(folder)]
    stats = client.stats(folder)
    print(f"kept {len(kept)} backups: {', '.join(kept)}")
    print(f"stored {stats.stored_bytes} bytes for {stats.original_bytes} ({stats.reference_bytes} reference)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
