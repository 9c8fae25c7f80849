"""The directory store against the storage port's contract."""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import pytest

from deltaglider.adapters.storage_local import META_DIR, LocalStorage
from deltaglider.errors import InvalidURLError, NotFoundError


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "root")


def _src(tmp_path: Path, data: bytes, name: str = "src") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _put(store: LocalStorage, bucket: str, key: str, data: bytes, meta: dict[str, str]) -> None:
    src = Path(tempfile.mkstemp(prefix="dg-src-")[1])
    try:
        src.write_bytes(data)
        store.put_file(bucket, key, src, meta)
    finally:
        src.unlink()


def _read(store: LocalStorage, bucket: str, key: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="dg-out-") as folder:
        out = Path(folder) / "o"
        store.get_file(bucket, key, out)
        return out.read_bytes()


def test_put_head_get_with_sidecar_metadata(store: LocalStorage, tmp_path: Path) -> None:
    assert store.head("b", "a/x.zip") is None
    store.put_file("b", "a/x.zip", _src(tmp_path, b"data"), {"dg-file-sha256": "abc", "Dg-Tool": "t"})
    head = store.head("b", "a/x.zip")
    assert head is not None
    assert (head.size, dict(head.metadata)) == (4, {"dg-file-sha256": "abc", "dg-tool": "t"})
    assert (tmp_path / "root/b/a/x.zip").read_bytes() == b"data"
    sidecar = tmp_path / f"root/b/a/{META_DIR}/x.zip.json"
    assert json.loads(sidecar.read_text())["dg-file-sha256"] == "abc"
    out = tmp_path / "out"
    store.get_file("b", "a/x.zip", out)
    assert out.read_bytes() == b"data"
    assert store.url("b", "a/x.zip") == str(tmp_path / "root/b/a/x.zip")


def test_replacing_without_metadata_drops_the_old_sidecar(store: LocalStorage, tmp_path: Path) -> None:
    store.put_file("b", "x", _src(tmp_path, b"1"), {"k": "v"})
    _put(store, "b", "x", b"2", {})
    head = store.head("b", "x")
    assert head is not None and dict(head.metadata) == {} and head.size == 1


def test_listing_hides_sidecars_and_sorts_like_s3(store: LocalStorage, tmp_path: Path) -> None:
    for key in ("a/b", "a.txt", "a/c/d", "z", "a/b2"):
        _put(store, "b", key, b"x", {"m": "1"})
    (tmp_path / "root/b/empty/deeper").mkdir(parents=True)  # no file: not shown, as on S3
    assert [h.key for h in store.list("b", "")] == ["a.txt", "a/b", "a/b2", "a/c/d", "z"]
    shallow = list(store.list("b", "", recursive=False))
    assert [(h.key, h.is_prefix) for h in shallow] == [("a.txt", False), ("a/", True), ("z", False)]
    assert [(h.key, h.is_prefix) for h in store.list("b", "a/", recursive=False)] == [
        ("a/b", False),
        ("a/b2", False),
        ("a/c/", True),
    ]
    assert [h.key for h in store.list("b", "a/b")] == ["a/b", "a/b2"]
    with pytest.raises(NotFoundError):
        list(store.list("missing", ""))


def test_create_if_absent_has_one_winner(store: LocalStorage, tmp_path: Path) -> None:
    sources = [_src(tmp_path, f"writer {i}".encode() * 1000, f"s{i}") for i in range(8)]
    barrier = threading.Barrier(len(sources))
    wins: list[int] = []

    def writer(i: int) -> None:
        barrier.wait()
        if store.put_file_if_absent("b", "p/reference.bin", sources[i], {"dg-file-sha256": str(i)}):
            wins.append(i)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(sources))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    head = store.head("b", "p/reference.bin")
    assert head is not None and head.metadata["dg-file-sha256"] == str(wins[0])
    assert _read(store, "b", "p/reference.bin") == sources[wins[0]].read_bytes()
    assert sorted(p.name for p in (tmp_path / f"root/b/p/{META_DIR}").iterdir()) == [
        ".lock",
        "reference.bin.json",
    ]


def test_delete(store: LocalStorage, tmp_path: Path) -> None:
    _put(store, "b", "x", b"1", {"k": "v"})
    store.delete("b", "x")
    store.delete("b", "x")
    store.delete("b", "never/was")
    assert store.head("b", "x") is None
    assert not (tmp_path / f"root/b/{META_DIR}/x.json").exists()


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/abs", f"{META_DIR}/x.json", f"a/{META_DIR}/y", "a//b", ""]
)
def test_keys_that_escape_or_hit_the_sidecars_are_refused(store: LocalStorage, key: str) -> None:
    with pytest.raises(InvalidURLError):
        _put(store, "b", key, b"x", {})
    with pytest.raises(InvalidURLError):
        store.head("b", key)


@pytest.mark.parametrize("bucket", ["..", "a/b", ""])
def test_bad_buckets_are_refused(store: LocalStorage, bucket: str) -> None:
    with pytest.raises(InvalidURLError):
        store.head(bucket, "x")


def test_a_store_rooted_at_slash_keeps_the_folder_layout(tmp_path: Path) -> None:
    store = LocalStorage("/")
    bucket, _, rest = str(tmp_path).strip("/").partition("/")
    _put(store, bucket, f"{rest}/f/x", b"1", {})
    assert (tmp_path / "f" / "x").read_bytes() == b"1"
    assert store.url(bucket, f"{rest}/f/x") == str(tmp_path / "f" / "x")
    with pytest.raises(InvalidURLError):
        store.head("a/b", "x")


def test_a_failed_put_leaves_nothing_behind(store: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        store.put_file("b", "x", tmp_path / "missing", {"k": "v"})
    assert store.head("b", "x") is None
    assert [p.name for p in (tmp_path / f"root/b/{META_DIR}").iterdir()] in ([], [".lock"])


def test_listing_resumes_after_a_key(store: LocalStorage) -> None:
    for key in ("a/b", "a.txt", "a/c/d", "z", "a/b2"):
        _put(store, "b", key, b"x", {"m": "1"})

    assert [h.key for h in store.list("b", "", start_after="a/b")] == ["a/b2", "a/c/d", "z"]
    assert [h.key for h in store.list("b", "a", recursive=False, start_after="a.txt")] == ["a/"]
    assert [h.key for h in store.list("b", "", recursive=False, start_after="a/")] == ["z"]
