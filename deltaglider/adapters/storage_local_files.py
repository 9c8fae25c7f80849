"""File-level rules of the local store: no symbolic link followed, OS errors as the library's errors,
and the commit journal that makes an object and its metadata sidecar change together.

The journal, per object ``<folder>/<name>``, with ``M = <folder>/.dg-meta``:

* ``M/<name>.json`` is the committed metadata of the committed ``<folder>/<name>``.
* While a write of ``name`` is in flight, ``M/<name>.json.pending`` holds the new metadata and
  ``M/<name>.json.prev`` is a hard link to the old object (when there was one). The pending file is the
  marker: as long as it exists, the old pair is the truth.
* A commit, under the folder's exclusive lock: link the old object to ``prev``; rename the new metadata
  to ``pending``; rename the new object into place; rename ``pending`` onto ``<name>.json`` (the commit
  point); remove ``prev``.
* Whoever next touches ``name`` and finds ``pending`` (a writer died, even by kill -9, between the
  renames) rolls back first, under the exclusive lock: ``prev`` goes back into place (or the new object
  is removed if there was none) and ``pending`` is removed. A failed rename rolls back the same way at
  once. So a reader sees the old pair or the new pair, never the new object with the old metadata.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Final

from deltaglider.errors import AccessDeniedError, DeltaGliderError, NotFoundError, StorageError
from deltaglider.ports.storage import ProgressCallback

META_DIR: Final = ".dg-meta"
LOCK_NAME: Final = ".lock"
SIDECAR: Final = ".json"
PENDING: Final = ".json.pending"
PREV: Final = ".json.prev"
#: Staged data (``.tmp-<hex>``) and metadata (``.tmp-<hex>.meta``) of a write in flight.
TEMP_RE: Final = re.compile(r"^\.tmp-[0-9a-f]{16}(\.meta)?$")
#: The sidecar entry holding the object's version token, its ETag (never returned as metadata): a new
#: random token per write, so that a conditional write or delete can tell one version from the next.
VERSION_KEY: Final = "x-dg-version"
#: A download's temporary file beside its destination (``core.output``).
PART_RE: Final = re.compile(r"^\..+\.[0-9a-f]{12}\.dg-part$")
_CHUNK: Final = 1 << 20
_NOFOLLOW: Final = os.O_NOFOLLOW | os.O_CLOEXEC


def _as_ours(error: DeltaGliderError, exc: OSError) -> DeltaGliderError:
    # The OS error (errno, filename) stays reachable as __cause__; setting errno here would make
    # OSError.__str__ replace our message with "[Errno n] None".
    del exc
    return error


@contextmanager
def os_errors(what: str) -> Iterator[None]:
    """Turns OS errors into the storage port's errors, keeping the original as the cause."""
    try:
        yield
    except DeltaGliderError:
        raise
    except FileNotFoundError as exc:
        raise _as_ours(NotFoundError(f"{what}: not found ({exc.filename})"), exc) from exc
    except PermissionError as exc:
        raise _as_ours(AccessDeniedError(f"{what}: permission denied ({exc.filename})"), exc) from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _as_ours(refuse_link(what, exc.filename), exc) from exc
        raise _as_ours(StorageError(f"{what}: {exc}"), exc) from exc


def refuse_link(what: str, path: object) -> AccessDeniedError:
    return AccessDeniedError(
        f"{what}: {path} is a symbolic link; the store never follows links, so that nothing it reads "
        "or writes can lie outside it"
    )


def check_inside(root_real: str, folder: Path, what: str) -> None:
    """Refuses a folder that resolves (through a symbolic link) to somewhere outside the store."""
    if root_real == "/":
        return
    real = os.path.realpath(folder)
    if real != root_real and not real.startswith(root_real + "/"):
        raise AccessDeniedError(
            f"{what}: {folder} leads to {real}, outside the store {root_real} (a symbolic link); "
            "refusing to follow it"
        )


def lstat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def meta_dir(folder: Path, *, create: bool) -> Path:
    """``<folder>/.dg-meta``, which must be a real folder (a planted link would redirect every
    sidecar and temporary file). Raises FileNotFoundError when it is absent and not to be created."""
    path = folder / META_DIR
    if create:
        path.mkdir(parents=True, exist_ok=True)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise refuse_link("metadata folder", path)
    if not stat.S_ISDIR(st.st_mode):
        raise StorageError(f"{path} should be the store's metadata folder but is not a folder")
    return path


@contextmanager
def locked(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """The folder's lock: writers take it exclusive, readers shared. A folder this store never wrote
    to has no lock file, and nothing there to keep consistent."""
    if exclusive:
        fd = os.open(meta_dir(folder, create=True) / LOCK_NAME, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
    else:
        try:
            fd = os.open(meta_dir(folder, create=False) / LOCK_NAME, os.O_RDONLY | _NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            yield
            return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def read_meta(folder: Path, name: str) -> dict[str, str]:
    sidecar = folder / META_DIR / (name + SIDECAR)
    try:
        fd = os.open(sidecar, os.O_RDONLY | _NOFOLLOW)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    with os.fdopen(fd, encoding="utf-8") as f:
        raw = f.read()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise StorageError(f"corrupt metadata sidecar {sidecar}: {exc}") from exc
    if not isinstance(data, dict):
        raise StorageError(f"corrupt metadata sidecar {sidecar}: not an object")
    return {str(k).lower(): str(v) for k, v in data.items()}


def open_object(path: Path) -> int:
    """A read descriptor on a stored object, refusing a symbolic link in its place."""
    return os.open(path, os.O_RDONLY | _NOFOLLOW)


def copy_into(fin: int, dest: Path, progress: ProgressCallback | None, *, new: bool) -> None:
    """Copies from descriptor ``fin`` into ``dest``: a file created here if ``new``, else the caller's
    own (a temporary path it made); never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | (os.O_EXCL if new else os.O_TRUNC)
    fd = os.open(dest, flags, 0o666)
    with os.fdopen(fd, "wb") as fout:
        while chunk := os.read(fin, _CHUNK):
            fout.write(chunk)
            if progress is not None:
                progress(len(chunk))


@contextmanager
def staged(meta: Path, metadata: Mapping[str, str]) -> Iterator[tuple[Path, Path]]:
    """A temporary data path and a written metadata file in ``.dg-meta`` (the object's filesystem, so
    the commit is a rename); whatever was not renamed into place is removed on the way out."""
    token = secrets.token_hex(8)
    data_tmp = meta / f".tmp-{token}"
    meta_tmp = meta / f".tmp-{token}.meta"
    try:
        fd = os.open(meta_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({k.lower(): v for k, v in metadata.items()}, f, sort_keys=True)
        yield data_tmp, meta_tmp
    finally:
        data_tmp.unlink(missing_ok=True)
        meta_tmp.unlink(missing_ok=True)


def recover(folder: Path, name: str) -> bool:
    """Rolls back a write of ``name`` that did not finish (see the module doc). The caller holds the
    folder's exclusive lock. True if there was one."""
    meta = folder / META_DIR
    pending, prev = meta / (name + PENDING), meta / (name + PREV)
    if lstat_or_none(pending) is not None:
        if lstat_or_none(prev) is not None:
            os.replace(prev, folder / name)
        else:
            (folder / name).unlink(missing_ok=True)
        pending.unlink()
        return True
    prev.unlink(missing_ok=True)
    return False


def needs_recovery(folder: Path, name: str) -> bool:
    return lstat_or_none(folder / META_DIR / (name + PENDING)) is not None


def check_replaceable(path: Path, what: str) -> os.stat_result | None:
    """What is at ``path`` now (None if nothing), refusing anything but a regular file: a link, a
    folder, and a device node, FIFO or socket, which are not objects and never ours to replace."""
    st = lstat_or_none(path)
    if st is None or stat.S_ISREG(st.st_mode):
        return st
    if stat.S_ISLNK(st.st_mode):
        raise refuse_link(what, path)
    if stat.S_ISDIR(st.st_mode):
        raise StorageError(f"{what}: {path} is a folder")
    raise StorageError(
        f"{what}: {path} is a {special_kind(st)}, not a stored object; the store never replaces or removes it"
    )


def special_kind(st: os.stat_result) -> str:
    """What a file that is neither regular, a folder nor a link is, in words."""
    if stat.S_ISFIFO(st.st_mode):
        return "FIFO"
    if stat.S_ISSOCK(st.st_mode):
        return "socket"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return "device node"
    return "special file"


def version_of(st: os.stat_result, meta: Mapping[str, str]) -> str:
    """The object's ETag: the version token its sidecar records (see ``VERSION_KEY``), or, for an
    object placed by hand or by an older version, one made of its inode and times."""
    token = meta.get(VERSION_KEY)
    if token:
        return token
    return f"stat-{st.st_dev:x}-{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_ctime_ns:x}-{st.st_size:x}"


def commit(
    folder: Path, name: str, data_tmp: Path, meta_tmp: Path, *, if_absent: bool, if_match: str | None = None
) -> bool:
    """Puts ``data_tmp`` in place as ``<folder>/<name>`` with the metadata in ``meta_tmp``, by the
    journal of the module doc. The caller holds the exclusive lock and has run ``recover``. With
    ``if_absent``, returns False (changing nothing) when an object is already there; with
    ``if_match``, when the object there is not that version (or there is none)."""
    path = folder / name
    meta = folder / META_DIR
    pending, prev = meta / (name + PENDING), meta / (name + PREV)
    existing = check_replaceable(path, f"put {path}")
    if if_absent and existing is not None:
        return False
    if if_match is not None and (
        existing is None or version_of(existing, read_meta(folder, name)) != if_match
    ):
        return False
    if existing is not None:
        os.link(path, prev, follow_symlinks=False)
    os.replace(meta_tmp, pending)
    try:
        if if_absent:
            try:
                os.link(data_tmp, path)
            except FileExistsError:
                # Someone outside this store's lock made it meanwhile: theirs stays.
                pending.unlink(missing_ok=True)
                return False
        else:
            os.replace(data_tmp, path)
        os.replace(pending, meta / (name + SIDECAR))
    except BaseException:
        with suppress(OSError):
            recover(folder, name)
        raise
    prev.unlink(missing_ok=True)
    return True
