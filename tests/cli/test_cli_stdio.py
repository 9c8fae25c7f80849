"""``cp`` with ``-``, and onto FIFOs: standard input stored, a checked file written to standard
output (the report on standard error), a FIFO or device written into and kept, on a folder store
and on moto's S3 server."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.special_files import fifo_reader, inside, is_null_device, null_device
from support.variants import CLI_ON_S3_TOO

#: The ``store`` and ``cli`` fixtures' types (tests/cli/conftest.py), which test modules cannot import.
Store = Any


def _run(store: Store, *args: str | Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """The command line with binary standard input and output (the ``cli`` fixture's are text)."""
    cli = store.cli
    return subprocess.run(
        [sys.executable, "-m", "deltaglider", *map(str, args), *cli.extra],
        input=stdin,
        capture_output=True,
        env=cli.env,
        cwd=cli.cwd,
        timeout=120,
        check=False,
    )


@CLI_ON_S3_TOO
def test_cp_from_stdin_stores_it_and_to_stdout_writes_it_back(store: Store, releases: list[Path]) -> None:
    store.cli.ok("cp", releases[0], store.base + "app/")
    data = releases[1].read_bytes()
    up = _run(store, "cp", "-", store.base + "app/from-stdin.zip", stdin=data)
    assert up.returncode == 0, up.stderr
    assert b"from-stdin.zip" in up.stdout
    assert "app/from-stdin.zip.delta" in store.stored()  # a delta against the folder's reference

    down = _run(store, "cp", store.base + "app/from-stdin.zip", "-")
    assert down.returncode == 0, down.stderr
    assert down.stdout == data  # the file and nothing else
    assert b"download: " in down.stderr


def test_cp_to_stdout_of_a_corrupt_file_writes_nothing_and_fails(store: Store, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"stored whole\n")
    store.cli.ok("cp", notes, store.base + "notes.txt")
    damaged = b"stored wholE\n"  # same size, one byte changed, metadata kept
    if store.s3 is not None:
        meta = store.s3.head_object(Bucket=store.bucket, Key="notes.txt")["Metadata"]
        store.s3.put_object(Bucket=store.bucket, Key="notes.txt", Body=damaged, Metadata=meta)
    else:
        (store.root / "notes.txt").write_bytes(damaged)
    down = _run(store, "cp", store.base + "notes.txt", "-")
    assert down.returncode == 1
    assert down.stdout == b""
    assert b"SHA-256 mismatch" in down.stderr


def test_cp_from_stdin_into_a_folder_is_a_usage_error(store: Store) -> None:
    result = _run(store, "cp", "-", store.base + "app/", stdin=b"data")
    assert result.returncode == 2
    assert b"NAME" in result.stderr
    assert store.stored() == []


@pytest.mark.parametrize(
    "args",
    [
        ("cp", "--recursive", "-", "{base}app/x"),
        ("cp", "--recursive", "{base}app/", "-"),
        ("--json", "cp", "{base}app/x", "-"),
        ("cp", "-", "-"),
    ],
    ids=["recursive-up", "recursive-down", "json-to-stdout", "no-store"],
)
def test_cp_with_dash_refuses_what_one_stream_cannot_carry(store: Store, args: tuple[str, ...]) -> None:
    result = _run(store, *(a.format(base=store.base) for a in args), stdin=b"data")
    assert result.returncode == 2, result.stderr
    assert result.stdout == b""


def test_cp_onto_a_fifo_writes_into_it_and_keeps_it(
    store: Store, releases: list[Path], tmp_path: Path
) -> None:
    store.cli.ok("cp", releases[0], store.base + "app/")
    store.cli.ok("cp", releases[1], store.base + "app/")
    fifo = inside(tmp_path / "fifo", tmp_path)
    with fifo_reader(fifo) as reader:
        store.cli.ok("cp", store.base + f"app/{releases[1].name}", fifo)
    assert reader.data == releases[1].read_bytes()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_cp_onto_a_device_node_keeps_it(store: Store, releases: list[Path], tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    device = null_device(inside(dev / "null", tmp_path))
    store.cli.ok("cp", releases[0], store.base + "app/")
    store.cli.ok("cp", store.base + f"app/{releases[0].name}", device)
    assert is_null_device(device)
    assert sorted(os.listdir(dev)) == ["null"]
