"""A private copy of the file being uploaded, so that what is hashed is exactly what is stored.

The copy is hashed as it is made (one read of the user's file, in bounded chunks).

Every later step (sniffing, encoding, the reference upload, a whole upload) reads the copy, never the
user's file: a file rewritten while it uploads cannot leave an object that fails its SHA-256. A change
*during* the copy would give a copy mixing old and new bytes; it is detected by comparing the file's
identity (device, inode, size, mtime and ctime in nanoseconds) before and after, and refused. A write
that changes none of those (same size, within one tick of the file system's clock) cannot be seen.
"""

from __future__ import annotations

import os
from pathlib import Path

from deltaglider.errors import FileChangedError, NotFoundError
from deltaglider.ports.hash import HashPort


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _stat(file: Path) -> os.stat_result:
    try:
        st = file.stat()
    except FileNotFoundError:
        raise NotFoundError(f"local file {file} does not exist") from None
    if not file.is_file():
        raise NotFoundError(f"{file} is not a regular file")
    return st


def _copy(hasher: HashPort, src: Path, dest: Path) -> str:
    return hasher.copy_file(src, dest)


def take(file: Path, dest: Path, hasher: HashPort) -> tuple[int, str]:
    """Copies ``file`` to ``dest`` (a scratch path) and returns the copy's size and SHA-256;
    ``FileChangedError`` if the file changed while it was copied."""
    before = _stat(file)
    sha256 = _copy(hasher, file, dest)
    after = _stat(file)
    copied = dest.stat().st_size
    if _identity(before) != _identity(after) or copied != after.st_size:
        dest.unlink(missing_ok=True)
        raise FileChangedError(f"{file} changed while it was being read; nothing was stored, upload it again")
    return copied, sha256
