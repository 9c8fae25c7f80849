"""Fetches the release families of the SDK-against-the-original benchmark (issue 20) into a cache folder
outside the repository, so that nothing fetched can be committed.

Three families of real consecutive releases from PyPI, fetched with pip's own client:

* ``botocore-wheels``: the 22 botocore wheels 1.35.0 to 1.35.21 (~12.5 MB each, members already
  deflated), the family of the earlier runs of ``s3_vs_original.py``;
* ``pydantic-core-so``: the compiled extension inside 12 consecutive pydantic_core wheels (2.23.0 to
  2.27.0, CPython 3.11, manylinux x86_64), extracted (~4.5 MB of machine code each);
* ``rich-sdists``: 22 consecutive ``rich`` sdists (13.3.0 to 13.9.3, ~220 KB ``.tar.gz`` each).

Each file is handed to the tools under a name both take for a delta candidate, so that both make
deltas of the same bytes: the original picks by name and stores anything else whole. Wheels go as
``.zip`` and the extension as ``.iso`` (a raw image: neither tool reads a container into that name,
ours sniffs content, the original runs xdelta3 on whatever it is given); sdists keep ``.tar.gz``.

The cache is ``$DG_BENCH_CACHE`` or ``~/.cache/deltaglider-bench``; files already there are kept.

Usage: ``python bench/fetch_families.py [FAMILY ...]`` prints each family's files and sizes;
``s3_vs_original.py`` imports ``family_files``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

CACHE = Path(os.environ.get("DG_BENCH_CACHE") or Path.home() / ".cache" / "deltaglider-bench")

BOTOCORE = tuple(f"1.35.{n}" for n in range(22))
PYDANTIC_CORE = (
    "2.23.0",
    "2.23.1",
    "2.23.2",
    "2.23.3",
    "2.23.4",
    "2.24.0",
    "2.24.1",
    "2.24.2",
    "2.25.0",
    "2.25.1",
    "2.26.0",
    "2.27.0",
)
RICH = (
    "13.3.0",
    "13.3.1",
    "13.3.2",
    "13.3.3",
    "13.3.4",
    "13.3.5",
    "13.4.0",
    "13.4.1",
    "13.4.2",
    "13.5.0",
    "13.5.1",
    "13.5.2",
    "13.5.3",
    "13.6.0",
    "13.7.0",
    "13.7.1",
    "13.8.0",
    "13.8.1",
    "13.9.0",
    "13.9.1",
    "13.9.2",
    "13.9.3",
)
CP311_LINUX = ("--python-version", "3.11", "--platform", "manylinux_2_17_x86_64", "--implementation", "cp")


def _pip_download(dest: Path, requirement: str, kind: str, *extra: str) -> Path:
    """The one file pip fetches for ``requirement`` into ``dest`` (kept: a second call fetches nothing)."""
    name, _, version = requirement.partition("==")
    stem = f"{name.replace('-', '_').lower()}-{version}"
    # A wheel's version is followed by its tags, an sdist's by its suffix: 1.35.1 must not find 1.35.10.
    start, end = (stem + "-", ".whl") if kind == "wheel" else (stem + ".tar.gz", ".tar.gz")

    def found() -> list[Path]:
        return [p for p in dest.iterdir() if p.name.lower().startswith(start) and p.name.endswith(end)]

    dest.mkdir(parents=True, exist_ok=True)
    if not found():
        flags = ["--only-binary", ":all:"] if kind == "wheel" else ["--no-binary", ":all:"]
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest)]
        subprocess.run([*pip, *flags, *extra, requirement], check=True)
    files = found()
    if len(files) != 1:
        raise SystemExit(f"expected one {kind} for {requirement} in {dest}, found {files}")
    return files[0]


def _place(source: Path, target: Path) -> Path:
    """``target`` as a copy of ``source``, written once; a plain file so that both tools read the same."""
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    return target


def _botocore_wheels(count: int) -> list[Path]:
    out = []
    for version in BOTOCORE[:count]:
        wheel = _pip_download(CACHE / "pip" / "botocore", f"botocore=={version}", "wheel")
        out.append(_place(wheel, CACHE / "botocore-wheels" / f"botocore-{version}.zip"))
    return out


def _pydantic_core_so(count: int) -> list[Path]:
    out = []
    for version in PYDANTIC_CORE[:count]:
        target = CACHE / "pydantic-core-so" / f"pydantic_core-{version}.so.iso"
        if not target.is_file():
            wheel = _pip_download(
                CACHE / "pip" / "pydantic_core", f"pydantic_core=={version}", "wheel", *CP311_LINUX
            )
            with zipfile.ZipFile(wheel) as archive:
                members = [n for n in archive.namelist() if n.endswith(".so")]
                if len(members) != 1:
                    raise SystemExit(f"expected one .so in {wheel.name}, found {members}")
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(target.name + ".tmp")
                tmp.write_bytes(archive.read(members[0]))
                os.replace(tmp, target)
        out.append(target)
    return out


def _rich_sdists(count: int) -> list[Path]:
    out = []
    for version in RICH[:count]:
        sdist = _pip_download(CACHE / "pip" / "rich", f"rich=={version}", "sdist")
        out.append(_place(sdist, CACHE / "rich-sdists" / f"rich-{version}.tar.gz"))
    return out


#: Family name -> (how many files it has, how to fetch its first n in upload order).
FAMILIES: dict[str, tuple[int, Callable[[int], list[Path]]]] = {
    "botocore-wheels": (len(BOTOCORE), _botocore_wheels),
    "pydantic-core-so": (len(PYDANTIC_CORE), _pydantic_core_so),
    "rich-sdists": (len(RICH), _rich_sdists),
}


def family_files(family: str, count: int | None = None) -> list[Path]:
    """The family's first ``count`` files (all when None), fetched when absent, in upload order."""
    size, fetch = FAMILIES[family]
    return fetch(size if count is None else min(count, size))


def main() -> int:
    for family in sys.argv[1:] or list(FAMILIES):
        files = family_files(family)
        total = sum(p.stat().st_size for p in files)
        print(f"{family}: {len(files)} files, {total:,} bytes in {files[0].parent}")
        for path in files:
            print(f"  {path.name:40} {path.stat().st_size:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
