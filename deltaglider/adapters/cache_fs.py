"""A content-addressed reference cache on disk, shared safely by threads and processes.

Entries are ``<root>/<sha[:2]>/<sha>-<origin tag>``: the file whose SHA-256 is ``sha``, fetched from
(or stored at) the origin whose digest is the tag, so that an entry is found only by the key it came
from as well as by its content (see ``ports.cache``). They are written to a temporary file, hashed as
they are written, and linked into place (never replaced once there). An entry is hashed again only
when this process has not yet seen it checked with its current identity (device, inode, size, and
the modification and change times in nanoseconds): at its first use when another process stored it,
or after it was changed in place, even with its modification time put back (the change time cannot
be). So a cached 1 GiB reference is not re-read by every download. Each use touches a stamp beside the
entry (``<entry>.used``), never the entry itself, whose times key that check. Entries are held under a
shared ``flock`` while in use; eviction takes an exclusive non-blocking lock, so an entry in use by
anyone is never removed. Least recently used entries go first once the size cap would be passed.

Anything at an entry's name that is not a regular file (a FIFO, a folder, a link, a socket) is
dropped without being opened, and the reference fetched again: opening a FIFO would wait forever.
The cache's own folders are made real folders again if something else took their names.

The folder must belong to the current user (mode 0700): a cache in a shared ``/tmp`` that someone else
created could feed us files. ``resolve_cache_dir`` falls back to ``/tmp/.deltaglider-<uid>/cache``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import secrets
import shutil
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
#: An entry's name; the bare SHA-256 is how entries were named before they carried their origin.
_ENTRY_RE: Final = re.compile(r"^[0-9a-f]{64}(-[0-9a-f]{32})?$")
_USED_SUFFIX: Final = ".used"
_TMP_DIR: Final = "tmp"
_STALE_TMP_SECONDS: Final = 3600
#: A scratch folder's name: ``scratch-<pid>-<random>``; one whose process is alive is never swept.
_SCRATCH_PREFIX: Final = "scratch-"
#: Opening with these never follows a link at the last component, nor waits for a FIFO's writer.
_NO_SURPRISES: Final = os.O_NOFOLLOW | os.O_NONBLOCK

_Identity = tuple[int, int, int, int, int]


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
    # The change time too: a rewrite in place can put the modification time back, not the change time.
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _alive(scratch_name: str) -> bool:
    """Whether the process that made the scratch folder of this name is alive (on this machine)."""
    try:
        pid = int(scratch_name.removeprefix(_SCRATCH_PREFIX).split("-", 1)[0])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _origin_tag(origin: str) -> str:
    return hashlib.sha256(origin.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _stamp(entry: Path) -> Path:
    return entry.with_name(entry.name + _USED_SUFFIX)


def _real_folder(path: Path) -> None:
    """Makes ``path`` a folder (0700) if it is not one: whatever else holds its name (a file, a link,
    a FIFO) is removed first. Raises OSError if that cannot be done."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            return
        path.unlink()
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        if not stat.S_ISDIR(os.lstat(path).st_mode):  # another process made something else there
            raise


def _readable_path(fd: int, path: Path) -> Path:
    """A name for the very file ``fd`` holds, where the system has one: hashing through it reads that
    file even if ``path`` was swapped for something else meanwhile."""
    by_fd = Path(f"/proc/self/fd/{fd}")
    return by_fd if by_fd.exists() else path


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
        try:
            self._root.mkdir(mode=0o700, parents=True, exist_ok=True)
            _real_folder(self._root / _TMP_DIR)
        except OSError as exc:
            raise CacheError(f"cache folder {self._root} cannot be used: {exc}") from exc

    @property
    def root(self) -> Path:
        return self._root

    def _path(self, sha256: str, origin: str) -> Path:
        if not _SHA_RE.match(sha256):
            raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
        return self._root / sha256[:2] / f"{sha256}-{_origin_tag(origin)}"

    def _is_verified(self, fd: int, path: Path, st: os.stat_result, sha256: str) -> bool:
        ident = _identity(st)
        if _CHECKED.matches(ident, sha256):
            return True
        if self._hasher.sha256_file(_readable_path(fd, path)) != sha256:
            return False
        if _identity(os.fstat(fd)) != ident:
            return False  # written to while it was hashed: what was hashed is not what is there
        _CHECKED.remember(ident, sha256)
        return True

    def _open_entry(self, path: Path) -> int | None:
        """A descriptor of the entry at ``path`` if it is a regular file in a real folder; None
        otherwise, dropping anything else found there without opening it."""
        try:
            if not stat.S_ISDIR(os.lstat(path.parent).st_mode):
                return None  # store() makes it a folder again
            st = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            self._drop_odd(path, st)
            return None
        try:
            fd = os.open(path, os.O_RDONLY | _NO_SURPRISES)
        except OSError:
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the lstat
            os.close(fd)
            return None
        return fd

    def _drop_odd(self, path: Path, st: os.stat_result) -> None:
        self._logger.warning("dropping a cache entry that is not a regular file", path=str(path))
        with suppress(OSError):
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(path)
            else:
                path.unlink()

    @contextmanager
    def use(self, sha256: str, *, origin: str) -> Iterator[Path | None]:
        path = self._path(sha256, origin)
        fd = self._open_entry(path)
        if fd is None:
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
            if not self._is_verified(fd, path, st, sha256):
                corrupt = True
                yield None
                return
            self._mark_used(path)
            yield path
        finally:
            os.close(fd)
            if corrupt:
                self._logger.warning("dropping a corrupt cache entry", path=str(path))
                self._remove_if_unused(path)

    def _mark_used(self, entry: Path) -> None:
        """Orders eviction. The entry's own times are left alone: they key the verification memo."""
        stamp = _stamp(entry)
        now = time.time_ns()
        with suppress(OSError):
            try:
                os.utime(stamp, ns=(now, now), follow_symlinks=False)
            except FileNotFoundError:
                os.close(os.open(stamp, os.O_WRONLY | os.O_CREAT | _NO_SURPRISES, 0o600))
                os.utime(stamp, ns=(now, now), follow_symlinks=False)

    def store(self, sha256: str, src: Path, *, origin: str) -> bool:
        path = self._path(sha256, origin)
        size = os.stat(src).st_size
        if size > self._max_bytes:
            self._logger.debug(
                "reference larger than the cache cap; not cached", size=size, cap=self._max_bytes
            )
            return False
        with self.use(sha256, origin=origin) as existing:
            if existing is not None:
                return True
        tmp = self._root / _TMP_DIR / f"{sha256}.{secrets.token_hex(6)}"
        try:
            _real_folder(tmp.parent)
            if self._hasher.copy_file(src, tmp) != sha256:
                self._logger.warning(
                    "not caching a file whose content does not match its SHA-256", src=str(src)
                )
                return False
            os.chmod(tmp, 0o600)
            made = os.stat(tmp)
            with self._writers_lock():
                self._make_room(size)
                _real_folder(path.parent)
                # link(), not rename(): an entry, once there, is never replaced under a reader's feet.
                with suppress(FileExistsError):
                    os.link(tmp, path)
            tmp.unlink()  # the entry's link count, and so its change time, is now final
            linked = os.stat(path, follow_symlinks=False)
            if (linked.st_dev, linked.st_ino) == (made.st_dev, made.st_ino):
                # Hashed just now as it was written: its first use need not read it again.
                _CHECKED.remember(_identity(linked), sha256)
            self._mark_used(path)
            return True
        except OSError as exc:
            self._logger.warning("could not write a cache entry; not cached", error=str(exc))
            return False
        finally:
            with suppress(OSError):
                tmp.unlink(missing_ok=True)

    @contextmanager
    def adopt(self, sha256: str, src: Path, *, origin: str) -> Iterator[Path]:
        path = self._path(sha256, origin)
        try:
            fd = os.open(src, os.O_RDONLY | _NO_SURPRISES)
        except OSError:
            yield src
            return
        try:
            # Held from before the entry exists: no eviction removes it while the caller reads it.
            fcntl.flock(fd, fcntl.LOCK_SH)
            entry = self._link_in(fd, src, path, sha256)
            if entry is None:
                yield src
                return
            self._mark_used(entry)
            yield entry
        finally:
            os.close(fd)

    def _link_in(self, fd: int, src: Path, path: Path, sha256: str) -> Path | None:
        """Links the file open as ``fd`` (at ``src``) to ``path`` and removes ``src``: the entry, or
        None when it is not taken (too large, an entry already there, another file system)."""
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > self._max_bytes:
            return None
        try:
            os.fchmod(fd, 0o600)
            with self._writers_lock():
                self._make_room(st.st_size)
                _real_folder(path.parent)
                os.link(src, path, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.EXDEV):
                self._logger.warning("could not adopt a cache entry; not cached", error=str(exc))
            return None
        linked = os.stat(path, follow_symlinks=False)
        if (linked.st_dev, linked.st_ino) != (st.st_dev, st.st_ino):
            return None
        with suppress(OSError):
            src.unlink()
        # Checked by the caller; its link count, and so its change time, final now that src is gone.
        _CHECKED.remember(_identity(os.fstat(fd)), sha256)
        return path

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        try:
            _real_folder(self._root / _TMP_DIR)
            folder = Path(
                tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-", dir=self._root / _TMP_DIR)
            )
        except OSError:
            # Unusable: whatever is made elsewhere is stored, not adopted (adopt leaves it in place).
            with tempfile.TemporaryDirectory(prefix=f"deltaglider-{os.getpid()}-") as elsewhere:
                yield Path(elsewhere)
            return
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def trim(self) -> None:
        """Evicts unused entries until the cache is within its cap (entries in use when a writer made
        room may have left it above)."""
        try:
            with self._writers_lock():
                self._make_room(0)
        except OSError as exc:
            self._logger.warning("could not trim the cache", error=str(exc))

    def clear(self) -> int:
        """Removes every entry not in use (an entry in use stays: its reader holds it), with its
        stamp; nothing in the folder but the cache's own entries is touched."""
        try:
            with self._writers_lock():
                return sum(self._remove_if_unused(path) for path, _, _ in self._entries())
        except OSError as exc:
            self._logger.warning("could not clear the cache", error=str(exc))
            return 0

    @contextmanager
    def _writers_lock(self) -> Iterator[None]:
        """Serialises making room and adding an entry across processes, so two writers do not both
        count the same free space."""
        fd = os.open(self._root / _TMP_DIR / ".writers.lock", os.O_RDWR | os.O_CREAT | _NO_SURPRISES, 0o600)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise CacheError(f"{self._root / _TMP_DIR / '.writers.lock'} is not a regular file")
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _entries(self) -> list[tuple[Path, int, int]]:
        """Every entry as (path, size, last use in ns); stamps whose entry is gone are removed."""
        found = []
        with os.scandir(self._root) as subs:
            folders = [sub for sub in subs if sub.is_dir(follow_symlinks=False)]
        for sub in folders:
            if sub.name == _TMP_DIR:
                self._sweep_tmp(Path(sub.path))
                continue
            if len(sub.name) != 2:
                continue
            with os.scandir(sub.path) as listing:
                items = {item.name: item for item in listing}
            for name, item in items.items():
                if name.endswith(_USED_SUFFIX):
                    if name.removesuffix(_USED_SUFFIX) not in items:
                        with suppress(OSError):
                            os.unlink(item.path)
                    continue
                if not _ENTRY_RE.match(name):
                    continue
                with suppress(OSError):
                    st = item.stat(follow_symlinks=False)
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    used = st.st_mtime_ns
                    stamp = items.get(name + _USED_SUFFIX)
                    if stamp is not None:
                        used = stamp.stat(follow_symlinks=False).st_mtime_ns
                    found.append((Path(item.path), st.st_size, used))
        return found

    def _sweep_tmp(self, folder: Path) -> None:
        """Temporary files left by a process that died mid-write."""
        cutoff = time.time() - _STALE_TMP_SECONDS
        with os.scandir(folder) as listing:
            entries = list(listing)
        for entry in entries:
            if entry.name.startswith("."):
                continue  # the writers' lock
            if entry.name.startswith(_SCRATCH_PREFIX) and _alive(entry.name):
                continue  # a long operation's scratch folder
            with suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if st.st_mtime < cutoff:
                    if stat.S_ISDIR(st.st_mode):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)

    def _make_room(self, incoming: int) -> None:
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        for path, size, _ in sorted(entries, key=lambda item: item[2]):
            if total + incoming <= self._max_bytes:
                return
            if self._remove_if_unused(path):
                total -= size

    def _remove_if_unused(self, path: Path) -> bool:
        try:
            fd = os.open(path, os.O_RDONLY | _NO_SURPRISES)
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
            with suppress(OSError):
                _stamp(path).unlink()
            return True
        except OSError:
            return False
        finally:
            os.close(fd)
