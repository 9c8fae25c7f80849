"""Downloads onto a FIFO or a device: the checked bytes are written into it, never renamed over it.

Every FIFO and device here is made in the test's own folder (tests/support/special_files.py): a
test must never write to, or risk replacing, the machine's real /dev/null.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from support.sdk import leftovers, make_service
from support.special_files import fifo_reader, inside, is_null_device, null_device

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService
from deltaglider.errors import IntegrityError, StorageError

SPACE = DeltaSpace("b", "rel")


@pytest.fixture
def service(storage: MemoryStorage, releases: list[Path]) -> DeltaService:
    """Two releases stored (the second as a delta) and a small text file stored whole."""
    service = make_service(storage)
    for path in releases[:2]:
        service.put(path, SPACE)
    notes = releases[0].parent / "notes.txt"
    notes.write_text("stored whole\n")
    assert service.put(notes, SPACE).operation == "PUT"
    return service


#: What each stored name holds, as the ``releases`` fixture made it.
def _expected(releases: list[Path], name: str) -> bytes:
    return (releases[0].parent / name).read_bytes()


@pytest.mark.parametrize("name", ["app-1.1.zip", "notes.txt"], ids=["delta", "whole"])
def test_a_download_onto_a_fifo_writes_the_checked_file_into_it(
    service: DeltaService, releases: list[Path], tmp_path: Path, name: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fifo = inside(out / "fifo", tmp_path)
    with fifo_reader(fifo) as reader:
        summary = service.get(ObjectKey("b", f"rel/{name}"), fifo)
    assert reader.data == _expected(releases, name)
    assert summary.size == len(reader.data) and summary.path == str(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert leftovers(out) == ["fifo"]  # no temporary file beside it


def test_a_download_onto_a_device_node_writes_into_it_and_keeps_it(
    service: DeltaService, releases: list[Path], tmp_path: Path
) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    device = null_device(inside(dev / "null", tmp_path))
    summary = service.get(ObjectKey("b", "rel/app-1.1.zip"), device)
    assert is_null_device(device)
    assert summary.size == releases[1].stat().st_size
    assert leftovers(dev) == ["null"]


def test_a_corrupt_download_writes_nothing_into_a_fifo(
    service: DeltaService, storage: MemoryStorage, tmp_path: Path
) -> None:
    data, meta = storage.raw("b", "rel/app-1.1.zip.delta")
    storage.set_raw("b", "rel/app-1.1.zip.delta", data, {**meta, "dg-file-sha256": "0" * 64})
    fifo = inside(tmp_path / "fifo", tmp_path)
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # end-of-file at once unless a writer opened it
    try:
        with pytest.raises(IntegrityError, match="SHA-256 mismatch"):
            service.get(ObjectKey("b", "rel/app-1.1.zip"), fifo)
        assert os.read(reader, 100) == b""
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_named_like_the_file_in_an_output_folder_is_written_into(
    service: DeltaService, releases: list[Path], tmp_path: Path
) -> None:
    folder = tmp_path / "dl"
    folder.mkdir()
    with fifo_reader(inside(folder / "app-1.1.zip", tmp_path)) as reader:
        summary = service.get(ObjectKey("b", "rel/app-1.1.zip"), folder)
    assert reader.data == releases[1].read_bytes()
    assert summary.path == str(folder / "app-1.1.zip")
    assert leftovers(folder) == ["app-1.1.zip"] and stat.S_ISFIFO(os.lstat(folder / "app-1.1.zip").st_mode)


def test_a_symlink_to_a_fifo_is_written_through(
    service: DeltaService, releases: list[Path], tmp_path: Path
) -> None:
    # How /dev/stdout names a pipe: a link to /proc/self/fd/1.
    link = inside(tmp_path / "stdout", tmp_path)
    link.symlink_to(tmp_path / "pipe")
    with fifo_reader(tmp_path / "pipe") as reader:
        service.get(ObjectKey("b", "rel/app-1.1.zip"), link)
    assert reader.data == releases[1].read_bytes()
    assert link.is_symlink()


def test_a_symlink_to_a_regular_file_is_replaced_and_its_target_kept(
    service: DeltaService, releases: list[Path], tmp_path: Path
) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"not to be touched")
    link = inside(tmp_path / "link", tmp_path)
    link.symlink_to(target)
    service.get(ObjectKey("b", "rel/app-1.1.zip"), link)
    assert not link.is_symlink() and link.read_bytes() == releases[1].read_bytes()
    assert target.read_bytes() == b"not to be touched"


def test_a_socket_destination_is_refused_with_a_clear_error(service: DeltaService, tmp_path: Path) -> None:
    import socket

    path = inside(tmp_path / "sock", tmp_path)
    if len(os.fsencode(path)) >= 100:
        pytest.skip("the temporary folder's path is too long for a socket's address")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(os.fspath(path))
        with pytest.raises(StorageError, match="cannot open the output FIFO or device"):
            service.get(ObjectKey("b", "rel/notes.txt"), path)
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
