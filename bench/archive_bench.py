"""Archive transforms on consecutive real releases: stored delta with and without the transform.

For each pair (older release = reference, newer = target), from PyPI with pip's own client into
``bench/data/archive/`` (git-ignored):

* plain: ``codec.encode_file(reference, target)``, the delta of the raw bytes;
* transformed: both files through :func:`deltaglider.transforms.encode_container`, the delta of the
  decoded streams plus the recipe (the stored body); a target the transform declines counts as plain;
* proven: the target rebuilt from (decoded reference, delta, recipe) and compared by SHA-256;
* the share of deflate streams (zip members, gzip members) that reproduced, and seconds per MB of
  target for the transform's encode and for the rebuild (decode + recompress).

Usage: ``python bench/archive_bench.py [--pairs NAME ...]``; files already present are kept.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from deltaglider import codec
from deltaglider.transforms import encode_container, rebuild

DATA = Path(__file__).resolve().parent / "data" / "archive"
WHEEL = ("--only-binary", ":all:", "--platform", "manylinux2014_x86_64", "--python-version", "3.11")
SDIST = ("--no-binary", ":all:")


@dataclass(frozen=True)
class Pair:
    label: str
    project: str
    versions: tuple[str, str]
    options: tuple[str, ...]
    suffix: str


PAIRS = [
    Pair("click sdist", "click", ("8.1.6", "8.1.7"), SDIST, ".tar.gz"),
    Pair("attrs sdist", "attrs", ("23.1.0", "23.2.0"), SDIST, ".tar.gz"),
    Pair("requests sdist", "requests", ("2.32.2", "2.32.3"), SDIST, ".tar.gz"),
    Pair("botocore sdist", "botocore", ("1.35.0", "1.35.1"), SDIST, ".tar.gz"),
    Pair("click wheel", "click", ("8.1.6", "8.1.7"), WHEEL, ".whl"),
    Pair("botocore wheel", "botocore", ("1.35.0", "1.35.1"), WHEEL, ".whl"),
    Pair("numpy wheel", "numpy", ("2.1.0", "2.1.1"), WHEEL, ".whl"),
]


def fetch(project: str, version: str, options: tuple[str, ...], suffix: str) -> Path:
    dest = DATA / f"{project}-{version}{suffix.replace('.', '-')}"
    dest.mkdir(parents=True, exist_ok=True)
    found = [p for p in dest.iterdir() if p.name.endswith(suffix)]
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(dest),
                *options,
                f"{project}=={version}",
            ],
            check=True,
        )
        found = [p for p in dest.iterdir() if p.name.endswith(suffix)]
    return found[0]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def measure(pair: Pair) -> dict[str, object]:
    ref, tgt = (fetch(pair.project, v, pair.options, pair.suffix) for v in pair.versions)
    size = tgt.stat().st_size
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        work = Path(tmp)
        plain = codec.encode_file(ref, tgt, work / "plain.delta")
        start = time.perf_counter()
        ref_enc = encode_container(ref, work / "ref.decoded")
        tgt_enc = encode_container(tgt, work / "tgt.decoded")
        encode_s = time.perf_counter() - start
        row: dict[str, object] = {"pair": pair.label, "size": size, "plain": plain, "transformed": plain}
        if ref_enc is None or tgt_enc is None:
            row.update(proven="declined", streams="-", encode_s=encode_s, rebuild_s=0.0)
            return row
        delta = codec.encode_file(work / "ref.decoded", work / "tgt.decoded", work / "t.delta")
        start = time.perf_counter()
        codec.decode_file(work / "ref.decoded", work / "t.delta", work / "tgt.again")
        rebuild(work / "tgt.again", tgt_enc.recipe, work / "tgt.rebuilt")
        rebuild_s = time.perf_counter() - start
        streams = tgt_enc.streams_decoded + tgt_enc.streams_raw
        row.update(
            transformed=delta + len(tgt_enc.recipe),
            recipe=len(tgt_enc.recipe),
            proven=sha256(work / "tgt.rebuilt") == sha256(tgt),
            streams=f"{tgt_enc.streams_decoded}/{streams}",
            encode_s=encode_s,
            rebuild_s=rebuild_s,
            tries=tgt_enc.tries,
        )
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="*", help="labels' first words to run (default: all)")
    args = parser.parse_args()
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        "| pair | target MB | plain delta | transformed (delta + recipe) | ratio | rebuilt exact "
        "| streams reproduced | encode s/MB (both files) | rebuild s/MB |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    for pair in PAIRS:
        if args.pairs and pair.label.split()[0] not in args.pairs and pair.label not in args.pairs:
            continue
        r = measure(pair)
        mb = int(r["size"]) / 1e6  # type: ignore[call-overload]
        plain, transformed = int(r["plain"]), int(r["transformed"])  # type: ignore[call-overload]
        print(
            f"| {r['pair']} | {mb:.2f} | {plain:,} ({plain / mb / 1e4:.1f}%) | "
            f"{transformed:,} ({transformed / mb / 1e4:.2f}%) | {plain / max(transformed, 1):.1f}x | "
            f"{r['proven']} | {r['streams']} | {float(r['encode_s']) / mb:.3f} | "  # type: ignore[arg-type]
            f"{float(r['rebuild_s']) / mb:.3f} |",  # type: ignore[arg-type]
            flush=True,
        )


if __name__ == "__main__":
    main()
