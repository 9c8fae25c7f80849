"""Scratch folders: one per operation, marked as ours and named after the process that made it, so
that what a killed process left behind can be told from what a live one is using, and from anything
else in the temporary folder.

A folder is ``<tmp>/deltaglider-scratch-<pid>-<random>`` holding a marker file, :data:`MARKER`, that
repeats its name, its process and the machine. It is removed when its operation ends; a process
killed mid-operation leaves it (a reference copy, a delta being made: up to the file's size). The
first scratch folder a process makes sweeps those of dead processes of the same user, and
``client.cleanup`` sweeps them too once older than its age limit.

A sweep goes by the marker, never by the name alone: other programs name their folders alike (the
original DeltaGlider's cache is ``<tmp>/deltaglider-<random>``, our demo's store
``<tmp>/deltaglider-demo-store-<random>``), and a folder that is not ours, or whose process is alive
or runs on another machine sharing the folder, is never removed.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Final

PREFIX: Final = "deltaglider-scratch-"
MARKER: Final = ".deltaglider-scratch"
_MARKER_TAG: Final = "deltaglider scratch folder"
#: A marker is a few dozen bytes; anything larger is not one.
_MARKER_MAX: Final = 4096

_swept_once = threading.Event()


def _host() -> str:
    return socket.gethostname()


def _marker_text(name: str, pid: int) -> str:
    return f"{_MARKER_TAG}\n{name}\n{pid}\n{_host()}\n"


def make() -> Path:
    """A new private scratch folder (and, the first time in this process, a sweep of dead ones)."""
    if not _swept_once.is_set():
        _swept_once.set()
        sweep(older_than=None)
    pid = os.getpid()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{pid}-"))
    fd = os.open(folder / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as marker:
        marker.write(_marker_text(folder.name, pid))
    return folder


@contextmanager
def temporary() -> Iterator[Path]:
    """A scratch folder for the length of a ``with`` block, removed afterwards."""
    path = make()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _read_marker(folder: str) -> str | None:
    """The marker's text, if the folder holds a small regular file by that name (never opened
    otherwise: a FIFO would wait for a writer)."""
    path = os.path.join(folder, MARKER)
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, _MARKER_MAX).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def _owner_pid(name: str, folder: str) -> int | None:
    """The pid of the process of this machine that made the folder, if it carries our marker for
    itself; None for anything else."""
    digits, _, rest = name[len(PREFIX) :].partition("-")
    if not digits.isdigit() or not rest:
        return None
    text = _read_marker(folder)
    if text is None or text != _marker_text(name, int(digits)):
        return None  # not ours, copied from another folder, or another machine's
    return int(digits)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def sweep(*, older_than: timedelta | None) -> list[str]:
    """Removes this user's scratch folders whose process is gone (with ``older_than``, only those
    unchanged for longer than that); returns the paths removed."""
    root = tempfile.gettempdir()
    cutoff = None if older_than is None else time.time() - older_than.total_seconds()
    removed: list[str] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        if cutoff is not None and st.st_mtime >= cutoff:
            continue
        pid = _owner_pid(entry.name, entry.path)
        # A live process's folder is never touched, however old: an operation on a large file is long.
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            removed.append(entry.path)
    return removed
