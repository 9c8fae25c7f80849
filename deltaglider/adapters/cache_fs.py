"""A content-addressed reference cache on disk, shared safely by threads and processes.

Entries are ``<root>/<sha[:2]>/<sha>``, each the file whose SHA-256 is its name. They are written to a
temporary file, hashed as they are written, and linked into place (never replaced once there). An entry
is hashed again only when this process has not yet seen it checked with its current identity (device,
inode, size, mtime in nanoseconds): at its first use when another process stored it, or after it was
changed in place. So a cached 1 GiB reference is not re-read by every download. Entries are held under
a shared ``flock`` while in use; eviction takes an exclusive non-blocking lock, so an entry in use by
anyone is never removed. Least recently used entries go first once the size cap would be passed.

The folder must belong to the current user (mode 0700): a cache in a shared ``/tmp`` that someone else
created could feed us files. ``resolve_cache_dir`` falls back to ``/tmp/.deltaglider-<uid>/cache``.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Final

from deltaglider.errors import CacheError
from deltaglider.ports.hash import HashPort
from deltaglider.ports.logger import LoggerPort

_SHA_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_TMP_DIR: Final = "tmp"
_STALE_TMP_SECONDS: Final = 3600

_Identity = tuple[int, int, int, int]


class _CheckedFiles:
    """Which file identities this process has seen hash to which SHA-256: shared by every cache
    instance, since clients are often made per call or per thread."""

    def __init__(self) -> None:
        self._known: dict[_Identity, str] = {}
        self._lock = threading.Lock()

    def matches(self, ident: _Identity, sha256: str) -> bool:
        with self._lock:
            return self._known.get(ident) == sha256

    def remember(self, ident: _Identity, sha256: str) -> None:
        with self._lock:
            self._known[ident] = sha256


_CHECKED: Final = _CheckedFiles()


def _identity(st: os.stat_result) -> _Identity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _usable_private_dir(path: Path) -> bool:
    """Creates ``path`` (0700) if needed; True if it is a real folder owned by us whose parent is ours or
    root's (so nobody else can swap it)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
        parent = os.stat(path.parent)
    except OSError:
        return False
    uid = os.getuid()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or parent.st_uid not in (uid, 0):
        return False
    if stat.S_IMODE(st.st_mode) != 0o700:
        try:
            os.chmod(path, 0o700)
        except OSError:
            return False
    return os.access(path, os.W_OK | os.X_OK)


def fallback_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f".deltaglider-{os.getuid()}" / "cache"


def resolve_cache_dir(requested: str | os.PathLike[str], logger: LoggerPort) -> Path:
    """``requested`` if it is (or can be made) a private folder of ours, else the per-user fallback."""
    path = Path(os.path.abspath(os.path.expanduser(os.fspath(requested))))
    if _usable_private_dir(path):
        return path
    fallback = fallback_cache_dir()
    if not _usable_private_dir(fallback.parent) or not _usable_private_dir(fallback):
        raise CacheError(
            f"neither {path} nor {fallback} can be used as a private cache folder; set DG_CACHE_DIR or "
            "cache_dir to a folder you own"
        )
    logger.warning(
        "cache folder belongs to another user or is not usable; using a per-user one instead",
        requested=str(path),
        using=str(fallback),
    )
    return fallback


class FsCache:
    def __init__(self, root: Path, *, max_bytes: int, hasher: HashPort, logger: LoggerPort) -> None:
        self._root = Path(root)
        self._max_bytes = max_bytes
        self._hasher = hasher
        self._logger = logger
        (self._root / _TMP_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)

    @property
    def root(self) -> Path:
        return self._root

    def _path(self, sha256: str) -> Path:
        if not _SHA_RE.match(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self._root / sha256[:2] / sha256

    def _is_verified(self, path: Path, st: os.stat_result, sha256: str) -> bool:
        ident = _identity(st)
        if _CHECKED.matches(ident, sha256):
            return True
        if self._hasher.sha256_file(path) != sha256:
            return False
        _CHECKED.remember(ident, sha256)
        return True

    @contextmanager
    def use(self, sha256: str) -> Iterator[Path | None]:
        path = self._path(sha256)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            yield None
            return
        corrupt = False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            st = os.fstat(fd)
            try:
                current = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                current = None
            # Evicted or replaced between open() and flock(): what we hold is not the entry any more.
            if current is None or (current.st_dev, current.st_ino) != (st.st_dev, st.st_ino):
                yield None
                return
            if not self._is_verified(path, st, sha256):
                corrupt = True
                yield None
                return
            # The access time orders eviction; mtime is left alone (it keys the verification memo).
            with suppress(OSError):
                os.utime(path, ns=(time.time_ns(), st.st_mtime_ns))
            yield path
        finally:
            os.close(fd)
            if corrupt:
                self._logger.warning("dropping a corrupt cache entry", path=str(path))
                self._remove_if_unused(path)

    def store(self, sha256: str, src: Path) -> bool:
        path = self._path(sha256)
        size = os.stat(src).st_size
        if size > self._max_bytes:
            self._logger.debug(
                "reference larger than the cache cap; not cached", size=size, cap=self._max_bytes
            )
            return False
        with self.use(sha256) as existing:
            if existing is not None:
                return True
        tmp = self._root / _TMP_DIR / f"{sha256}.{secrets.token_hex(6)}"
        try:
            if self._hasher.copy_file(src, tmp) != sha256:
                self._logger.warning(
                    "not caching a file whose content does not match its SHA-256", src=str(src)
                )
                return False
            os.chmod(tmp, 0o600)
            # Hashed just now as it was written: its first use need not read it again.
            _CHECKED.remember(_identity(os.stat(tmp)), sha256)
            with self._writers_lock():
                self._make_room(size)
                path.parent.mkdir(mode=0o700, exist_ok=True)
                # link(), not rename(): an entry, once there, is never replaced under a reader's feet.
                with suppress(FileExistsError):
                    os.link(tmp, path)
            return True
        except OSError as exc:
            self._logger.warning("could not write a cache entry", error=str(exc))
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def trim(self) -> None:
        """Evicts unused entries until the cache is within its cap (entries in use when a writer made
        room may have left it above)."""
        with self._writers_lock():
            self._make_room(0)

    @contextmanager
    def _writers_lock(self) -> Iterator[None]:
        """Serialises making room and adding an entry across processes, so two writers do not both
        count the same free space."""
        fd = os.open(self._root / _TMP_DIR / ".writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _entries(self) -> list[tuple[Path, os.stat_result]]:
        found = []
        for sub in self._root.iterdir():
            if sub.name == _TMP_DIR:
                self._sweep_tmp(sub)
                continue
            if not sub.is_dir():
                continue
            for entry in sub.iterdir():
                with suppress(OSError):
                    found.append((entry, entry.stat(follow_symlinks=False)))
        return found

    def _sweep_tmp(self, folder: Path) -> None:
        """Temporary files left by a process that died mid-write."""
        cutoff = time.time() - _STALE_TMP_SECONDS
        for entry in folder.iterdir():
            if entry.name.startswith("."):
                continue  # the writers' lock
            with suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()

    def _make_room(self, incoming: int) -> None:
        entries = self._entries()
        total = sum(st.st_size for _, st in entries)
        for path, st in sorted(entries, key=lambda item: item[1].st_atime_ns):
            if total + incoming <= self._max_bytes:
                return
            if self._remove_if_unused(path):
                total -= st.st_size

    def _remove_if_unused(self, path: Path) -> bool:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False  # in use by someone
        try:
            # Still the entry we locked? (Otherwise someone removed it and another took its name.)
            if os.stat(path, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
                return False
            path.unlink()
            return True
        except OSError:
            return False
        finally:
            os.close(fd)
