"""Scratch folders: one per operation, named after the process that made it, so that what a killed
process left behind can be told from what a live one is using.

A folder is ``<tmp>/deltaglider-<pid>-<random>``. It is removed when its operation ends; a process
killed mid-operation leaves it (a reference copy, a delta being made: up to the file's size). The
first scratch folder a process makes sweeps those of dead processes of the same user, and
``client.cleanup`` sweeps them too, and those that name no process once older than its age limit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Final

PREFIX: Final = "deltaglider-"

_swept_once = threading.Event()


def make() -> Path:
    """A new private scratch folder (and, the first time in this process, a sweep of dead ones)."""
    if not _swept_once.is_set():
        _swept_once.set()
        sweep(older_than=None)
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))


def _pid_of(name: str) -> int | None:
    digits, _, rest = name[len(PREFIX) :].partition("-")
    return int(digits) if digits.isdigit() and rest else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def sweep(*, older_than: timedelta | None) -> list[str]:
    """Removes this user's scratch folders whose process is gone, and, with ``older_than``, those
    older than that; returns the paths removed."""
    root = tempfile.gettempdir()
    cutoff = None if older_than is None else time.time() - older_than.total_seconds()
    removed: list[str] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX) or entry.name.startswith(f"{PREFIX}{os.getpid()}-"):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not entry.is_dir(follow_symlinks=False) or st.st_uid != os.getuid():
                continue
        except OSError:
            continue
        pid = _pid_of(entry.name)
        # A live process's folder is never touched, however old: an operation on a large file is long.
        # The age limit is for folders that name no process (made by older versions).
        stale = not _alive(pid) if pid is not None else cutoff is not None and st.st_mtime < cutoff
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            if not os.path.exists(entry.path):
                removed.append(entry.path)
    return removed
