"""The conditional writes and deletes of the memory and local folder stores (S3's: tests/s3)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from support.conditional_contract import check_contract
from support.storage_io import put_bytes

from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.errors import StorageError
from deltaglider.ports.storage import StoragePort


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StoragePort:
    if request.param == "memory":
        return MemoryStorage()
    (tmp_path / "root" / "b").mkdir(parents=True)
    return LocalStorage(tmp_path / "root")


def test_conditional_writes_and_deletes_act_on_the_named_version_only(
    store: StoragePort, tmp_path: Path
) -> None:
    check_contract(store, "b", tmp_path)


def test_a_local_object_placed_by_hand_has_a_version_too(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_bytes(b"by hand")
    head = store.head("b", "x")
    assert head is not None and head.etag
    assert store.delete_if_match("b", "x", head.etag)
    assert not (tmp_path / "b" / "x").exists()


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_the_local_store_never_replaces_or_removes_a_special_file(tmp_path: Path, kind: str) -> None:
    store = LocalStorage(tmp_path)
    (tmp_path / "b").mkdir()
    path = tmp_path / "b" / "x.zip"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        import socket

        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    else:
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a device node needs root")
    before = os.lstat(path)
    with pytest.raises(StorageError, match="not a stored object"):
        put_bytes(store, "b", "x.zip", b"data", {})
    with pytest.raises(StorageError, match="not a stored object"):
        store.delete("b", "x.zip")
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)
