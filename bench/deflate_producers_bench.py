"""Deflate producers through the SDK (issue 22): two consecutive sdists unpacked and re-packed by each
producer (GNU gzip, Info-ZIP, 7-Zip, pigz, Python's tarfile as the control), the second uploaded after
the first into a ``file://`` store. Per producer: the second file's stored size next to the plain
delta of its bytes (``deltaglider.codec.encode_file``) and next to the stock ``xdelta3 -9``; upload
and download times (fresh client and cache for the download, bytes checked); and the reconstructor's
share: streams it rebuilt and the bytes of their stored choices against the bytes of those streams.

Usage: ``python bench/deflate_producers_bench.py OLD.tar.gz NEW.tar.gz [...more pairs]`` (sdists from
``pip download --no-deps --no-binary :all: NAME==VERSION``). A pair of wheels (``OLD.whl NEW.whl``,
e.g. ruff's, written by the Rust ``zip`` crate) is measured as published, not re-packed. A producer
whose program is missing is left out; ``xdelta3`` (Debian's package) is needed for the stock column.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from sdk_pair import run_pairs, upload_then_download

from deltaglider.codec import encode_file
from deltaglider.transforms import encode_container, unpack
from deltaglider.transforms.reconstruct import ReconstructParams

Pack = Callable[[Path, Path, Path], None]  # (tar, unpacked tree, out)


def _on_tar(argv: list[str]) -> Pack:
    def pack(tar: Path, tree: Path, out: Path) -> None:
        with open(tar, "rb") as src, open(out, "wb") as dst:
            subprocess.run(argv, stdin=src, stdout=dst, check=True)

    return pack


def _python_tarfile(tar: Path, tree: Path, out: Path) -> None:
    out.write_bytes(gzip.compress(tar.read_bytes(), 9, mtime=0))


def _zip(argv: list[str]) -> Pack:
    def pack(tar: Path, tree: Path, out: Path) -> None:
        subprocess.run([*argv, str(out.resolve()), "."], cwd=tree, check=True, stdout=subprocess.DEVNULL)

    return pack


def _seven_gzip(tar: Path, tree: Path, out: Path) -> None:
    subprocess.run(["7z", "a", "-bso0", "-tgzip", "-mx=9", str(out), str(tar)], check=True)


PRODUCERS: dict[str, tuple[str, Pack, str]] = {
    "Python tarfile gzip -9 (control)": ("python3", _python_tarfile, ".tar.gz"),
    "GNU gzip -1": ("gzip", _on_tar(["gzip", "-c", "-n", "-1"]), ".tar.gz"),
    "GNU gzip -6 (tar czf)": ("gzip", _on_tar(["gzip", "-c", "-n", "-6"]), ".tar.gz"),
    "GNU gzip -9": ("gzip", _on_tar(["gzip", "-c", "-n", "-9"]), ".tar.gz"),
    "pigz -6": ("pigz", _on_tar(["pigz", "-c", "-n", "-6"]), ".tar.gz"),
    "Info-ZIP zip -1": ("zip", _zip(["zip", "-q", "-r", "-X", "-1"]), ".zip"),
    "Info-ZIP zip -6": ("zip", _zip(["zip", "-q", "-r", "-X", "-6"]), ".zip"),
    "Info-ZIP zip -9": ("zip", _zip(["zip", "-q", "-r", "-X", "-9"]), ".zip"),
    "7-Zip zip -mx=5": ("7z", _zip(["7z", "a", "-bso0", "-tzip", "-mx=5"]), ".zip"),
    "7-Zip zip -mx=9": ("7z", _zip(["7z", "a", "-bso0", "-tzip", "-mx=9"]), ".zip"),
    "7-Zip gzip -mx=9": ("7z", _seven_gzip, ".tar.gz"),
}


def _stock_xdelta3(old: Path, new: Path, out: Path) -> int | None:
    if shutil.which("xdelta3") is None:
        return None
    # -D -R: the bytes as they are (the binary would gunzip a .gz itself and rebuild another file).
    argv = ["xdelta3", "-9", "-e", "-f", "-D", "-R", "-s", str(old), str(new), str(out)]
    subprocess.run(argv, check=True, stderr=subprocess.DEVNULL)
    return out.stat().st_size


def _choices(path: Path, scratch: Path) -> tuple[int, int, int]:
    """(streams reconstructed, their stored choices' bytes, their compressed bytes) in ``path``."""
    encoded = encode_container(path, scratch / "decoded")
    if encoded is None:
        return 0, 0, 0
    segs = [s for s in unpack(encoded.recipe).segments if isinstance(s.params, ReconstructParams)]
    (scratch / "decoded").unlink()
    stored = sum(len(s.params.stored) for s in segs if isinstance(s.params, ReconstructParams))
    return len(segs), stored, sum(s.compressed_size for s in segs)


def _pct(part: int, whole: int) -> str:
    return f"{part:,} ({part / whole:.1%})"


def _row(label: str, old: Path, new: Path, room: Path) -> str:
    stock = _stock_xdelta3(old, new, room / "stock.delta")
    plain = encode_file(old, new, room / "plain.delta")
    run = upload_then_download(old, new, room)
    second, up, down = run.second, run.upload_s, run.download_s
    streams, choices, their = _choices(new, room)
    size = new.stat().st_size
    share = f"{choices:,} / {their:,} ({choices / their:.2%})" if their else "-"
    return (
        f"| {label} | {size:,} | {'-' if stock is None else _pct(stock, size)} | {_pct(plain, size)} "
        f"| {_pct(second.stored_size, size)} | {second.transform or '-'} | {streams} | {share} "
        f"| {up:.2f} | {down:.2f} |"
    )


_HEADER = (
    "| producer | file B | xdelta3 -9 | plain delta | stored | transform | rebuilt from choices "
    "| choices / their streams | upload s | download s |\n|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"
)


def _measure_as_published(old: Path, new: Path, work: Path) -> None:
    print(f"\n{old.name} -> {new.name} (as published)")
    print(_HEADER)
    room = Path(tempfile.mkdtemp(dir=work))
    a, b = room / old.name, room / new.name
    shutil.copyfile(old, a)
    shutil.copyfile(new, b)
    print(_row("as published", a, b, room))


def _measure(old_gz: Path, new_gz: Path, work: Path) -> None:
    trees, tars = [], []
    for gz in (old_gz, new_gz):
        tar = work / gz.name.removesuffix(".gz")
        tar.write_bytes(gzip.decompress(gz.read_bytes()))
        tree = work / gz.name.removesuffix(".tar.gz")
        with tarfile.open(tar) as t:
            t.extractall(tree, filter="data")
        tars.append(tar)
        trees.append(tree)
    print(f"\n{old_gz.name} -> {new_gz.name} (tar {tars[1].stat().st_size:,} B)")
    print(_HEADER)
    for label, (tool, pack, suffix) in PRODUCERS.items():
        if shutil.which(tool) is None:
            continue
        room = Path(tempfile.mkdtemp(dir=work))
        old, new = room / f"a{suffix}", room / f"b{suffix}"
        pack(tars[0], trees[0], old)
        pack(tars[1], trees[1], new)
        print(_row(label, old, new, room), flush=True)


def _measure_pair(old: Path, new: Path, work: Path) -> None:
    (_measure_as_published if new.suffix == ".whl" else _measure)(old, new, work)


def main(argv: list[str]) -> int:
    return run_pairs(argv, __doc__, _measure_pair)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
