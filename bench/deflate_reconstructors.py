"""Measure deflate reconstructors (preflate, grittibanzli) on real producers' streams.

Each candidate is built as a small standalone harness (see ``--help``) that takes one raw deflate
stream, splits it into (uncompressed data, correction bytes), rebuilds the stream from the two and
prints: ``deflate_size correction_size uncompressed_size analyse_seconds rebuild_seconds exact``.

Inputs are made here from real tool output: GNU gzip -1/-6/-9 of a ~1 MB tar (requests 2.32.2 and
2.32.3 sdists unpacked), Info-ZIP ``zip -1/-6/-9`` members, 7-Zip's deflate (``7z a -tzip``), Python's
zlib (control), and the largest member of a ruff wheel (Rust tooling). Usage::

    python bench/deflate_reconstructors.py --preflate /tmp/pf/pf_harness \
        --grittibanzli /tmp/pf/gb_harness --downloads /tmp/pf/dl

``--downloads`` holds requests-2.32.2.tar.gz, requests-2.32.3.tar.gz and a ruff wheel
(``pip download --no-deps requests==2.32.2`` ...). The harness sources are in
``bench/deflate_harness/`` (``build.sh`` builds them); the results are in ``bench/RESULTS.md``
("Deflate reconstructors").
"""

from __future__ import annotations

import argparse
import lzma
import shutil
import struct
import subprocess
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

HEADER = (
    "| producer | streams | deflate bytes | tool | correction bytes | round trip | analyse MB/s"
    " | rebuild MB/s |"
)


def gzip_member_stream(data: bytes) -> bytes:
    """The raw deflate stream of a single-member gzip file."""
    flags = data[3]
    pos = 10
    if flags & 4:
        (xlen,) = struct.unpack_from("<H", data, pos)
        pos += 2 + xlen
    for bit in (8, 16):
        if flags & bit:
            pos = data.index(b"\0", pos) + 1
    if flags & 2:
        pos += 2
    inflater = zlib.decompressobj(-15)
    inflater.decompress(data[pos:])
    return data[pos : len(data) - len(inflater.unused_data)]


def zip_member_streams(path: Path, min_size: int = 1) -> Iterator[tuple[str, bytes]]:
    """Every deflated member's raw stream, with its name."""
    blob = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_DEFLATED or info.compress_size < min_size:
                continue
            offset = info.header_offset
            name_len, extra_len = struct.unpack_from("<HH", blob, offset + 26)
            start = offset + 30 + name_len + extra_len
            yield info.filename, blob[start : start + info.compress_size]


def run_harness(harness: Path, stream: bytes, workdir: Path, dump: bool) -> tuple[int, ...] | None:
    raw = workdir / "stream.deflate"
    raw.write_bytes(stream)
    args = [str(harness), str(raw)] + ([str(workdir / "choices")] if dump else [])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    size, corr, unpacked, t_an, t_re, ok = proc.stdout.split()
    return (int(size), int(corr), int(unpacked), float(t_an), float(t_re), int(ok))  # type: ignore[return-value]


def measure(name: str, streams: list[bytes], harnesses: dict[str, Path], workdir: Path) -> None:
    total = sum(len(s) for s in streams)
    for label, harness in harnesses.items():
        corr = 0
        choices = bytearray()
        t_an = t_re = 0.0
        exact = failed = 0
        for stream in streams:
            dump = label == "grittibanzli"
            row = run_harness(harness, stream, workdir, dump)
            if row is None:
                failed += 1
                continue
            corr += int(row[1])
            if dump:
                choices += (workdir / "choices").read_bytes()
            t_an += float(row[3])
            t_re += float(row[4])
            exact += int(row[5])
        extra = ""
        if choices:  # grittibanzli leaves compression of its choices to the caller: all at once here
            xz = len(lzma.compress(bytes(choices), preset=9 | lzma.PRESET_EXTREME))
            zl = len(zlib.compress(bytes(choices), 9))
            extra = f" (xz -9e {100 * xz / total:.3f}%, zlib -9 {100 * zl / total:.3f}%)"
        speed = total / t_re / 1e6 if t_re else float("inf")
        print(
            f"| {name} | {len(streams)} | {total:,} | {label} | {corr:,} = {100 * corr / total:.3f}%{extra}"
            f" | {exact}/{len(streams)} exact, {failed} failed | {total / max(t_an, 1e-9) / 1e6:.1f}"
            f" | {speed:.1f} |"
        )


def zlib_reference(name: str, data: bytes) -> None:
    """What today's fast path (re-encoding with zlib) costs on the same data: the speed bar."""
    for level in (1, 6, 9):
        start = time.process_time()
        out = zlib.compress(data, level)
        seconds = time.process_time() - start
        speed = len(out) / seconds / 1e6
        print(
            f"| {name} | 1 | {len(out):,} | zlib -{level} re-encode (reference) | - | - | - | {speed:.1f} |"
        )


def zlib_reproduces(stream: bytes) -> bool:
    """Roughly today's fast path: some zlib level (1-9) at memLevel 8 or 9 gives the stream back."""
    data = zlib.decompress(stream, -15)
    for level in range(1, 10):
        for mem_level in (8, 9):
            packer = zlib.compressobj(level, zlib.DEFLATED, -15, mem_level)
            if packer.compress(data) + packer.flush() == stream:
                return True
    return False


def residual(name: str, streams: list[bytes], harness: Path, workdir: Path, raw_choices: bool) -> None:
    """The reconstructor is the fallback: what it costs on the streams zlib does not reproduce."""
    missed = [s for s in streams if not zlib_reproduces(s)]
    corr = 0
    choices = bytearray()
    for stream in missed:
        row = run_harness(harness, stream, workdir, raw_choices)
        corr += int(row[1]) if row else 0
        if raw_choices and row:
            choices += (workdir / "choices").read_bytes()
    if raw_choices:  # grittibanzli's choices, compressed together as they would be stored
        corr = len(zlib.compress(bytes(choices), 9)) if choices else 0
    missed_bytes = sum(map(len, missed))
    total = sum(map(len, streams))
    print(
        f"- {name}: {len(missed)}/{len(streams)} streams ({missed_bytes:,} of {total:,} bytes) not reproduced"
        f" by zlib; corrections on those {corr:,} = {100 * corr / max(missed_bytes, 1):.2f}% of them,"
        f" {100 * corr / total:.3f}% of all"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preflate", type=Path)
    parser.add_argument("--grittibanzli", type=Path)
    parser.add_argument("--downloads", type=Path, required=True)
    args = parser.parse_args()
    sets: dict[str, list[bytes]] = {}
    harnesses = {k: v for k, v in (("preflate", args.preflate), ("grittibanzli", args.grittibanzli)) if v}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tree = work / "tree"
        tree.mkdir()
        for sdist in sorted(args.downloads.glob("requests-*.tar.gz")):
            with tarfile.open(sdist) as archive:
                archive.extractall(tree, filter="data")
        subprocess.run(["tar", "cf", str(work / "t.tar"), "-C", str(tree), "."], check=True)
        tar_bytes = (work / "t.tar").read_bytes()
        print(f"tar: {len(tar_bytes):,} bytes")
        print(HEADER)
        print("|---" * HEADER.count("|", 1) + "|")
        zlib_reference("tar", tar_bytes)
        measure("Python zlib -6 (control)", [zlib.compress(tar_bytes, 6)[2:-4]], harnesses, work)
        for level in (1, 6, 9):
            gz = subprocess.run(
                ["gzip", f"-{level}", "-c", "-n"], input=tar_bytes, capture_output=True, check=True
            )
            sets[f"GNU gzip -{level}"] = [gzip_member_stream(gz.stdout)]
            measure(f"GNU gzip -{level}", sets[f"GNU gzip -{level}"], harnesses, work)
        if shutil.which("zip"):
            for level in (1, 6, 9):
                out = work / f"z{level}.zip"
                subprocess.run(["zip", "-q", f"-{level}", "-r", str(out), "."], cwd=tree, check=True)
                sets[f"Info-ZIP zip -{level}"] = [s for _, s in zip_member_streams(out)]
                measure(f"Info-ZIP zip -{level}", sets[f"Info-ZIP zip -{level}"], harnesses, work)
        if shutil.which("7z"):
            for level in (5, 9):
                out = work / f"s{level}.zip"
                subprocess.run(
                    ["7z", "a", "-tzip", f"-mx={level}", str(out), "."],
                    cwd=tree,
                    check=True,
                    capture_output=True,
                )
                sets[f"7-Zip -mx={level}"] = [s for _, s in zip_member_streams(out)]
                measure(f"7-Zip -tzip -mx={level}", sets[f"7-Zip -mx={level}"], harnesses, work)
        for wheel in sorted(args.downloads.glob("ruff-*.whl"))[:1]:
            name, stream = max(zip_member_streams(wheel), key=lambda m: len(m[1]))
            label = f"{wheel.name.split('-py3')[0]} {name.rsplit('/', 1)[-1]}"
            zlib_reference(label, zlib.decompress(stream, -15))
            measure(label, [stream], harnesses, work)
        for label, harness in harnesses.items():
            print(
                f"\n{label} as the fallback" + (" (choices zlib -9)" if label == "grittibanzli" else "") + ":"
            )
            for name, streams in sets.items():
                residual(name, streams, harness, work, label == "grittibanzli")


if __name__ == "__main__":
    main()
