"""Write beside, rename on success: a file appears at its final path complete, or not at all.

The bytes go to a fresh temporary file in the destination's own folder (so the final rename stays on
one file system and is atomic); it is renamed over the destination when the ``with`` block ends
normally and removed when it ends with any exception. Every temporary has the name
``.<name>.<12 hex digits>.dg-part``, whoever wrote it, so one pattern finds what a killed process
left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias

StrPath: TypeAlias = str | os.PathLike[str]
#: Turns an OSError and what was being done ("cannot create the output file", ...) into the caller's
#: own exception.
ErrorMapper: TypeAlias = Callable[[OSError, str], BaseException]

PART_SUFFIX: Final = ".dg-part"
CREATE_FAILED: Final = "cannot create the output file"
WRITE_FAILED: Final = "cannot write the output file"
RENAME_FAILED: Final = "cannot rename the output into place"

# O_EXCL: never write through a file or link someone planted under the temporary name. 0o666 so
# that the umask decides the final mode, as for any other file the user creates (mkstemp's 0600
# would surprise them).
_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_MODE: Final = 0o666
_ATTEMPTS: Final = 100


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


def _discard(part: Part) -> None:
    with contextlib.suppress(OSError):
        part.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(part.path)


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
    if make_parents:
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise error(exc, CREATE_FAILED) from exc
    part = _create(final, error)
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
    try:
        os.replace(part.path, final)
    except OSError as exc:
        _discard(part)
        raise error(exc, RENAME_FAILED) from exc
