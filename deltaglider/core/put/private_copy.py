"""A private copy of the file being uploaded, so that what is hashed is exactly what is stored.

The copy is hashed as it is made (one read of the user's file, in bounded chunks).

Every later step (sniffing, encoding, the reference upload, a whole upload) reads the copy, never the
user's file: a file rewritten while it uploads cannot leave an object that fails its SHA-256. A change
*during* the copy would give a copy mixing old and new bytes; it is detected by comparing the file's
identity (device, inode, size, mtime and ctime in nanoseconds) before and after, and refused. A write
that changes none of those (same size, within one tick of the file system's clock) cannot be seen.

A pipe or a terminal (``cp - s3://...`` reads standard input) is a stream, not a file: it is read
once to its end, and the copy is what was read; it has no identity to compare.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from deltaglider.errors import AccessDeniedError, FileChangedError, NotFoundError, StorageError
from deltaglider.ports.hash import HashPort
from deltaglider.ports.storage import ProgressCallback


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _unreadable(file: Path, exc: OSError) -> Exception:
    if isinstance(exc, PermissionError):
        return AccessDeniedError(f"cannot read {file}: permission denied")
    return StorageError(f"cannot read {file}: {exc.strerror or exc}")


def _stat(file: Path) -> os.stat_result:
    try:
        st = file.stat()
    except FileNotFoundError:
        raise NotFoundError(f"local file {file} does not exist") from None
    except OSError as exc:
        raise _unreadable(file, exc) from exc
    if not (stat.S_ISREG(st.st_mode) or _is_stream(st)):
        raise NotFoundError(f"{file} is not a regular file, a pipe or a terminal")
    return st


def _is_stream(st: os.stat_result) -> bool:
    return stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)


def _copy(hasher: HashPort, src: Path, dest: Path, progress: ProgressCallback | None) -> str:
    try:
        return hasher.copy_file(src, dest, progress)
    except OSError as exc:
        dest.unlink(missing_ok=True)
        if exc.filename is None or os.fsdecode(exc.filename) != os.fsdecode(src):
            raise  # the scratch side (a full disk...), not the user's file
        raise _unreadable(src, exc) from exc


def take(
    file: Path, dest: Path, hasher: HashPort, progress: ProgressCallback | None = None
) -> tuple[int, str]:
    """Copies ``file`` to ``dest`` (a scratch path) and returns the copy's size and SHA-256;
    ``FileChangedError`` if the file changed while it was copied, ``AccessDeniedError`` if it may
    not be read. A pipe or terminal is read once, to its end. ``progress`` gets the bytes read: an
    upload's progress is the user's file read, whatever is then stored."""
    before = _stat(file)
    sha256 = _copy(hasher, file, dest, progress)
    copied = dest.stat().st_size
    if _is_stream(before):
        return copied, sha256
    after = _stat(file)
    if _identity(before) != _identity(after) or copied != after.st_size:
        dest.unlink(missing_ok=True)
        raise FileChangedError(f"{file} changed while it was being read; nothing was stored, upload it again")
    return copied, sha256
