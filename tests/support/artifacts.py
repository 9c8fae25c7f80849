"""Families of similar files, as deltaglider stores them in practice: releases of one zip archive.

Each release is a real zip (a stored binary member, deflated text members, fixed timestamps), so
consecutive releases share most of their bytes, as real builds do.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import zipfile
from pathlib import Path

_EPOCH = (2024, 1, 1, 0, 0, 0)


def _binary_blob(rng: random.Random, size: int) -> bytes:
    # Random bytes with repeated stretches: like a compiled binary, neither all noise nor all runs.
    chunks = []
    total = 0
    while total < size:
        chunk = rng.randbytes(rng.randint(512, 8192))
        chunks.append(chunk * rng.randint(1, 3))
        total += len(chunks[-1])
    return b"".join(chunks)[:size]


def release_zips(
    directory: Path, name: str, count: int, *, size: int = 1_500_000, seed: int = 7
) -> list[Path]:
    """``count`` releases ``<name>-1.0.zip``, ``<name>-1.1.zip``...: each patches a few bytes of the
    binary, bumps a version file, and from the third on adds a changelog entry."""
    rng = random.Random(seed)
    binary = bytearray(_binary_blob(rng, size))
    readme = "\n".join(f"line {i}: {rng.random()}" for i in range(2000)).encode()
    paths = []
    changelog = b""
    for release in range(count):
        version = f"1.{release}"
        if release:
            for _ in range(5):  # a few small patches, as a rebuild with a one-line fix produces
                at = rng.randrange(len(binary) - 64)
                binary[at : at + 16] = rng.randbytes(16)
            changelog += f"{version}: fixed issue #{rng.randint(1, 999)}\n".encode()
        path = directory / f"{name}-{version}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for member, data, method in (
                ("bin/app", bytes(binary), zipfile.ZIP_STORED),
                ("README.txt", readme, zipfile.ZIP_DEFLATED),
                ("VERSION", version.encode(), zipfile.ZIP_STORED),
                ("CHANGELOG", changelog, zipfile.ZIP_DEFLATED),
            ):
                info = zipfile.ZipInfo(member, date_time=_EPOCH)
                info.compress_type = method
                archive.writestr(info, data)
        paths.append(path)
    return paths


def wheel_like_zips(directory: Path, name: str, count: int, *, members: int = 4, seed: int = 3) -> list[Path]:
    """``count`` releases ``<name>-1.N.zip`` of deflated source files, as wheels are: each release
    edits a few lines of one member, so each member's deflate stream changes from the edit on."""
    rng = random.Random(seed)
    files = {
        f"pkg/mod{m}.py": "".join(
            f"def f_{m}_{i}(x):\n    return x * {rng.randint(1, 999)}\n" for i in range(1500)
        )
        for m in range(members)
    }
    paths = []
    for release in range(count):
        if release:
            member = f"pkg/mod{release % members}.py"
            lines = files[member].splitlines(keepends=True)
            for _ in range(3):
                at = rng.randrange(len(lines))
                lines[at] = f"    # changed in 1.{release}\n" + lines[at]
            files[member] = "".join(lines)
        path = directory / f"{name}-1.{release}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for member, text in files.items():
                info = zipfile.ZipInfo(member, date_time=_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, text)
        paths.append(path)
    return paths


def unrelated_file(path: Path, size: int = 400_000, seed: int = 99) -> Path:
    """Random bytes sharing nothing with any release: its delta is as large as the file."""
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def tar_gz(directory: Path, name: str, members: dict[str, bytes]) -> Path:
    """A .tar.gz made by ``tar -czf`` (GNU tar piping through gzip at its defaults), the way the
    original's xdelta3 binary expects when it recompresses. Needs tar and gzip on PATH."""
    if shutil.which("tar") is None or shutil.which("gzip") is None:
        raise RuntimeError("tar and gzip are needed to build a .tar.gz the way users do")
    source = directory / f".{name}-src"
    source.mkdir()
    for member, data in members.items():
        (source / member).write_bytes(data)
    out = directory / name
    subprocess.run(
        ["tar", "-czf", str(out), "--mtime=2024-01-01", "--sort=name", "-C", str(source), "."],
        check=True,
    )
    shutil.rmtree(source)
    return out
