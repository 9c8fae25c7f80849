"""Archives made by real producers (Python's zipfile/tarfile/gzip, Info-ZIP, the JDK's jar, GNU gzip
and tar, pigz) from two versions of one small source tree, for the end-to-end transform tests.

Each producer is a :class:`Producer`: its id, the file name it writes, the program it needs (None for
Python's own), what the transform is expected to make of it, and a function that packs a tree. The
expectation is measured, not hoped for: zlib-compatible producers reproduce with the pinned zlib;
GNU gzip, Info-ZIP and 7-Zip have deflaters of their own, and pigz cuts its stream with flushes: the
deflate reconstructor rebuilds those from their choices.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from deltaglider import create_client
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.client import DeltaGliderClient
from transforms.helpers import sample_text

#: Fixed times, so that two runs (and the two versions' unchanged files) pack the same metadata.
MTIME_V1: Final = 1_700_000_000
MTIME_V2: Final = MTIME_V1 + 86_400
#: The tree: text-like files of 20-300 KB; ``CHANGED`` is the one version 2 edits. Over 200 KB in all,
#: so that GNU gzip's own block heuristics (which zlib dropped) make ``gzip -6`` unreproducible.
FILES: Final = {"pkg/a_intro.txt": 20_000, "pkg/b_module.py": 90_000, "pkg/c_data.txt": 260_000}
CHANGED: Final = "pkg/b_module.py"

Expect = Literal["zip", "gzip", "bzip2", "none", "either"]


def write_tree(root: Path, version: int) -> Path:
    """Writes version ``version`` (1 or 2) of the tree under ``root/v<version>`` and returns that folder.

    Version 2 differs in one file, slightly (16 bytes replaced early on, one line inserted halfway),
    and that file has a later mtime, as an edit gives it."""
    base = root / f"v{version}"
    for name, size in FILES.items():
        data = sample_text(size, seed=name.encode())
        if version == 2 and name == CHANGED:
            at = size // 10
            data = data[:at] + b"# patched: 0123456" + data[at + 16 :]
            half = len(data) // 2
            data = data[:half] + b"\nVERSION = '2.0'  # bumped for the release\n" + data[half:]
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        mtime = MTIME_V2 if version == 2 and name == CHANGED else MTIME_V1
        os.utime(path, (mtime, mtime))
    for folder in sorted({(base / name).parent for name in FILES}):
        os.utime(folder, (MTIME_V1, MTIME_V1))
    return base


def _members(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*") if p.is_file())


def _run(argv: list[str], cwd: Path, stdout: Path | None = None) -> None:
    if stdout is None:
        subprocess.run(argv, cwd=cwd, check=True, stdin=subprocess.DEVNULL)
        return
    with open(stdout, "wb") as out:
        subprocess.run(argv, cwd=cwd, check=True, stdout=out, stdin=subprocess.DEVNULL)


def _py_zip(method: int, level: int | None) -> Callable[[Path, Path], None]:
    def pack(tree: Path, out: Path) -> None:
        with zipfile.ZipFile(out, "w", method, compresslevel=level) as z:
            for path in _members(tree):
                z.write(path, path.relative_to(tree).as_posix())

    return pack


def _wheel(tree: Path, out: Path) -> None:
    # What the ``wheel`` tool writes: deflated members, then a dist-info folder with its RECORD last.
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in _members(tree):
            z.write(path, path.relative_to(tree).as_posix())
        version = "2.0" if tree.name == "v2" else "1.0"
        info = f"pkg-{version}.dist-info"
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: pkg\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n")
        z.writestr(f"{info}/RECORD", "".join(f"{n},,\n" for n in z.namelist()) + f"{info}/RECORD,,\n")


def _info_zip(level: str) -> Callable[[Path, Path], None]:
    def pack(tree: Path, out: Path) -> None:
        _run(["zip", "-q", "-r", "-X", level, str(out), "pkg"], cwd=tree)

    return pack


def _jar(tree: Path, out: Path) -> None:
    _run(["jar", "cf", str(out), "pkg"], cwd=tree)


def _py_tarfile_gz(tree: Path, out: Path) -> None:
    with tarfile.open(out, "w:gz", compresslevel=9) as tar:
        for path in _members(tree):
            tar.add(path, path.relative_to(tree).as_posix())


def _tar_bytes(tree: Path, out: Path) -> None:
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        for path in _members(tree):
            info = tar.gettarinfo(path, path.relative_to(tree).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with open(path, "rb") as f:
                tar.addfile(info, f)


def _py_gzip_of_tar(tree: Path, out: Path) -> None:
    tar = out.with_name(out.name + ".tmp.tar")
    _tar_bytes(tree, tar)
    with open(out, "wb") as raw, gzip.GzipFile(tar.name, "wb", 6, raw, mtime=MTIME_V1) as gz:
        gz.write(tar.read_bytes())
    tar.unlink()


def _program_on_tar(argv: list[str]) -> Callable[[Path, Path], None]:
    def pack(tree: Path, out: Path) -> None:
        tar = out.with_name(out.name.removesuffix(".gz"))
        _tar_bytes(tree, tar)
        os.utime(tar, (MTIME_V1, MTIME_V1))
        _run([*argv, str(tar)], cwd=tree, stdout=out)
        tar.unlink()

    return pack


def seven_zip(level: str) -> Callable[[Path, Path], None]:
    """7-Zip's zip at ``level`` (``-mx=N``): a deflater of its own at every level."""

    def pack(tree: Path, out: Path) -> None:
        _run(["7z", "a", "-bd", "-bso0", "-tzip", level, str(out), "pkg"], cwd=tree)

    return pack


def seven_zip_gzip_on_tar(tree: Path, out: Path) -> None:
    """The tree's tar, gzip'd by 7-Zip at its strongest level."""
    tar = out.with_name(out.name.removesuffix(".gz"))
    _tar_bytes(tree, tar)
    os.utime(tar, (MTIME_V1, MTIME_V1))
    _run(["7z", "a", "-bd", "-bso0", "-tgzip", "-mx=9", str(out), str(tar)], cwd=tree)
    tar.unlink()


def _gnu_tar_czf(tree: Path, out: Path) -> None:
    _run(["tar", "czf", str(out), "--sort=name", "pkg"], cwd=tree)


def _gnu_tar_cjf(tree: Path, out: Path) -> None:
    _run(["tar", "cjf", str(out), "--sort=name", "pkg"], cwd=tree)


def _py_tarfile_bz2(tree: Path, out: Path) -> None:
    with tarfile.open(out, "w:bz2", compresslevel=9) as tar:
        for path in _members(tree):
            tar.add(path, path.relative_to(tree).as_posix())


def _bzip2_on_tar(argv: list[str]) -> Callable[[Path, Path], None]:
    def pack(tree: Path, out: Path) -> None:
        tar = out.with_name(out.name.removesuffix(".bz2"))
        _tar_bytes(tree, tar)
        _run([*argv, str(tar)], cwd=tree, stdout=out)
        tar.unlink()

    return pack


@dataclass(frozen=True)
class Producer:
    id: str
    name: str  # the file name, with ``{v}`` for the version (1 or 2)
    tools: tuple[str, ...]  # the programs it needs on PATH (none for Python's own)
    #: "zip"/"gzip"/"bzip2": stored transformed; "none": falls back; "either": depends on how the program
    #: was built (its zlib), so it is only checked to round-trip, and to be small if transformed.
    expect: Expect
    pack: Callable[[Path, Path], None]

    def available(self) -> bool:
        return all(shutil.which(tool) is not None for tool in self.tools)

    def make(self, tree: Path, dest: Path, version: int) -> Path:
        """Packs ``tree`` into ``dest``, named for ``version``."""
        dest.mkdir(parents=True, exist_ok=True)
        out = dest / self.name.format(v=version)
        self.pack(tree, out)
        return out


PRODUCERS: Final = [
    # Python's zipfile and gzip call the platform's zlib: a stock zlib, as on Debian and Ubuntu (the
    # transform tests assume one throughout; a zlib-ng platform would fall back instead).
    Producer("py-zip-deflate-1", "app-{v}.0.zip", (), "zip", _py_zip(zipfile.ZIP_DEFLATED, 1)),
    Producer("py-zip-deflate-6", "app-{v}.0.zip", (), "zip", _py_zip(zipfile.ZIP_DEFLATED, 6)),
    Producer("py-zip-deflate-9", "app-{v}.0.zip", (), "zip", _py_zip(zipfile.ZIP_DEFLATED, 9)),
    # Nothing compressed: nothing for the transform to decode, and the plain delta is already small.
    Producer("py-zip-stored", "app-{v}.0.zip", (), "none", _py_zip(zipfile.ZIP_STORED, None)),
    Producer("py-whl", "pkg-{v}.0-py3-none-any.whl", (), "zip", _wheel),
    # A zip under a name no list knows: judged by its content.
    Producer("py-zip-as-bin", "payload-{v}.bin", (), "zip", _py_zip(zipfile.ZIP_DEFLATED, 6)),
    Producer("py-tarfile-gz", "app-{v}.0.tar.gz", (), "gzip", _py_tarfile_gz),
    Producer("py-gzip-of-tar", "app-{v}.0.tgz", (), "gzip", _py_gzip_of_tar),
    # Info-ZIP 3.0 (the last release, 2008) has a deflater of its own: measured, every member of
    # this tree reproduces with zlib at -9 and two of three at -1 and -6; the reconstructor takes the
    # 260 KB one.
    Producer("info-zip-1", "app-{v}.0.zip", ("zip",), "zip", _info_zip("-1")),
    Producer("info-zip-6", "app-{v}.0.zip", ("zip",), "zip", _info_zip("-6")),
    Producer("info-zip-9", "app-{v}.0.zip", ("zip",), "zip", _info_zip("-9")),
    # The JDK deflates with the zlib it was built with (the system's on Debian, a bundled one in
    # other builds).
    Producer("jar", "app-{v}.0.jar", ("jar",), "either", _jar),
    # GNU gzip's own deflater: past ~150 KB of input it ends blocks by a heuristic that zlib dropped,
    # so at -1 and -6 (gzip's and tar's default) no zlib setting reproduces it (-9 does): the
    # reconstructor rebuilds them.
    Producer("gnu-gzip-1", "app-{v}.0.tar.gz", ("gzip",), "gzip", _program_on_tar(["gzip", "-c", "-1"])),
    Producer("gnu-gzip-6", "app-{v}.0.tar.gz", ("gzip",), "gzip", _program_on_tar(["gzip", "-c", "-6"])),
    Producer("gnu-gzip-9", "app-{v}.0.tar.gz", ("gzip",), "gzip", _program_on_tar(["gzip", "-c", "-9"])),
    Producer("gnu-tar-czf", "app-{v}.0.tar.gz", ("tar", "gzip"), "gzip", _gnu_tar_czf),
    # pigz cuts its stream into 128 KiB blocks joined by flushes, which no single setting makes (the
    # reconstructor does); with one block (-b 4096 KiB) its stream is the system zlib's.
    Producer("pigz-6", "app-{v}.0.tar.gz", ("pigz",), "gzip", _program_on_tar(["pigz", "-c", "-6"])),
    Producer(
        "pigz-9-one-block",
        "app-{v}.0.tar.gz",
        ("pigz",),
        "either",
        _program_on_tar(["pigz", "-c", "-9", "-b", "4096"]),
    ),
    # bzip2's output is fixed by libbzip2 1.0.x and the block size its header names; pbzip2 writes
    # a libbzip2 stream per chunk (100 kB with -b1, so several here); lbzip2 has an encoder of its own.
    Producer("py-tarfile-bz2", "app-{v}.0.tar.bz2", (), "bzip2", _py_tarfile_bz2),
    Producer("bzip2-1", "app-{v}.0.tar.bz2", ("bzip2",), "bzip2", _bzip2_on_tar(["bzip2", "-c", "-1"])),
    Producer("bzip2-9", "app-{v}.0.tar.bz2", ("bzip2",), "bzip2", _bzip2_on_tar(["bzip2", "-c", "-9"])),
    Producer("gnu-tar-cjf", "app-{v}.0.tar.bz2", ("tar", "bzip2"), "bzip2", _gnu_tar_cjf),
    Producer(
        "pbzip2", "app-{v}.0.tar.bz2", ("pbzip2",), "bzip2", _bzip2_on_tar(["pbzip2", "-c", "-b1", "-p2"])
    ),
    Producer("lbzip2", "app-{v}.0.tar.bz2", ("lbzip2",), "none", _bzip2_on_tar(["lbzip2", "-c", "-n2"])),
]


def producer(producer_id: str) -> Producer:
    return next(p for p in PRODUCERS if p.id == producer_id)


# -- the store they go to --------------------------------------------------------------------------

BUCKET: Final = "rel"


def local_client(root: Path, *, original_compatible: bool | None = False) -> DeltaGliderClient:
    """A client serving ``s3://rel/...`` from the folder ``root/store``, with a cache of its own.

    Transforms are asked for (or not) explicitly, so that a ``DG_ORIGINAL_COMPATIBLE`` in the
    environment of the run cannot decide; None leaves the setting to the environment."""
    endpoint, cache = f"file://{root / 'store'}", str(root / "cache")
    if original_compatible is None:
        return create_client(endpoint_url=endpoint, cache_dir=cache)
    return create_client(endpoint_url=endpoint, cache_dir=cache, original_compatible=original_compatible)


def object_path(root: Path, key: str) -> Path:
    """Where the local store keeps the object ``s3://rel/<key>``."""
    return root / "store" / BUCKET / key


def object_metadata(root: Path, key: str) -> dict[str, str]:
    head = LocalStorage(root / "store").head(BUCKET, key)
    assert head is not None, f"no object {key}"
    return dict(head.metadata)


def every_object(root: Path) -> dict[str, dict[str, str]]:
    """Each stored object's key and metadata, read back from the store."""
    store = LocalStorage(root / "store")
    return {head.key: object_metadata(root, head.key) for head in store.list(BUCKET, "")}
