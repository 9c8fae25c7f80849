"""The codec table: each secondary setting and level of :func:`deltaglider.codec.encode_file` on each
pair of real consecutive releases, time and delta size, next to the stock ``xdelta3`` binary.

Why it exists: the default secondary compression is chosen per delta section (``"auto"``), and the
only way to see whether that choice spends time where it buys bytes is to put it beside every fixed
setting and beside the binary, on the same pairs, in one run.

Pairs (fetched with pip's own client into ``bench/data/codec/``, never committed):

* ``numpy-whl``: numpy 2.1.0 -> 2.1.1, CPython 3.11 manylinux wheels (members deflated);
* ``botocore-whl``: botocore 1.35.0 -> 1.35.1 wheels (members deflated);
* ``pydantic-so``: the compiled extension of pydantic_core 2.27.1 -> 2.27.2 (an uncompressed binary);
* ``numpy-so``: numpy's ``_multiarray_umath`` module from the two numpy wheels (a binary whose
  content stayed in place: what a window sized only by how far content moved gets wrong);
* ``botocore-tar`` (``--tar``): the two botocore sdists as uncompressed tars, from bench/fetch_data.py.

Times are CPU seconds (user + system) of the encode or decode alone: ours from the calling thread's
clock around the native call (it runs on that thread), the binary's from its rusage. CPU time is
steadier than wall time on a machine shared with other jobs; wall time is shown too. Each figure is
the minimum of ``--runs`` runs.

Usage: ``python bench/codec_table.py [--runs N] [--pairs a,b] [--tar]``; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deltaglider import codec

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "codec"
XDELTA3 = shutil.which("xdelta3") or "/usr/bin/xdelta3"
WHEEL_FLAGS = ["--only-binary=:all:", "--platform", "manylinux2014_x86_64", "--python-version", "3.11"]

SETTINGS: list[tuple[str, codec.Secondary, int]] = [
    ("auto", "auto", 9),
    ("lzma", "lzma", 9),
    ("djw", "djw", 9),
    ("none", None, 9),
    ("auto", "auto", 6),
    ("lzma", "lzma", 6),
    ("none", None, 6),
    ("auto", "auto", 3),
]
STOCK_LEVELS = [9, 6]


def _download(requirement: str) -> Path:
    """The wheel of ``requirement`` in DATA, fetched by pip when it is not there yet."""
    name, _, version = requirement.partition("==")
    stem = f"{name.replace('-', '_')}-{version}-"
    found = [p for p in DATA.glob("*.whl") if p.name.lower().startswith(stem.lower())]
    if not found:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(DATA)]
        subprocess.run([*pip, *WHEEL_FLAGS, requirement], check=True)
        found = [p for p in DATA.glob("*.whl") if p.name.lower().startswith(stem.lower())]
    if len(found) != 1:
        raise SystemExit(f"expected one wheel for {requirement} in {DATA}, found {found}")
    return found[0]


def _member_so(wheel: Path, out: Path, name: str = "") -> Path:
    """The largest ``.so`` of the wheel whose name contains ``name``, written to ``out``."""
    if not out.exists():
        with zipfile.ZipFile(wheel) as zf:
            found = [i for i in zf.infolist() if i.filename.endswith(".so") and name in i.filename]
            out.write_bytes(zf.read(max(found, key=lambda i: i.file_size)))
    return out


def pairs(with_tar: bool) -> dict[str, tuple[Path, Path]]:
    DATA.mkdir(parents=True, exist_ok=True)
    found = {
        "numpy-whl": (_download("numpy==2.1.0"), _download("numpy==2.1.1")),
        "botocore-whl": (_download("botocore==1.35.0"), _download("botocore==1.35.1")),
        "pydantic-so": (
            _member_so(_download("pydantic_core==2.27.1"), DATA / "pydantic_core-2.27.1.so"),
            _member_so(_download("pydantic_core==2.27.2"), DATA / "pydantic_core-2.27.2.so"),
        ),
        "numpy-so": (
            _member_so(_download("numpy==2.1.0"), DATA / "numpy-2.1.0-umath.so", "_multiarray_umath"),
            _member_so(_download("numpy==2.1.1"), DATA / "numpy-2.1.1-umath.so", "_multiarray_umath"),
        ),
    }
    if with_tar:
        tars = HERE / "data" / "botocore-1.35.0.tar", HERE / "data" / "botocore-1.35.1.tar"
        if not all(t.exists() for t in tars):
            raise SystemExit("--tar needs bench/fetch_data.py's botocore tars in bench/data/")
        found["botocore-tar"] = tars
    return found


@dataclass
class Timing:
    cpu: float
    wall: float


def _best(runs: int, once: Callable[[], Timing]) -> Timing:
    got = [once() for _ in range(runs)]
    return Timing(min(t.cpu for t in got), min(t.wall for t in got))


def _ours(call: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.thread_time()
    call()
    return Timing(time.thread_time() - cpu, time.perf_counter() - wall)


def _stock(args: list[str]) -> Timing:
    wall = time.perf_counter()
    proc = subprocess.Popen([XDELTA3, *args])
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - wall
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"xdelta3 {' '.join(args)} exited {proc.returncode}")
    return Timing(usage.ru_utime + usage.ru_stime, took)


def table(name: str, src: Path, tgt: Path, runs: int, work: Path) -> list[str]:
    delta, out = work / "delta", work / "out"
    for path in (src, tgt):
        path.read_bytes()  # the page cache warm for both
    stock: dict[int, tuple[Timing, int, Timing]] = {}
    for level in STOCK_LEVELS:
        enc = _best(
            runs, lambda lv=level: _stock([f"-{lv}", "-e", "-f", "-s", str(src), str(tgt), str(delta)])
        )
        size = delta.stat().st_size
        dec = _best(runs, lambda: _stock(["-d", "-f", "-s", str(src), str(delta), str(out)]))
        stock[level] = (enc, size, dec)
    base_enc, base_size, base_dec = stock[9]
    rows = [
        f"### {name}: {src.name} -> {tgt.name} ({tgt.stat().st_size / 1e6:.1f} MB)",
        "",
        "| encoder | level | secondary | encode CPU s | wall s | vs stock -9 | delta bytes | vs stock -9 "
        "| decode CPU s | vs stock |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def row(who: str, level: int, label: str, *, enc: Timing, size: int, dec: Timing) -> str:
        return (
            f"| {who} | -{level} | {label} | {enc.cpu:.3f} | {enc.wall:.3f} | {enc.cpu / base_enc.cpu:.2f} "
            f"| {size:,} | {size / base_size:.4f} | {dec.cpu:.3f} | {dec.cpu / base_dec.cpu:.2f} |"
        )

    for level, (enc, size, dec) in stock.items():
        rows.append(row("stock xdelta3", level, "lzma", enc=enc, size=size, dec=dec))
    for label, secondary, level in SETTINGS:
        enc = _best(
            runs,
            lambda s=secondary, lv=level: _ours(
                lambda: codec.encode_file(src, tgt, delta, level=lv, secondary=s)
            ),
        )
        size = delta.stat().st_size
        dec = _best(runs, lambda: _ours(lambda: codec.decode_file(src, delta, out)))
        if out.read_bytes() != tgt.read_bytes():
            raise SystemExit(f"{name}: {label} -{level} did not round-trip")
        check = subprocess.run([XDELTA3, "-d", "-c", "-s", str(src), str(delta)], capture_output=True)
        if check.returncode != 0 or check.stdout != tgt.read_bytes():
            raise SystemExit(f"{name}: stock xdelta3 -d cannot decode our {label} -{level} delta")
        rows.append(row("ours", level, label, enc=enc, size=size, dec=dec))
    return [*rows, ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pairs", default="", help="comma-separated pair names (default: all)")
    ap.add_argument("--tar", action="store_true", help="also the 115 MB botocore tars (slow)")
    args = ap.parse_args()
    found = pairs(args.tar)
    chosen = [p for p in args.pairs.split(",") if p] or list(found)
    version = subprocess.run([XDELTA3, "-V"], capture_output=True, text=True)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; ")
    print(f"stock: {(version.stdout + version.stderr).splitlines()[0]}; runs: {args.runs} (minimum shown)\n")
    with tempfile.TemporaryDirectory(prefix="codec-table-") as tmp:
        for name in chosen:
            src, tgt = found[name]
            print("\n".join(table(name, src, tgt, args.runs, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
