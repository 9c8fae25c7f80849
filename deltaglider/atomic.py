"""Write beside, rename on success: a file appears at its final path complete, or not at all.

The bytes go to a fresh temporary file in the destination's own folder (so the final rename stays on
one file system and is atomic); it is renamed over the destination when the ``with`` block ends
normally and removed when it ends with any exception. Every temporary has the name
``.<name>.<12 hex digits>.dg-part``, whoever wrote it, so one pattern finds what a killed process
left behind.

A write beside a file that is itself the temporary file of a write beside still under way (a codec
writing the file a download's temporary file stands for) writes into that temporary file directly:
it is already beside its destination, hidden, and removed if anything fails, so a second temporary
file and a second rename would add nothing but a copy of its name.

A destination that is a FIFO or a device (``/dev/null``, a pipe a reader waits on, or a symbolic
link to one, as ``/dev/stdout`` is) is not a file to replace: renaming over ``/dev/null`` as root
would break every program on the machine. :func:`write_output` writes into it instead, once the
block succeeded, from a temporary file kept elsewhere (nothing is created beside a device). A link
to a regular file, or to nothing, is replaced like any file, its target untouched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias

StrPath: TypeAlias = str | os.PathLike[str]
#: Turns an OSError and what was being done ("cannot create the output file", ...) into the caller's
#: own exception.
ErrorMapper: TypeAlias = Callable[[OSError, str], BaseException]
#: Makes a private folder for the bytes bound for a FIFO or device, removed when the context ends.
Spool: TypeAlias = Callable[[], AbstractContextManager[Path]]

PART_SUFFIX: Final = ".dg-part"
CREATE_FAILED: Final = "cannot create the output file"
WRITE_FAILED: Final = "cannot write the output file"
RENAME_FAILED: Final = "cannot rename the output into place"
OPEN_FAILED: Final = "cannot open the output FIFO or device"
WRITE_INTO_FAILED: Final = "cannot write into the output FIFO or device"

# O_EXCL: never write through a file or link someone planted under the temporary name. 0o666 so
# that the umask decides the final mode, as for any other file the user creates (mkstemp's 0600
# would surprise them).
_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_MODE: Final = 0o666
_ATTEMPTS: Final = 100
# No O_CREAT: what is written into must already exist; no O_TRUNC: a device or FIFO has nothing to
# truncate, and a regular file that took its place meanwhile is refused, not cut.
_INTO_FLAGS: Final = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
_CHUNK: Final = 1 << 20
#: Rewriting a temporary file in place: never through a link, nor waiting for a FIFO's reader.
_REWRITE_FLAGS: Final = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_TRUNC
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_BINARY", 0)
)


class _LiveParts:
    """The temporary files of the writes under way in this process, by absolute path."""

    def __init__(self) -> None:
        self._paths: set[Path] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def holding(self, path: Path) -> Iterator[None]:
        with self._lock:
            self._paths.add(path)
        try:
            yield
        finally:
            with self._lock:
                self._paths.discard(path)

    def __contains__(self, path: Path) -> bool:
        with self._lock:
            return path in self._paths


_LIVE: Final = _LiveParts()


@dataclass
class Part:
    """The temporary file: its path, and a descriptor open for writing until :meth:`close`."""

    path: Path
    fd: int
    closed: bool = False

    def close(self) -> None:
        """Closes the descriptor, once: its number may belong to another file afterwards."""
        if not self.closed:
            self.closed = True
            os.close(self.fd)


def part_path(dest: Path) -> Path:
    """A fresh temporary name beside ``dest`` (the name is kept short enough for any file system)."""
    return dest.parent / f".{dest.name[:100]}.{secrets.token_hex(6)}{PART_SUFFIX}"


def _reraise(exc: OSError) -> BaseException:
    return exc


def _create(dest: Path, error: ErrorMapper) -> Part:
    for _ in range(_ATTEMPTS):
        path = part_path(dest)
        try:
            return Part(path, os.open(path, _FLAGS, _MODE))
        except FileExistsError:
            continue
        except OSError as exc:
            raise error(exc, CREATE_FAILED) from exc
    clash = FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(dest))
    raise error(clash, CREATE_FAILED) from clash


def _is_special(mode: int) -> bool:
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def is_special(path: StrPath) -> bool:
    """True when ``path`` exists and is, or links to, something other than a regular file or a folder:
    a FIFO, a device, a socket. Such a destination is written into, never replaced."""
    try:
        return _is_special(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def _discard(part: Part) -> None:
    with contextlib.suppress(OSError):
        part.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(part.path)


@contextlib.contextmanager
def _written(name: Path, error: ErrorMapper) -> Iterator[Part]:
    """A new temporary file named after ``name``, in its folder: closed when the block succeeds,
    removed when it fails."""
    part = _create(name, error)
    try:
        with _LIVE.holding(Path(os.path.abspath(part.path))):
            yield part
    except BaseException:
        _discard(part)
        raise
    try:
        part.close()
    except OSError as exc:
        _discard(part)
        raise error(exc, WRITE_FAILED) from exc


@contextlib.contextmanager
def write_beside(
    dest: StrPath,
    *,
    error: ErrorMapper = lambda exc, _what: _reraise(exc),
    make_parents: bool = False,
) -> Iterator[Part]:
    """Yields a new, empty temporary file beside ``dest``; renames it to ``dest`` on success.

    The block may close the descriptor itself (``part.close()``) and reopen the path.

    ``error`` maps a failure to create, close or rename the file to the exception raised (by default
    the ``OSError`` itself). ``make_parents`` creates ``dest``'s missing folders first. No fsync: the
    rename publishes a complete file to other processes; surviving a power cut costs a full flush per
    file and is the caller's choice.
    """
    final = Path(os.path.abspath(os.fsdecode(dest)))
    if final in _LIVE:
        with _rewritten(final, error) as part:
            yield part
        return
    if make_parents:
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise error(exc, CREATE_FAILED) from exc
    with _written(final, error) as part:
        yield part
    try:
        _refuse_special(final)
        os.replace(part.path, final)
    except OSError as exc:
        _discard(part)
        raise error(exc, RENAME_FAILED) from exc


@contextlib.contextmanager
def _rewritten(part_path: Path, error: ErrorMapper) -> Iterator[Part]:
    """The temporary file of a write under way, emptied, to be written in place (module doc); removed
    if the block fails, as the write it belongs to would remove it."""
    try:
        fd = os.open(part_path, _REWRITE_FLAGS, _MODE)
    except OSError as exc:
        raise error(exc, CREATE_FAILED) from exc
    part = Part(part_path, fd)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        part.close()  # not ours: left where it is
        odd = FileExistsError(errno.EEXIST, "not a regular file", str(part_path))
        raise error(odd, CREATE_FAILED) from odd
    try:
        yield part
    except BaseException:
        _discard(part)
        raise
    try:
        part.close()
    except OSError as exc:
        _discard(part)
        raise error(exc, WRITE_FAILED) from exc


def _refuse_special(final: Path) -> None:
    """A FIFO or device that took the destination's name while the file was written is not renamed
    over (a symbolic link is: replacing the link never touches its target)."""
    try:
        mode = os.lstat(final).st_mode
    except FileNotFoundError:
        return
    if _is_special(mode):
        raise FileExistsError(errno.EEXIST, "a FIFO or device has this name; it is not replaced", str(final))


def copy_into(src: StrPath, fd: int) -> int:
    """Copies the file ``src`` to the open descriptor ``fd`` (a FIFO, a device, standard output) from
    its current position; returns the bytes written."""
    total = 0
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(src, "rb", buffering=0) as fin:
        while n := fin.readinto(buf):
            chunk = view[:n]
            while chunk:
                chunk = chunk[os.write(fd, chunk) :]
            total += n
    return total


def _open_into(final: Path) -> int:
    fd = os.open(final, _INTO_FLAGS)
    if stat.S_ISREG(os.fstat(fd).st_mode):
        # Replaced by a regular file since it was looked at: writing into it would leave old bytes
        # past the new ones.
        os.close(fd)
        raise FileExistsError(errno.EEXIST, "a regular file took the FIFO's or device's place", str(final))
    return fd


def _private_spool() -> AbstractContextManager[str]:
    # Named as core.scratch names its folders, so that one a killed process left is swept with them.
    return tempfile.TemporaryDirectory(prefix=f"deltaglider-{os.getpid()}-")


@contextlib.contextmanager
def write_into(
    dest: StrPath,
    *,
    error: ErrorMapper = lambda exc, _what: _reraise(exc),
    spool: Spool | None = None,
) -> Iterator[Part]:
    """Yields a new, empty temporary file in a private folder (``spool()``, else one in the system's
    temporary folder); when the block succeeds, copies it into ``dest``, an existing FIFO or device,
    and removes it. ``dest`` is opened for writing only then (a FIFO's reader sees nothing of a
    failed block), and never created, truncated, renamed over or removed. ``error`` as for
    :func:`write_beside`."""
    final = Path(os.path.abspath(os.fsdecode(dest)))
    with contextlib.ExitStack() as stack:
        if spool is not None:
            folder = stack.enter_context(spool())
        else:
            folder = Path(stack.enter_context(_private_spool()))
        with _written(folder / (final.name or "output"), error) as part:
            yield part
        try:
            try:
                fd = _open_into(final)
            except OSError as exc:
                raise error(exc, OPEN_FAILED) from exc
            try:
                copy_into(part.path, fd)
            except OSError as exc:
                raise error(exc, WRITE_INTO_FAILED) from exc
            finally:
                os.close(fd)
        finally:
            _discard(part)


def write_output(
    dest: StrPath,
    *,
    error: ErrorMapper = lambda exc, _what: _reraise(exc),
    make_parents: bool = False,
    spool: Spool | None = None,
) -> AbstractContextManager[Part]:
    """:func:`write_into` for a destination that is (or links to) a FIFO or device, else
    :func:`write_beside`; the arguments as theirs."""
    if is_special(dest):
        return write_into(dest, error=error, spool=spool)
    return write_beside(dest, error=error, make_parents=make_parents)
