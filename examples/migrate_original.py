#!/usr/bin/env python3
"""Migrating a bucket of the original DeltaGlider: check every file in it, then copy it over.

    python examples/migrate_original.py s3://old-bucket/releases/ s3://new-bucket/releases/
    python examples/migrate_original.py s3://old-bucket/releases/ --check-only

This package reads what the original DeltaGlider wrote (every version's metadata spelling, its
``reference.bin`` and ``.delta`` layout), so a bucket can also simply be kept and used in place.
Moving it is a chance to check it: each file is rebuilt and its SHA-256 compared with the one the
original recorded (``verify``), then downloaded and uploaded into the new folder, where it is
verified again. Sub-folders keep their place (each is its own DeltaSpace, with its own reference).

Objects that carry no SHA-256 (the original's ``--no-delta`` uploads, files put by other tools) cannot
be checked: they are copied and reported as unverifiable. A file that fails its check is reported,
not copied, and makes the exit code 1.

Without a SOURCE it migrates sample releases from a temporary folder store; without a DESTINATION it
copies into a new temporary folder store.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _sample import fill_if_empty, store_argument

from deltaglider import DeltaGliderClient, DeltaGliderError, NotVerifiableError, create_client


def migrate(client: DeltaGliderClient, source: str, dest: str | None) -> int:
    failed = 0
    with tempfile.TemporaryDirectory(prefix="dg-migrate-") as work:
        for entry in client.list(source, recursive=True):
            try:
                checked = client.verify(entry.url)
            except NotVerifiableError:
                checked = None
            except DeltaGliderError as exc:
                print(f"BROKEN       {entry.name}: {exc}")
                failed += 1
                continue
            if checked is False:
                print(f"CORRUPT      {entry.name}: does not rebuild to its recorded SHA-256")
                failed += 1
                continue
            status = "verified" if checked else "unverifiable"
            if dest is None:
                print(f"{status:<12} {entry.name}")
                continue
            local = Path(work) / "file"
            client.download(entry.url, local)
            # The URL names the folder; the file keeps the name it had (a sub-folder's included).
            folder, _, name = (dest + entry.name).rpartition("/")
            summary = client.upload(local, folder, name=name)
            local.unlink()
            again = client.verify(dest + entry.name)
            outcome = "verified" if again else "VERIFY FAILED"
            print(f"{status:<12} {entry.name} -> {summary.operation} ({outcome})")
            failed += not again
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check and copy a bucket of the original DeltaGlider.")
    parser.add_argument("source", nargs="?", help="the original's folder (default: samples)")
    parser.add_argument("dest", nargs="?", help="where to copy to (default: a temporary folder)")
    parser.add_argument("--check-only", action="store_true", help="only verify the source")
    args = parser.parse_args(argv)
    client = create_client()
    source = store_argument(args.source)
    if args.source is None:
        fill_if_empty(client, source, "app-{version}.zip", ["1.0", "1.1", "1.2"])
    dest = None if args.check_only else store_argument(args.dest)
    print(f"migrating {source} -> {dest or '(check only)'}")
    return migrate(client, source, dest)


if __name__ == "__main__":
    sys.exit(main())
