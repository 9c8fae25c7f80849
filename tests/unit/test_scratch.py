"""Scratch folders name their process: a killed one's are swept, a live one's never."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest

from deltaglider.core import scratch


@pytest.fixture
def tmp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_removes_dead_processes_folders_and_keeps_live_ones(tmp_root: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dead = tmp_root / f"deltaglider-{_dead_pid()}-abc"
        live = tmp_root / f"deltaglider-{sleeper.pid}-abc"
        old_unnamed = tmp_root / "deltaglider-legacy"
        other = tmp_root / "unrelated-123-x"
        for folder in (dead, live, old_unnamed, other):
            folder.mkdir()
            (folder / "delta").write_bytes(b"x" * 10)
        past = time.time() - 7200
        for folder in (live, old_unnamed, other):
            os.utime(folder, (past, past))
        assert scratch.sweep(older_than=None) == [str(dead)]
        assert scratch.sweep(older_than=timedelta(hours=1)) == [str(old_unnamed)]
        assert live.exists() and other.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_scratch_folders_carry_their_pid(tmp_root: Path) -> None:
    made = scratch.make()
    assert made.parent == tmp_root and made.name.startswith(f"deltaglider-{os.getpid()}-")
    assert scratch.sweep(older_than=timedelta(0)) == []  # our own, live: kept
