"""bzip2 through the SDK (issue 22): two consecutive sdists re-packed as ``.tar.bz2`` by each bzip2
producer, the second uploaded after the first into a ``file://`` store. Reports the second file's
stored size with transforms on (decoded when the producer reproduces) next to the plain delta of its
bytes (``deltaglider.codec.encode_file`` against the first, as a delta without transforms would be),
and its upload and download times (one run each, fresh client and cache for the download).

Usage: ``python bench/bzip2_bench.py OLD.tar.gz NEW.tar.gz [...more pairs]`` (sdists from
``pip download --no-deps --no-binary :all: NAME==VERSION``). Needs ``bzip2``, ``pbzip2``, ``lbzip2``
on PATH (a producer whose program is missing is left out).
"""

from __future__ import annotations

import bz2
import gzip
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from sdk_pair import run_pairs, upload_then_download

from deltaglider.codec import encode_file


def _program(argv: list[str]) -> Callable[[Path, Path], None]:
    def pack(tar: Path, out: Path) -> None:
        with open(tar, "rb") as src, open(out, "wb") as dst:
            subprocess.run(argv, stdin=src, stdout=dst, check=True)

    return pack


def _python(level: int) -> Callable[[Path, Path], None]:
    def pack(tar: Path, out: Path) -> None:
        out.write_bytes(bz2.compress(tar.read_bytes(), level))

    return pack


PRODUCERS: dict[str, tuple[str | None, Callable[[Path, Path], None]]] = {
    "bzip2 -9 (tar cjf)": ("bzip2", _program(["bzip2", "-c", "-9"])),
    "bzip2 -1": ("bzip2", _program(["bzip2", "-c", "-1"])),
    "python bz2 -9": (None, _python(9)),
    "pbzip2 -9 (-b1)": ("pbzip2", _program(["pbzip2", "-c", "-9", "-b1", "-p2"])),
    "lbzip2 -9": ("lbzip2", _program(["lbzip2", "-c", "-9", "-n2"])),
}


def _measure(old_gz: Path, new_gz: Path, work: Path) -> None:
    name = new_gz.name.removesuffix(".tar.gz")
    tars = []
    for gz in (old_gz, new_gz):
        tar = work / gz.name.removesuffix(".gz")
        tar.write_bytes(gzip.decompress(gz.read_bytes()))
        tars.append(tar)
    print(f"\n{old_gz.name} -> {new_gz.name} (tar {tars[1].stat().st_size:,} B)")
    print("| producer | file B | plain delta | stored | transform | upload s | download s |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for label, (tool, pack) in PRODUCERS.items():
        if tool is not None and shutil.which(tool) is None:
            continue
        room = Path(tempfile.mkdtemp(dir=work))
        old, new = room / f"a-{name}.tar.bz2", room / f"b-{name}.tar.bz2"
        pack(tars[0], old)
        pack(tars[1], new)
        plain = encode_file(old, new, room / "plain.delta")
        run = upload_then_download(old, new, room)
        second, up, down = run.second, run.upload_s, run.download_s
        size = new.stat().st_size
        print(
            f"| {label} | {size:,} | {plain:,} ({plain / size:.1%}) | {second.stored_size:,} "
            f"({second.stored_size / size:.1%}) | {second.transform or '-'} | {up:.2f} | {down:.2f} |"
        )


def main(argv: list[str]) -> int:
    return run_pairs(argv, __doc__, _measure)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
