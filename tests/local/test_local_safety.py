"""The local store under hostile or broken folders: planted symbolic links, OS errors, leftovers of
killed writers."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest

from deltaglider import create_client
from deltaglider.adapters.storage_local import META_DIR, LocalStorage
from deltaglider.errors import AccessDeniedError, DeltaGliderError, NotFoundError, StorageError


def _src(tmp_path: Path, data: bytes = b"payload", name: str = "src") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.zip").write_bytes(b"not yours")
    (folder / META_DIR).mkdir()
    return folder


@pytest.fixture
def planted(tmp_path: Path, outside: Path) -> LocalStorage:
    store = LocalStorage(tmp_path / "root")
    store.put_file("b", "app/ok.zip", _src(tmp_path), {"k": "v"})
    app = tmp_path / "root/b/app"
    (app / "dir-link").symlink_to(outside, target_is_directory=True)
    (app / "file-link.zip").symlink_to(outside / "secret.zip")
    (tmp_path / "root/b/meta-link").mkdir()
    (tmp_path / "root/b/meta-link" / META_DIR).symlink_to(outside / META_DIR, target_is_directory=True)
    return store


def test_planted_links_are_never_followed(planted: LocalStorage, outside: Path, tmp_path: Path) -> None:
    before = _tree(outside)
    src = _src(tmp_path, b"attacker wants this outside", "evil")
    out = tmp_path / "read-back"
    out.write_bytes(b"")
    for call in (
        lambda: planted.head("b", "app/file-link.zip"),
        lambda: planted.get_file("b", "app/file-link.zip", out),
        lambda: planted.put_file("b", "app/file-link.zip", src, {"k": "v"}),
        lambda: planted.put_file("b", "app/dir-link/new.zip", src, {"k": "v"}),
        lambda: planted.put_file_if_absent("b", "app/dir-link/new.zip", src, {"k": "v"}),
        lambda: planted.head("b", "app/dir-link/secret.zip"),
        lambda: planted.get_file("b", "app/dir-link/secret.zip", out),
        lambda: planted.delete("b", "app/dir-link/secret.zip"),
        lambda: list(planted.list("b", "app/dir-link/")),
        lambda: planted.put_file("b", "meta-link/x.zip", src, {"k": "v"}),
    ):
        with pytest.raises(AccessDeniedError, match="link"):
            call()
    assert out.read_bytes() == b""
    # Listings skip links instead of walking into them.
    assert [h.key for h in planted.list("b", "", recursive=True)] == ["app/ok.zip"]
    assert [h.key for h in planted.list("b", "app/", recursive=False)] == ["app/ok.zip"]
    # Deleting the link itself removes only the link.
    planted.delete("b", "app/file-link.zip")
    assert not (tmp_path / "root/b/app/file-link.zip").is_symlink()
    assert _tree(outside) == before


def test_a_store_rooted_at_slash_refuses_links_in_place_of_objects(
    tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_CACHE_DIR", str(tmp_path / "cache"))
    client = create_client()
    store = tmp_path / "store"
    client.upload(_src(tmp_path, b"x" * 1000, "a.txt"), f"{store}/")
    (store / "b.txt").symlink_to(outside / "secret.zip")
    (store / "sub").mkdir()
    (store / "sub" / META_DIR).symlink_to(outside / META_DIR, target_is_directory=True)
    with pytest.raises(AccessDeniedError, match="link"):
        client.download(f"{store}/b.txt", tmp_path / "b.out")
    with pytest.raises(AccessDeniedError, match="link"):
        client.upload(_src(tmp_path, b"y", "c.txt"), f"{store}/sub/")
    assert [e.name for e in client.list(f"{store}/")] == ["a.txt"]
    assert not (tmp_path / "b.out").exists()
    assert list((outside / META_DIR).iterdir()) == []


@pytest.mark.parametrize(
    ("setup", "key", "expected"),
    [
        (lambda b: (b / "x.zip").mkdir(parents=True), "x.zip", StorageError),  # IsADirectoryError
        (lambda b: (b / "f").write_text("a file"), "f/x.zip", StorageError),  # NotADirectoryError
        (lambda b: (b / "d").mkdir() or (b / "d" / META_DIR).write_text(""), "d/x.zip", StorageError),
    ],
    ids=["is-a-directory", "not-a-directory", "file-exists"],
)
def test_os_errors_come_out_as_the_librarys(
    tmp_path: Path, setup: object, key: str, expected: type[DeltaGliderError]
) -> None:
    store = LocalStorage(tmp_path / "root")
    store.put_file("b", "seed.zip", _src(tmp_path), {})
    setup(tmp_path / "root/b")  # type: ignore[operator]
    with pytest.raises(expected) as raised:
        store.put_file("b", key, _src(tmp_path), {"k": "v"})
    assert isinstance(raised.value, OSError)  # still what a caller catching OSError expects
    assert store.head("b", "seed.zip") is not None


def test_permission_errors_are_access_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStorage(tmp_path / "root")
    store.put_file("b", "x.zip", _src(tmp_path), {})

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(args[0]))

    monkeypatch.setattr(os, "link", denied)
    with pytest.raises(AccessDeniedError, match="permission denied"):
        store.put_file("b", "x.zip", _src(tmp_path), {})
    monkeypatch.undo()
    with pytest.raises(NotFoundError):
        store.get_file("b", "missing.zip", tmp_path / "o")


def _age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_stale_temporaries_go_on_the_next_write_and_on_cleanup(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "root")
    store.put_file("b", "app/x.zip", _src(tmp_path), {"k": "v"})
    meta = tmp_path / "root/b/app" / META_DIR
    old_tmp, old_meta = meta / ".tmp-0123456789abcdef", meta / ".tmp-0123456789abcdef.meta"
    fresh_tmp = meta / ".tmp-fedcba9876543210"
    old_part = tmp_path / "root/b/app/.y.zip.0123456789ab.dg-part"
    for path in (old_tmp, old_meta, fresh_tmp, old_part):
        path.write_bytes(b"left by a killed writer")
    for path in (old_tmp, old_meta, old_part):
        _age(path, 2)
    LocalStorage(tmp_path / "root").put_file("b", "app/y.zip", _src(tmp_path), {})
    assert not old_tmp.exists() and not old_meta.exists() and not old_part.exists()
    assert fresh_tmp.exists()  # may be a live writer's
    (meta / "gone.zip.json").write_text("{}")  # a sidecar whose object went

    removed = store.cleanup("b", "", older_than=timedelta(0))
    assert sorted(Path(p).name for p in removed) == [".tmp-fedcba9876543210", "gone.zip.json"]
    assert sorted(p.name for p in meta.iterdir()) == [".lock", "x.zip.json", "y.zip.json"]
    head = store.head("b", "app/x.zip")
    assert head is not None and head.metadata == {"k": "v"}


def test_client_cleanup_finishes_a_killed_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DG_CACHE_DIR", str(tmp_path / "cache"))
    client = create_client(endpoint_url=f"file://{tmp_path}/root")
    store = LocalStorage(tmp_path / "root")
    store.put_file("b", "app/x.zip", _src(tmp_path, b"old"), {"k": "old"})
    meta = tmp_path / "root/b/app" / META_DIR
    # What a writer killed after moving the new object in leaves behind.
    os.link(tmp_path / "root/b/app/x.zip", meta / "x.zip.json.prev")
    (meta / "x.zip.json.pending").write_text('{"k": "new"}')
    (tmp_path / "root/b/app/x.zip").unlink()
    (tmp_path / "root/b/app/x.zip").write_bytes(b"new")
    assert len(client.cleanup("s3://b/app/")) == 1
    head = store.head("b", "app/x.zip")
    assert head is not None and head.metadata == {"k": "old"}
    assert (tmp_path / "root/b/app/x.zip").read_bytes() == b"old"
    assert client.cleanup("s3://b/") == []
    with pytest.raises(ValueError):
        client.cleanup("s3://b/", older_than=timedelta(-1))
