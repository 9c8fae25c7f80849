"""Stores several similar files in a local folder, prints what each one cost, then gets them all back
and checks them byte for byte.

    python -m deltaglider.demo FILE [FILE ...] [--store DIR]

Files are uploaded in the order given (the first becomes the reference), so give consecutive releases
oldest first. Without ``--store`` a temporary folder is used and removed afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from deltaglider.client import DeltaGliderClient, UploadSummary
from deltaglider.factory import create_client


def _mb(size: int) -> str:
    return f"{size / 1_000_000:9.2f} MB"


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _how(summary: UploadSummary) -> str:
    if summary.is_delta:
        return "delta"
    if summary.key.endswith("reference.bin"):
        return "reference"
    return "whole"


def run(files: Sequence[Path], store: Path, client: DeltaGliderClient, out: TextIO | None = None) -> int:
    stream = out or sys.stdout

    def say(text: str) -> None:
        print(text, file=stream)

    say(f"storing {len(files)} file(s) in {store}/")
    say(f"{'file':<44} {'size':>12} {'stored':>12} {'saved':>7}  how")
    total_in = total_stored = 0
    for path in files:
        started = time.monotonic()
        summary = client.upload(path, f"{store}/")
        took = time.monotonic() - started
        total_in += summary.original_size
        total_stored += summary.stored_size
        say(
            f"{path.name[:44]:<44} {_mb(summary.original_size)} {_mb(summary.stored_size)} "
            f"{max(summary.savings_percent, 0.0):6.1f}%  {_how(summary)} ({took:.2f}s)"
        )
        if not summary.is_delta and not summary.key.endswith("reference.bin"):
            say(f"{'':<44} ({summary.reason})")
    saved = 100.0 * (1 - total_stored / total_in) if total_in else 0.0
    say(f"{'total':<44} {_mb(total_in)} {_mb(total_stored)} {saved:6.1f}%")

    failures = 0
    with tempfile.TemporaryDirectory(prefix="deltaglider-demo-out-") as outdir:
        for path in files:
            restored = Path(outdir) / path.name
            client.download(f"{store}/{path.name}", restored)
            ok = _sha256(restored) == _sha256(path)
            failures += not ok
            say(f"{'verified' if ok else 'MISMATCH'}  {path.name}")
    say(
        "all files came back byte for byte"
        if not failures
        else f"{failures} file(s) did not come back intact"
    )
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deltaglider.demo", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="similar files, oldest first")
    parser.add_argument("--store", type=Path, help="folder to store into (default: a temporary one)")
    args = parser.parse_args(argv)
    files: list[Path] = args.files
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        parser.error(f"not a file: {', '.join(missing)}")
    names = [p.name for p in files]
    if len(set(names)) != len(names):
        parser.error("the files must have distinct names")
    client = create_client()
    if args.store is not None:
        return run(files, args.store.absolute(), client)
    store = Path(tempfile.mkdtemp(prefix="deltaglider-demo-store-"))
    try:
        return run(files, store, client)
    finally:
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
