"""Scratch folders carry a marker naming their process: a killed one's are swept, a live one's never,
and nothing this library did not make and mark is ever touched, whatever its name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from deltaglider.core import scratch
from deltaglider.factory import create_client

#: Makes scratch folders, says where, and then waits for stdin to close or dies on the spot.
_CHILD = """
import os, sys, tempfile
tempfile.tempdir = sys.argv[1]
from deltaglider.core import scratch
for _ in range(int(sys.argv[3])):
    print(scratch.make(), flush=True)
if sys.argv[2] == "wait":
    sys.stdin.read()
os._exit(0)
"""


@pytest.fixture
def tmp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _killed_process_folders(root: Path, count: int) -> list[Path]:
    """Scratch folders left by a process that ended without removing them (its first one swept
    those of processes that ended before)."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), "exit", str(count)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [Path(line) for line in done.stdout.split()]


def _killed_process_folder(root: Path) -> Path:
    return _killed_process_folders(root, 1)[0]


def _foreign(root: Path, name: str, *, age: float = 7200) -> Path:
    """A folder some other program made, with a file in it, last changed ``age`` seconds ago."""
    folder = root / name
    folder.mkdir()
    (folder / "data").write_bytes(b"someone's data")
    past = time.time() - age
    os.utime(folder, (past, past))
    return folder


def _age(folder: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(folder, (past, past))


def test_a_sweep_removes_killed_processes_folders_and_keeps_live_ones(tmp_root: Path) -> None:
    live = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_root), "wait", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert live.stdout is not None
        live_folder = Path(live.stdout.readline().strip())
        dead = _killed_process_folder(tmp_root)
        _age(live_folder, 7200)
        assert live_folder.is_dir() and dead.is_dir()
        assert scratch.sweep(older_than=None) == [str(dead)]
        assert scratch.sweep(older_than=timedelta(0)) == []
        assert live_folder.is_dir()
    finally:
        live.communicate("")


def test_a_sweep_never_touches_folders_it_did_not_make(tmp_root: Path) -> None:
    # The original DeltaGlider's cache folder; our demo's store; what an older version of ours left.
    theirs = [
        _foreign(tmp_root, "deltaglider-abcdefgh"),
        _foreign(tmp_root, "deltaglider-demo-store-xyz"),
        _foreign(tmp_root, f"deltaglider-{_dead_pid()}-abc"),
        _foreign(tmp_root, f"{scratch.PREFIX}{_dead_pid()}-abc"),  # our name, without our marker
        _foreign(tmp_root, "unrelated-123-x"),
    ]
    # Our marker copied into a folder of another name (or naming another process) proves nothing.
    copied = _foreign(tmp_root, f"{scratch.PREFIX}{_dead_pid()}-copy")
    dead = _killed_process_folder(tmp_root)
    marker = next(p for p in dead.iterdir() if p.name.startswith("."))
    (copied / marker.name).write_bytes(marker.read_bytes())
    theirs.append(copied)
    # A marker that is a FIFO is not opened (that would wait for a writer forever).
    fifo_marked = _foreign(tmp_root, f"{scratch.PREFIX}{_dead_pid()}-fifo")
    os.mkfifo(fifo_marked / marker.name)
    theirs.append(fifo_marked)
    _age(dead, 7200)
    assert _within_seconds(10, lambda: scratch.sweep(older_than=timedelta(0))) == [str(dead)]
    for folder in theirs:
        assert (folder / "data").read_bytes() == b"someone's data", folder


def _within_seconds(seconds: int, action: Callable[[], list[str]]) -> list[str]:
    """``action()``, interrupted if it hangs."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise AssertionError(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(seconds)
    try:
        return action()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_an_age_limit_keeps_a_killed_processes_recent_folder(tmp_root: Path) -> None:
    recent, old = _killed_process_folders(tmp_root, 2)
    _age(recent, 60)
    _age(old, 7200)
    assert scratch.sweep(older_than=timedelta(hours=1)) == [str(old)]
    assert recent.is_dir()


def test_cleanup_of_a_store_removes_no_other_programs_folders(tmp_root: Path) -> None:
    store = tmp_root / "x" / "store" / "app"
    store.mkdir(parents=True)
    theirs = [_foreign(tmp_root, "deltaglider-abcdefgh"), _foreign(tmp_root, "deltaglider-demo-store-xyz")]
    dead = _killed_process_folder(tmp_root)
    _age(dead, 7200)
    removed = create_client(cache_backend="memory").cleanup(f"file://{store}/", older_than=timedelta(0))
    assert removed == [f"scratch folder {dead}"]
    for folder in theirs:
        assert (folder / "data").read_bytes() == b"someone's data"


def test_scratch_folders_carry_their_marker(tmp_root: Path) -> None:
    made = scratch.make()
    assert made.parent == tmp_root and made.name.startswith(f"{scratch.PREFIX}{os.getpid()}-")
    assert [p.name for p in made.iterdir()] == [scratch.MARKER]
    assert scratch.sweep(older_than=timedelta(0)) == []  # our own, live: kept
    assert made.is_dir()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
