"""Can the windows of one delta be encoded on several cores? A measurement, not a feature.

Why it exists: VCDIFF windows name their source segment explicitly, so the target can be cut in two,
each half encoded against the whole source by its own xdelta3 stream on its own thread, and the
second delta's windows appended to the first's (its file header dropped). This script does exactly
that on a pair of 64 MB or more, for each secondary setting, and reports whether stock
``xdelta3 -d`` decodes the result, its size next to the one-stream delta, and the wall time of the
two threads next to one stream.

What it shows: xdelta3 runs one LZMA stream per section across all windows of a delta (a window's
compressed section continues the previous one's), so a second stream's LZMA sections cannot follow
the first's. Only windows without LZMA sections (secondary none or DJW, or the second half with
every section left raw) can be appended. Each stream also indexes the whole source for itself:
twice the source-table memory, or a coarser table under the same budget.

Pair: the concatenation of several real release files (numpy and botocore wheels, numpy's and
pydantic_core's compiled modules, numpy's bundled OpenBLAS) at one version and the next, from the
codec table's data (``bench/codec_table.py`` fetches it).

Usage: ``python bench/codec_windows.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from codec_table import DATA, pairs

from deltaglider._native import load

XDELTA3 = shutil.which("xdelta3") or "/usr/bin/xdelta3"
WINDOW = 8 << 20


def _members(wheel: Path, names: tuple[str, ...]) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        infos = [i for i in zf.infolist() if any(n in i.filename for n in names)]
        return b"".join(zf.read(i) for i in sorted(infos, key=lambda i: i.filename))


def big_pair() -> tuple[bytes, bytes]:
    found = pairs(with_tar=False)
    old, new = [], []
    for name in ("numpy-whl", "botocore-whl", "pydantic-so"):
        a, b = found[name]
        old.append(a.read_bytes())
        new.append(b.read_bytes())
    wheels = sorted(DATA.glob("numpy-*.whl"))
    wanted = ("_multiarray_umath.cpython", "libscipy_openblas")
    old.append(_members(wheels[0], wanted))
    new.append(_members(wheels[1], wanted))
    return b"".join(old), b"".join(new)


def _encode(source: bytes, target: bytes, secondary: int, sec_skip: int) -> bytes:
    ffi, lib = load()
    params = ffi.new("dg_encode_params *")
    params.level = 9
    params.secondary = secondary
    params.sec_skip = sec_skip
    plan = ffi.new("dg_encode_plan *")
    status = ffi.new("dg_status *")
    src, tgt = ffi.from_buffer(source), ffi.from_buffer(target)
    if lib.dg_plan_memory(src, len(source), tgt, len(target), params, plan, status) != lib.DG_OK:
        raise SystemExit(ffi.string(status.msg).decode())
    out = ffi.new("dg_buffer *")
    if lib.dg_encode_memory(src, len(source), tgt, len(target), plan, out, status) != lib.DG_OK:
        raise SystemExit(ffi.string(status.msg).decode())
    try:
        return bytes(ffi.buffer(out.data, out.len))
    finally:
        lib.dg_buffer_free(out)


def _half(into: list[Any], i: int, job: tuple[bytes, bytes, int, int]) -> None:
    into[i] = _encode(*job)


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[at]
        at += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at


def _header_len(delta: bytes) -> int:
    indicator, at = delta[4], 5
    if indicator & 1:
        at += 1
    for flag in (2, 4):
        if indicator & flag:
            length, at = _varint(delta, at)
            at += length
    return at


def _stock_decodes(source: Path, delta: bytes, target: bytes, work: Path) -> bool:
    (work / "d").write_bytes(delta)
    done = subprocess.run([XDELTA3, "-d", "-c", "-s", str(source), str(work / "d")], capture_output=True)
    return done.returncode == 0 and done.stdout == target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    _, lib = load()
    source, target = big_pair()
    cut = (len(target) // 2) // WINDOW * WINDOW
    print(f"pair: {len(source) / 1e6:.1f} MB -> {len(target) / 1e6:.1f} MB, cut at {cut / 1e6:.1f} MB\n")
    print("| secondary | one stream s | bytes | two threads s | bytes | vs one | stock -d decodes |")
    print("|---|---|---|---|---|---|---|")
    settings: list[tuple[str, int, int, int]] = [
        ("none", lib.DG_SECONDARY_NONE, 0, 0),
        ("djw", lib.DG_SECONDARY_DJW, 0, 0),
        ("lzma", lib.DG_SECONDARY_LZMA, 0, 0),
        ("auto", lib.DG_SECONDARY_AUTO, 0, 0),
        ("auto, 2nd half raw", lib.DG_SECONDARY_AUTO, 0, 7),
    ]
    with tempfile.TemporaryDirectory(prefix="codec-windows-") as tmp:
        work = Path(tmp)
        (work / "src").write_bytes(source)
        for label, secondary, skip_first, skip_second in settings:
            one_s, one = float("inf"), b""
            two_s, two = float("inf"), b""
            for _ in range(args.runs):
                started = time.perf_counter()
                one = _encode(source, target, secondary, skip_first)
                one_s = min(one_s, time.perf_counter() - started)
                halves: list[Any] = [None, None]
                jobs = [
                    (source, target[:cut], secondary, skip_first),
                    (source, target[cut:], secondary, skip_second),
                ]
                threads = [threading.Thread(target=_half, args=(halves, i, j)) for i, j in enumerate(jobs)]
                started = time.perf_counter()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                two_s = min(two_s, time.perf_counter() - started)
                two = halves[0] + halves[1][_header_len(halves[1]) :]
            ok = _stock_decodes(work / "src", two, target, work)
            print(
                f"| {label} | {one_s:.2f} | {len(one):,} | {two_s:.2f} | {len(two):,} "
                f"| {len(two) / len(one):.4f} | {'yes' if ok else 'NO'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
