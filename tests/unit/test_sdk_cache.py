from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
import threading
from pathlib import Path

import pytest
from support.sdk import make_service

from deltaglider.adapters.cache_fs import FsCache, resolve_cache_dir
from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey

SPACE = DeltaSpace("b", "rel")
LOGGER = StdLogger("deltaglider.tests")


def _fs_cache(root: Path, max_bytes: int = 1 << 30) -> FsCache:
    return FsCache(root, max_bytes=max_bytes, hasher=Sha256Hasher(), logger=LOGGER)


def _file(folder: Path, name: str, data: bytes) -> tuple[Path, str]:
    path = folder / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("backend", ["fs", "memory"])
def test_reference_is_fetched_once_across_uploads_and_downloads(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path, backend: str
) -> None:
    make_service(storage).put(releases[0], SPACE)  # another machine created the DeltaSpace
    cache = (
        _fs_cache(tmp_path / "cache")
        if backend == "fs"
        else MemoryCache(max_bytes=1 << 30, hasher=Sha256Hasher())
    )
    service = make_service(storage, cache=cache)
    for path in releases[1:]:
        assert service.put(path, SPACE).operation == "PUT_DELTA"
    for path in releases:
        out = tmp_path / "out.zip"
        service.get(ObjectKey("b", f"rel/{path.name}"), out)
        assert out.read_bytes() == path.read_bytes()
    assert storage.count("get", "rel/reference.bin") == 1


def test_the_first_uploader_never_downloads_its_reference(
    storage: MemoryStorage, releases: list[Path]
) -> None:
    service = make_service(storage)
    for path in releases:
        service.put(path, SPACE)
    assert storage.count("get", "rel/reference.bin") == 0


def test_fs_cache_is_shared_by_instances(tmp_path: Path) -> None:
    path, sha = _file(tmp_path, "ref", b"reference bytes" * 100)
    assert _fs_cache(tmp_path / "c").store(sha, path)
    with _fs_cache(tmp_path / "c").use(sha) as cached:
        assert cached is not None
        assert cached.read_bytes() == path.read_bytes()
        assert cached.parent.parent == tmp_path / "c"


def test_fs_cache_drops_a_corrupt_entry(tmp_path: Path) -> None:
    path, sha = _file(tmp_path, "ref", b"reference bytes" * 100)
    cache = _fs_cache(tmp_path / "c")
    cache.store(sha, path)
    entry = tmp_path / "c" / sha[:2] / sha
    entry.write_bytes(b"poisoned")
    with _fs_cache(tmp_path / "c").use(sha) as cached:
        assert cached is None
    assert not entry.exists()


def test_fs_cache_refuses_content_that_does_not_match(tmp_path: Path) -> None:
    path, _ = _file(tmp_path, "ref", b"one")
    cache = _fs_cache(tmp_path / "c")
    assert not cache.store("0" * 64, path)
    with cache.use("0" * 64) as cached:
        assert cached is None


def test_fs_cache_evicts_least_recently_used_to_fit_its_cap(tmp_path: Path) -> None:
    cache = _fs_cache(tmp_path / "c", max_bytes=2500)
    files = [_file(tmp_path, f"f{i}", bytes([i]) * 1000) for i in range(3)]
    for path, sha in files[:2]:
        assert cache.store(sha, path)
    entry0 = tmp_path / "c" / files[0][1][:2] / files[0][1]
    entry1 = tmp_path / "c" / files[1][1][:2] / files[1][1]
    os.utime(entry0, ns=(1_000_000_000, entry0.stat().st_mtime_ns))  # 0 is the oldest used
    os.utime(entry1, ns=(2_000_000_000, entry1.stat().st_mtime_ns))
    assert cache.store(files[2][1], files[2][0])
    assert not entry0.exists()
    assert entry1.exists()
    big, big_sha = _file(tmp_path, "big", b"x" * 3000)
    assert not cache.store(big_sha, big)  # over the cap on its own: not cached, nothing evicted
    assert entry1.exists()


def test_fs_cache_never_evicts_an_entry_in_use(tmp_path: Path) -> None:
    cache = _fs_cache(tmp_path / "c", max_bytes=1500)
    (p0, s0), (p1, s1) = _file(tmp_path, "a", b"a" * 1000), _file(tmp_path, "b", b"b" * 1000)
    cache.store(s0, p0)
    with cache.use(s0) as held:
        assert held is not None
        cache.store(s1, p1)  # no room without evicting the held entry
        assert held.read_bytes() == b"a" * 1000


def test_fs_cache_folder_is_private(tmp_path: Path) -> None:
    root = resolve_cache_dir(tmp_path / "x" / "cache", LOGGER)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a folder to another user")
def test_a_cache_folder_owned_by_someone_else_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    theirs = tmp_path / "shared" / "cache"
    theirs.mkdir(parents=True)
    os.chown(theirs, 4242, 4242)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with caplog.at_level(logging.WARNING, logger="deltaglider.tests"):
        root = resolve_cache_dir(theirs, LOGGER)
    assert root == tmp_path / "tmp" / f".deltaglider-{os.getuid()}" / "cache"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert "another user" in caplog.text


def test_memory_cache_is_lru_by_bytes(tmp_path: Path) -> None:
    cache = MemoryCache(max_bytes=2500, hasher=Sha256Hasher())
    files = [_file(tmp_path, f"f{i}", bytes([i]) * 1000) for i in range(3)]
    cache.store(files[0][1], files[0][0])
    cache.store(files[1][1], files[1][0])
    with cache.use(files[0][1]) as hit:  # 0 becomes the most recent
        assert hit is not None and hit.read_bytes() == files[0][0].read_bytes()
    assert not hit.exists()  # the temporary copy goes with the block
    cache.store(files[2][1], files[2][0])
    with cache.use(files[1][1]) as gone:
        assert gone is None
    with cache.use(files[0][1]) as kept:
        assert kept is not None
    assert cache.size == 2000


def test_fs_cache_under_threads(tmp_path: Path) -> None:
    cache = _fs_cache(tmp_path / "c", max_bytes=3000)
    files = [_file(tmp_path, f"f{i}", bytes([i]) * 1000) for i in range(5)]
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            for round_ in range(30):
                path, sha = files[(seed + round_) % len(files)]
                cache.store(sha, path)
                with cache.use(sha) as cached:
                    if cached is not None:
                        assert cached.read_bytes() == path.read_bytes()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _process_worker(root: str, files: list[tuple[str, str]], seed: int) -> None:
    cache = _fs_cache(Path(root), max_bytes=3000)
    for round_ in range(40):
        path, sha = files[(seed + round_) % len(files)]
        cache.store(sha, Path(path))
        with cache.use(sha) as cached:
            if cached is not None and cached.read_bytes() != Path(path).read_bytes():
                raise SystemExit(3)


def test_fs_cache_shared_by_processes(tmp_path: Path) -> None:
    import multiprocessing

    files = [_file(tmp_path, f"f{i}", bytes([i]) * 1000) for i in range(5)]
    args = [(str(p), s) for p, s in files]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_process_worker, args=(str(tmp_path / "c"), args, i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    # Entries in use when a writer made room may have left the cache above its cap; nothing is in use now.
    _fs_cache(tmp_path / "c", max_bytes=3000).trim()
    entries = [e for e in (tmp_path / "c").rglob("*") if e.is_file() and e.parent.name != "tmp"]
    assert 0 < sum(e.stat().st_size for e in entries) <= 3000


@pytest.mark.parametrize("change", ["content and mtime", "size only"])
def test_fs_cache_rehashes_an_entry_changed_in_place(tmp_path: Path, change: str) -> None:
    """The verification memo is keyed by inode, size and mtime: an entry rewritten in place (same
    inode) is hashed again, even by the process that already checked it."""
    path, sha = _file(tmp_path, "ref", b"reference bytes" * 100)
    cache = _fs_cache(tmp_path / "c")
    cache.store(sha, path)
    with cache.use(sha) as cached:
        assert cached is not None  # hashed once, remembered
    entry = tmp_path / "c" / sha[:2] / sha
    before = os.stat(entry)
    with open(entry, "r+b") as f:
        if change == "size only":
            f.seek(0, os.SEEK_END)
            f.write(b"!")
        else:
            f.write(b"R")
    mtime = before.st_mtime_ns if change == "size only" else before.st_mtime_ns + 10**9
    os.utime(entry, ns=(before.st_atime_ns, mtime))
    assert os.stat(entry).st_ino == before.st_ino
    with cache.use(sha) as cached:
        assert cached is None
