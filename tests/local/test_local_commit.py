"""The local store's write protocol: an object and its metadata change together or not at all (a
failed rename, a kill -9 between the renames), through a temporary file, under the folder's lock."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from deltaglider.adapters.storage_local import META_DIR, LocalStorage
from deltaglider.errors import StorageError


def _src(tmp_path: Path, data: bytes, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "root")


def _old_pair(store: LocalStorage, tmp_path: Path) -> Path:
    store.put_file("b", "p/x.zip", _src(tmp_path, b"old bytes", "old"), {"dg-file-sha256": "old"})
    return tmp_path / "root/b/p/x.zip"


def _assert_old_pair(store: LocalStorage, path: Path) -> None:
    head = store.head("b", "p/x.zip")
    assert head is not None
    assert (path.read_bytes(), dict(head.metadata)) == (b"old bytes", {"dg-file-sha256": "old"})


def _fail_replace_onto(monkeypatch: pytest.MonkeyPatch, target: Callable[[str], bool]) -> None:
    real = os.replace

    def replace(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        if target(os.fspath(dst)):
            raise OSError(5, "injected I/O error", os.fspath(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_a_data_file_that_cannot_be_replaced_keeps_its_old_metadata(
    store: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _old_pair(store, tmp_path)
    _fail_replace_onto(monkeypatch, lambda dst: dst == str(path))
    with pytest.raises(StorageError, match="injected"):
        store.put_file("b", "p/x.zip", _src(tmp_path, b"new bytes", "new"), {"dg-file-sha256": "new"})
    monkeypatch.undo()
    _assert_old_pair(store, path)


def test_metadata_that_cannot_be_replaced_rolls_the_data_back(
    store: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _old_pair(store, tmp_path)
    _fail_replace_onto(monkeypatch, lambda dst: dst.endswith(f"{META_DIR}/x.zip.json"))
    with pytest.raises(StorageError, match="injected"):
        store.put_file("b", "p/x.zip", _src(tmp_path, b"new bytes", "new"), {"dg-file-sha256": "new"})
    monkeypatch.undo()
    _assert_old_pair(store, path)


def _crash_at(root: str, src: str, target: str) -> None:
    """In a child: die (as kill -9 would) just before the rename onto ``target`` (a path suffix)."""
    real = os.replace

    def replace(a: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        if os.fspath(dst).endswith(target):
            os._exit(9)
        real(a, dst)

    os.replace = replace  # type: ignore[assignment]
    LocalStorage(root).put_file("b", "p/x.zip", Path(src), {"dg-file-sha256": "new"})
    os._exit(0)  # pragma: no cover - the put must have died first


@pytest.mark.parametrize("existing", [True, False], ids=["replace", "create"])
@pytest.mark.parametrize("target", ["/p/x.zip", f"/{META_DIR}/x.zip.json"], ids=["object", "sidecar"])
def test_a_crash_between_the_renames_rolls_back_on_next_access(
    store: LocalStorage, tmp_path: Path, existing: bool, target: str
) -> None:
    path = _old_pair(store, tmp_path) if existing else tmp_path / "root/b/p/x.zip"
    new = _src(tmp_path, b"new bytes", "new")
    child = multiprocessing.get_context("fork").Process(
        target=_crash_at, args=(str(tmp_path / "root"), str(new), target)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 9
    if existing:
        _assert_old_pair(LocalStorage(tmp_path / "root"), path)
    else:
        assert LocalStorage(tmp_path / "root").head("b", "p/x.zip") is None
        assert not path.exists()
    # The next writer finds a consistent folder and wins.
    store.put_file("b", "p/x.zip", new, {"dg-file-sha256": "new"})
    head = store.head("b", "p/x.zip")
    assert head is not None and head.metadata == {"dg-file-sha256": "new"}
    assert path.read_bytes() == b"new bytes"


def test_a_put_that_fails_midway_leaves_the_old_object_whole(store: LocalStorage, tmp_path: Path) -> None:
    """Catches a store writing straight into the final path instead of a temporary file."""
    store.put_file("b", "big.bin", _src(tmp_path, b"A" * (3 << 20), "old"), {"v": "1"})
    calls: list[int] = []

    def fail_after_first_chunk(n: int) -> None:
        calls.append(n)
        if len(calls) == 2:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        store.put_file(
            "b", "big.bin", _src(tmp_path, b"B" * (3 << 20), "new"), {"v": "2"}, fail_after_first_chunk
        )
    assert (tmp_path / "root/b/big.bin").read_bytes() == b"A" * (3 << 20)
    head = store.head("b", "big.bin")
    assert head is not None and head.metadata == {"v": "1"}
    assert sorted(p.name for p in (tmp_path / "root/b" / META_DIR).iterdir()) == [".lock", "big.bin.json"]


@pytest.mark.parametrize("operation", ["put_file", "put_file_if_absent", "delete", "head"])
def test_every_operation_waits_for_the_folders_lock(
    store: LocalStorage, tmp_path: Path, operation: str
) -> None:
    """Catches a store that never takes its lock: while another process holds it, nothing moves."""
    store.put_file("b", "x.zip", _src(tmp_path, b"old", "old"), {"v": "1"})
    new = _src(tmp_path, b"new", "new")
    calls: dict[str, Callable[[], object]] = {
        "put_file": lambda: store.put_file("b", "x.zip", new, {"v": "2"}),
        "put_file_if_absent": lambda: store.put_file_if_absent("b", "y.zip", new, {"v": "2"}),
        "delete": lambda: store.delete("b", "x.zip"),
        "head": lambda: store.head("b", "x.zip"),
    }
    done = threading.Event()
    fd = os.open(tmp_path / "root/b" / META_DIR / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        worker = threading.Thread(target=lambda: (calls[operation](), done.set()))
        worker.start()
        time.sleep(0.4)
        assert not done.is_set(), f"{operation} went ahead without the folder's lock"
        assert (tmp_path / "root/b/x.zip").read_bytes() == b"old"
        assert not (tmp_path / "root/b/y.zip").exists()
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    worker.join(10)
    assert done.is_set()
