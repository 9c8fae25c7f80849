#!/usr/bin/env python3
"""Release downloads with verification: fetch the newest release and check it two ways.

    python examples/release_download.py s3://releases/myapp/ --dest ./downloads

It lists the folder, picks the newest ``myapp-<version>.zip`` by version number (not by name:
``1.10`` is newer than ``1.9``), and downloads it. ``download`` itself rebuilds the file and checks
it against the SHA-256 recorded when it was stored: the file appears only if it matched, and the
returned summary carries that hash. The script then checks it once more against the ``SHA256SUMS``
file the release process published beside the releases (a plain text file, stored whole), which
catches a release that was replaced in the store by a different, consistently recorded one.

When the folder holds no release yet (a new temporary folder store by default), three sample
releases and their ``SHA256SUMS`` are published first.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tempfile
from pathlib import Path

from _sample import releases, store_argument

from deltaglider import DeltaGliderClient, create_client

RELEASE = re.compile(r"^myapp-(\d+(?:\.\d+)*)\.zip$")


def publish_samples(client: DeltaGliderClient, folder: str) -> None:
    with tempfile.TemporaryDirectory(prefix="dg-example-") as work:
        files = releases(Path(work), "myapp-{version}.zip", ["1.8", "1.9", "1.10"])
        sums = Path(work) / "SHA256SUMS"
        sums.write_text("".join(f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.name}\n" for f in files))
        for path in [*files, sums]:
            client.upload(path, folder)


def newest_release(client: DeltaGliderClient, folder: str) -> str | None:
    versions = {}
    for entry in client.list(folder):
        match = RELEASE.match(entry.name)
        if match:
            versions[tuple(int(part) for part in match.group(1).split("."))] = entry.name
    return versions[max(versions)] if versions else None


def published_sums(client: DeltaGliderClient, folder: str, work: Path) -> dict[str, str]:
    client.download(folder + "SHA256SUMS", work / "SHA256SUMS")
    pairs = (line.split() for line in (work / "SHA256SUMS").read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Download and verify the newest release.")
    parser.add_argument("store", nargs="?", help="folder holding the releases (default: samples)")
    parser.add_argument("--dest", type=Path, help="where to put the release (default: a temporary folder)")
    args = parser.parse_args(argv)
    folder = store_argument(args.store)
    dest = args.dest or Path(tempfile.mkdtemp(prefix="dg-example-download-"))
    dest.mkdir(parents=True, exist_ok=True)
    client = create_client()
    if newest_release(client, folder) is None:
        publish_samples(client, folder)
    name = newest_release(client, folder)
    assert name is not None
    summary = client.download(folder + name, dest)
    print(f"downloaded {name} to {summary.path}: {summary.size} bytes, sha256 {summary.hash}")
    how = "rebuilt from a delta" if summary.reconstructed else "stored whole"
    print(f"  {how}; matched its recorded SHA-256")
    with tempfile.TemporaryDirectory(prefix="dg-example-") as work:
        expected = published_sums(client, folder, Path(work)).get(name)
    if expected != summary.hash:
        print(f"  SHA256SUMS says {expected}: NOT the published release", file=sys.stderr)
        Path(summary.path).unlink()
        return 1
    print("  matches SHA256SUMS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
