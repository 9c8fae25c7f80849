#!/usr/bin/env python3
"""Mirroring with ``sync``: keep a local folder identical to a store, fetching only what changed.

    python examples/mirror_sync.py s3://releases/myapp/ /srv/mirror/myapp

It runs ``deltaglider sync STORE MIRROR --delete`` (as you would from cron), which downloads each file
the mirror lacks or holds in another version (compared by the SHA-256 recorded in the store) and
removes files the store no longer has. A second run right after transfers nothing. The command line
names a folder store with a ``file://`` URL (a plain path there is your own folder), so a local
STORE is turned into one.

When the store holds nothing yet (a new temporary folder store by default), sample releases are
published first; the mirror defaults to a new temporary folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from _sample import fill_if_empty, store_argument

from deltaglider import create_client


def sync(store_url: str, mirror: Path) -> list[str]:
    """Runs the command line's ``sync`` and returns the transfers and removals it reported."""
    command = [
        sys.executable,
        "-m",
        "deltaglider",
        "--no-progress",
        "sync",
        store_url,
        str(mirror),
        "--delete",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"sync failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.splitlines()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mirror a store into a local folder with sync.")
    parser.add_argument("store", nargs="?", help="folder to mirror (default: samples)")
    parser.add_argument("mirror", nargs="?", type=Path, help="local folder (default: a temporary one)")
    args = parser.parse_args(argv)
    folder = store_argument(args.store)
    mirror = args.mirror or Path(tempfile.mkdtemp(prefix="dg-example-mirror-"))
    fill_if_empty(create_client(), folder, "myapp-{version}.zip", ["2.0", "2.1", "2.2"])
    url = folder if "://" in folder else Path(folder).resolve().as_uri() + "/"

    for line in sync(url, mirror):
        print(f"  {line}")
    again = sync(url, mirror)
    print(f"second run: {len(again)} changes")
    files = sorted(str(p.relative_to(mirror)) for p in mirror.rglob("*") if p.is_file())
    print(f"mirror {mirror} holds {len(files)} files: {', '.join(files)}")
    return 0 if not again else 1


if __name__ == "__main__":
    sys.exit(main())
