#!/usr/bin/env python3
"""CI artifact publishing: store every build's artifacts next to the previous builds', as deltas.

Run at the end of a CI job::

    python examples/ci_publish.py s3://artifacts/myapp/ --dist dist/ --build "$GITHUB_RUN_NUMBER"

Each artifact is stored as ``<folder><stem>-<build><suffix>`` (``myapp-1234.zip``). Consecutive builds
of one project share a folder, hence one reference: the first build is stored whole, every later one
as a delta of a few kilobytes. Every upload is verified (rebuilt from the store and its SHA-256
checked) before the job reports success; the exit code is 1 if any artifact failed.

Without ``--dist`` it publishes three generated builds in turn, into a temporary folder store unless
a STORE is given (a folder, ``file://`` URL or ``s3://`` URL).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _sample import releases, store_argument

from deltaglider import DeltaGliderClient, DeltaGliderError, create_client

COMPOUND_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz")


def build_name(name: str, build: str) -> str:
    """``myapp.zip`` -> ``myapp-<build>.zip``: the suffix stays last, so the stored name still says
    what the file is (``.tar.gz`` counts as one suffix)."""
    lowered = name.lower()
    suffix = next((s for s in COMPOUND_SUFFIXES if lowered.endswith(s)), Path(name).suffix)
    return f"{name[: len(name) - len(suffix)]}-{build}{name[len(name) - len(suffix) :]}"


def publish(client: DeltaGliderClient, dist: Path, folder: str, build: str) -> bool:
    ok = True
    for artifact in sorted(p for p in dist.iterdir() if p.is_file()):
        name = build_name(artifact.name, build)
        try:
            summary = client.upload(artifact, folder, name=name)
            verified = client.verify(folder + name)
        except DeltaGliderError as exc:
            print(f"FAILED {artifact}: {exc}", file=sys.stderr)
            ok = False
            continue
        ok &= verified
        print(
            f"{name:<24} {summary.original_size:>9} bytes -> {summary.stored_size:>9} stored "
            f"({summary.operation}, {'verified' if verified else 'VERIFY FAILED'})"
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Publish CI build artifacts as deltas.")
    parser.add_argument("store", nargs="?", help="folder to publish into (default: a temporary folder)")
    parser.add_argument("--dist", type=Path, help="folder of artifacts to publish (default: samples)")
    parser.add_argument("--build", default="1", help="build number or ID, put into each stored name")
    args = parser.parse_args(argv)
    folder = store_argument(args.store)
    client = create_client()
    print(f"publishing into {folder}")
    if args.dist is not None:
        return 0 if publish(client, args.dist, folder, args.build) else 1
    ok = True
    with tempfile.TemporaryDirectory(prefix="dg-example-") as work:
        # Three consecutive builds, each a few edits away from the one before, as CI would make them.
        numbers = ["100", "101", "102"]
        builds = releases(Path(work) / "builds", "myapp-{version}.zip", numbers)
        for build, artifact in zip(numbers, builds, strict=True):
            dist = Path(work) / f"dist-{build}"
            dist.mkdir()
            artifact.rename(dist / "myapp.zip")
            ok &= publish(client, dist, folder, build)
    stats = client.stats(folder)
    print(f"{stats.file_count} builds: {stats.original_bytes} bytes in {stats.stored_bytes} stored")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
