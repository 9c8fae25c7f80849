"""Downloads and generates the benchmark pairs into bench/data/ (gitignored).

Real consecutive releases from PyPI, fetched with pip's own client:

* ``botocore`` 1.35.0 and 1.35.1 wheels (~12 MB, members already deflated);
* ``numpy`` 2.1.0 and 2.1.1 CPython 3.11 manylinux wheels (~16 MB of machine code, the case where
  LZMA secondary compression gains least);
* the two matching ``botocore`` sdists, unpacked and written back as uncompressed tars (~115 MB of
  JSON and Python: the >= 100 MB file, and the case where LZMA gains most);
* 100 KB cut from a member of those sdists that changed between the releases (the per-file cost
  pair).

Generated (deterministic, seeded):

* ``moved``: 160 MiB whose halves swap places, so every byte moved by 80 MiB, past the binary's
  64 MiB default source window;
* ``big``: a 1 GiB pair with scattered edits, for the memory-budget runs.

Usage: ``python bench/fetch_data.py [--skip-big]``. Files already present are kept.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
MIB = 1 << 20
SMALL = 100_000

BOTOCORE = ("1.35.0", "1.35.1")
NUMPY = ("2.1.0", "2.1.1")


def _find(dest: Path, name: str, version: str, suffix: str) -> list[Path]:
    prefix = f"{name.lower()}-{version}"
    return [p for p in dest.iterdir() if p.name.lower().startswith(prefix) and p.name.endswith(suffix)]


def _fetch(dest: Path, requirement: str, kind: str, *extra: str) -> Path:
    """pip's own cache and client; a file already in ``dest`` is not fetched again."""
    name, _, version = requirement.partition("==")
    suffix = ".whl" if kind == "wheel" else ".tar.gz"
    if not _find(dest, name, version, suffix):
        flags = ["--only-binary", ":all:"] if kind == "wheel" else ["--no-binary", ":all:"]
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest)]
        subprocess.run([*pip, *flags, *extra, requirement], check=True)
    found = _find(dest, name, version, suffix)
    if len(found) != 1:
        raise SystemExit(f"expected one {kind} for {requirement} in {dest}, found {found}")
    return found[0]


def _retar_uncompressed(sdist: Path, out: Path) -> None:
    """Unpacks the sdist and writes its members back, in order, into an uncompressed tar."""
    if out.exists():
        return
    tmp = out.with_suffix(".tmp")
    with tarfile.open(sdist, "r:gz") as src, tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            fileobj = src.extractfile(member) if member.isfile() else None
            dst.addfile(member, fileobj)
    os.replace(tmp, out)


def _members(tar_path: Path) -> dict[str, bytes]:
    with tarfile.open(tar_path, "r") as tar:
        out = {}
        for m in tar:
            f = tar.extractfile(m) if m.isfile() else None
            if f is not None:
                # Member names carry the version directory; strip it so releases line up.
                out[m.name.split("/", 1)[-1]] = f.read()
        return out


def _small_pair(old_tar: Path, new_tar: Path, dest_old: Path, dest_new: Path) -> None:
    """100,000 bytes of a real changed file: the smallest member of the two sdists that changed and
    is >= 100 KB, cut in both releases from the same offset, 20 KB before its first change."""
    if dest_old.exists() and dest_new.exists():
        return
    old, new = _members(old_tar), _members(new_tar)
    changed = [n for n in sorted(old) if n in new and old[n] != new[n] and len(new[n]) >= SMALL]
    if not changed:
        raise SystemExit("no changed member of >= 100 KB between the sdists for the small pair")
    name = min(changed, key=lambda n: len(new[n]))
    a, b = old[name], new[name]
    first_change = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    start = max(0, min(first_change - 20_000, len(b) - SMALL))
    print(f"small pair: {name} [{start}:{start + SMALL}]")
    dest_old.write_bytes(a[start : start + SMALL])
    dest_new.write_bytes(b[start : start + SMALL])


def _pseudo_random(rng: random.Random, size: int) -> bytes:
    """Incompressible bytes, fast: SHAKE-256 keyed from the seeded generator."""
    return hashlib.shake_256(rng.randbytes(32)).digest(size)


def _write_chunks(path: Path, chunks: list[bytes]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


def _moved_pair(dest: Path) -> None:
    """160 MiB of semi-compressible data; the target is the source with its halves swapped."""
    src, tgt = dest / "moved.src", dest / "moved.tgt"
    if src.exists() and tgt.exists():
        return
    rng = random.Random(160)
    # Text-like blocks with repetition inside a block, so that LZMA has something to find, plus
    # random runs, so that nothing can be found by accident at the wrong offset.
    parts = []
    words = [_pseudo_random(rng, rng.randint(3, 12)).hex().encode() for _ in range(4096)]
    while sum(map(len, parts)) < 160 * MIB:
        if rng.random() < 0.5:
            parts.append(b" ".join(rng.choice(words) for _ in range(2048)))
        else:
            parts.append(_pseudo_random(rng, 16384))
    data = b"".join(parts)[: 160 * MIB]
    half = len(data) // 2
    _write_chunks(src, [data])
    _write_chunks(tgt, [data[half:], data[:half]])


def _big_pair(dest: Path) -> None:
    """1 GiB source; the target keeps it with 1,000 small edits and a 16 MiB block moved 512 MiB."""
    src, tgt = dest / "big.src", dest / "big.tgt"
    if src.exists() and tgt.exists():
        return
    rng = random.Random(1024)
    size = 1024 * MIB
    data = bytearray(_pseudo_random(rng, size))
    _write_chunks(src, [bytes(data)])
    for _ in range(1000):
        at = rng.randrange(size - 4096)
        data[at : at + rng.randint(1, 4096)] = _pseudo_random(rng, rng.randint(1, 4096))
    block = bytes(data[100 * MIB : 116 * MIB])
    del data[100 * MIB : 116 * MIB]
    data[612 * MIB : 612 * MIB] = block
    _write_chunks(tgt, [bytes(data)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-big", action="store_true", help="do not generate the 1 GiB pair")
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    dl = DATA / "downloads"
    dl.mkdir(exist_ok=True)

    for i, v in enumerate(BOTOCORE):
        wheel = _fetch(dl, f"botocore=={v}", "wheel")
        _link(wheel, DATA / f"botocore-whl.{'src' if i == 0 else 'tgt'}")
        sdist = _fetch(dl, f"botocore=={v}", "sdist")
        _retar_uncompressed(sdist, DATA / f"botocore-tar.{'src' if i == 0 else 'tgt'}")
    numpy_platform = [
        "--python-version",
        "3.11",
        "--platform",
        "manylinux_2_17_x86_64",
        "--implementation",
        "cp",
    ]
    for i, v in enumerate(NUMPY):
        wheel = _fetch(dl, f"numpy=={v}", "wheel", *numpy_platform)
        _link(wheel, DATA / f"numpy-whl.{'src' if i == 0 else 'tgt'}")
    _small_pair(DATA / "botocore-tar.src", DATA / "botocore-tar.tgt", DATA / "small.src", DATA / "small.tgt")
    _moved_pair(DATA)
    if not args.skip_big:
        _big_pair(DATA)
    for p in sorted(DATA.iterdir()):
        if p.is_file():
            print(f"{p.name:24} {p.stat().st_size:>14,}")


def _link(target: Path, link: Path) -> None:
    """Copies (not links) so that every pair is a plain file in bench/data."""
    if not link.exists():
        shutil.copyfile(target, link)


if __name__ == "__main__":
    main()
