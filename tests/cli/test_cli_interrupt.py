"""Ctrl-C during a batch: the first stops the transfers in flight at their next block and leaves nothing
half written, the second exits at once; the exit status is 130 either way.

The command runs in a subprocess over a folder store whose blocks each take a while
(``slow_blocks.py``), so that transfers are surely in flight when the signal comes.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

Cli = Any  # the ``cli`` fixture (tests/cli/conftest.py)

HARNESS = Path(__file__).with_name("slow_blocks.py")
MIB = 1 << 20
MARKER = b"dg-test: first block"


def _files(folder: Path, sizes: dict[str, int]) -> dict[str, bytes]:
    written = {}
    for name, size in sizes.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data := os.urandom(size))
        written[name] = data
    return written


def _start(
    env: dict[str, str], cwd: Path, block_seconds: float, *args: str | Path
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(HARNESS), *map(str, args)],
        env={**env, "DG_TEST_BLOCK_SECONDS": str(block_seconds), "DG_TEST_MARKER": MARKER.decode()},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_first_block(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while MARKER not in seen:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([process.stderr], [], [], max(left, 0))
        chunk = os.read(process.stderr.fileno(), 4096) if ready else b""
        assert chunk, f"no transfer started: {seen.decode(errors='replace')}"
        seen += chunk


def _interrupt(process: subprocess.Popen[bytes], times: int) -> tuple[float, str]:
    """Sends SIGINT ``times`` times, 0.2 s apart; returns the seconds from the last one to the exit,
    and what was written on stderr."""
    for time_ in range(times):
        if time_:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    return time.monotonic() - sent, stderr.decode(errors="replace")


def _scratch_left(tmp: Path) -> list[str]:
    return [p.name for p in tmp.iterdir() if p.name.startswith("deltaglider-")]


def _stored_names(cli: Cli, base: str) -> list[str]:
    listing = cli.ok("--json", "ls", "--recursive", base).json()
    return [entry["name"] for entry in listing["entries"]]


def test_ctrl_c_stops_uploads_in_flight_at_their_next_block(
    cli: Cli, cli_env: dict[str, str], tmp_path: Path
) -> None:
    # Five new folders: their first files are written at once, four at a time, block by block.
    sources = _files(tmp_path / "src", {f"{f}/app.bin": 8 * MIB for f in "abcde"})
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    base = f"file://{tmp_path / 'store'}/"
    env = {**cli_env, "TMPDIR": str(tmp)}
    process = _start(env, tmp_path, 0.5, "cp", "--recursive", tmp_path / "src", base)
    _wait_for_first_block(process)
    time.sleep(0.3)
    elapsed, stderr = _interrupt(process, 1)
    assert process.returncode == 130, stderr
    # Each write in flight had blocks left to take 0.5 s each: it stopped at the next one.
    assert elapsed < 2, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    stored = _stored_names(cli, base)
    assert len(stored) < len(sources)
    if stored:
        assert cli.ok("verify", base).code == 0
    assert _scratch_left(tmp) == []


def test_ctrl_c_leaves_no_partial_download(cli: Cli, cli_env: dict[str, str], tmp_path: Path) -> None:
    sources = _files(tmp_path / "src", {f"{f}.bin": 8 * MIB for f in "abcdef"})
    base = f"file://{tmp_path / 'store'}/"
    cli.ok("--no-delta", "cp", "--recursive", tmp_path / "src", base)
    out = tmp_path / "out"
    process = _start(cli_env, tmp_path, 0.5, "cp", "--recursive", base, out)
    _wait_for_first_block(process)
    elapsed, stderr = _interrupt(process, 1)
    assert process.returncode == 130, stderr
    assert elapsed < 2, stderr
    landed = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert len(landed) < len(sources)
    for name in landed:  # whole files only: no temporary file, nothing cut short
        assert (out / name).read_bytes() == sources[name], name


def test_a_second_ctrl_c_exits_at_once(cli: Cli, cli_env: dict[str, str], tmp_path: Path) -> None:
    # Blocks of 5 s: the first Ctrl-C alone would wait for the next one.
    _files(tmp_path / "src", {f"{f}/app.bin": 3 * MIB for f in "ab"})
    base = f"file://{tmp_path / 'store'}/"
    process = _start(cli_env, tmp_path, 5, "cp", "--recursive", tmp_path / "src", base)
    _wait_for_first_block(process)
    elapsed, stderr = _interrupt(process, 2)
    assert process.returncode == 130, stderr
    assert elapsed < 2, stderr
    assert _stored_names(cli, base) == []
