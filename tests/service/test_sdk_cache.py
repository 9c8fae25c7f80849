from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable
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
#: Where the adapter-level tests' entries came from.
HERE = "s3://b/rel/reference.bin"


def _fs_cache(root: Path, max_bytes: int = 1 << 30) -> FsCache:
    return FsCache(root, max_bytes=max_bytes, hasher=Sha256Hasher(), logger=LOGGER)


def entry_of(root: Path, sha: str) -> Path:
    """The one entry holding ``sha`` under ``root`` (its name also carries its origin)."""
    (entry,) = [p for p in (root / sha[:2]).iterdir() if p.name.startswith(sha) and p.suffix != ".used"]
    return entry


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
    assert _fs_cache(tmp_path / "c").store(sha, path, origin=HERE)
    with _fs_cache(tmp_path / "c").use(sha, origin=HERE) as cached:
        assert cached is not None
        assert cached.read_bytes() == path.read_bytes()
        assert cached.parent.parent == tmp_path / "c"


def test_fs_cache_drops_a_corrupt_entry(tmp_path: Path) -> None:
    path, sha = _file(tmp_path, "ref", b"reference bytes" * 100)
    cache = _fs_cache(tmp_path / "c")
    cache.store(sha, path, origin=HERE)
    entry = entry_of(tmp_path / "c", sha)
    entry.write_bytes(b"poisoned")
    with _fs_cache(tmp_path / "c").use(sha, origin=HERE) as cached:
        assert cached is None
    assert not entry.exists()


def test_fs_cache_refuses_content_that_does_not_match(tmp_path: Path) -> None:
    path, _ = _file(tmp_path, "ref", b"one")
    cache = _fs_cache(tmp_path / "c")
    assert not cache.store("0" * 64, path, origin=HERE)
    with cache.use("0" * 64, origin=HERE) as cached:
        assert cached is None


def test_fs_cache_evicts_least_recently_used_to_fit_its_cap(tmp_path: Path) -> None:
    cache = _fs_cache(tmp_path / "c", max_bytes=2500)
    files = [_file(tmp_path, f"f{i}", bytes([i]) * 1000) for i in range(3)]
    for path, sha in files[:2]:
        assert cache.store(sha, path, origin=HERE)
    entry0, entry1 = (entry_of(tmp_path / "c", sha) for _, sha in files[:2])
    with cache.use(files[0][1], origin=HERE) as used:  # 0 is now the most recently used
        assert used is not None
    assert cache.store(files[2][1], files[2][0], origin=HERE)
    assert entry0.exists()
    assert not entry1.exists()
    big, big_sha = _file(tmp_path, "big", b"x" * 3000)
    assert not cache.store(big_sha, big, origin=HERE)  # over the cap on its own: not cached, nothing evicted
    assert entry0.exists()


def test_fs_cache_never_evicts_an_entry_in_use(tmp_path: Path) -> None:
    cache = _fs_cache(tmp_path / "c", max_bytes=1500)
    (p0, s0), (p1, s1) = _file(tmp_path, "a", b"a" * 1000), _file(tmp_path, "b", b"b" * 1000)
    cache.store(s0, p0, origin=HERE)
    with cache.use(s0, origin=HERE) as held:
        assert held is not None
        cache.store(s1, p1, origin=HERE)  # no room without evicting the held entry
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
    cache.store(files[0][1], files[0][0], origin=HERE)
    cache.store(files[1][1], files[1][0], origin=HERE)
    with cache.use(files[0][1], origin=HERE) as hit:  # 0 becomes the most recent
        assert hit is not None and hit.read_bytes() == files[0][0].read_bytes()
    assert not hit.exists()  # the temporary copy goes with the block
    cache.store(files[2][1], files[2][0], origin=HERE)
    with cache.use(files[1][1], origin=HERE) as gone:
        assert gone is None
    with cache.use(files[0][1], origin=HERE) as kept:
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
                cache.store(sha, path, origin=HERE)
                with cache.use(sha, origin=HERE) as cached:
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
        cache.store(sha, Path(path), origin=HERE)
        with cache.use(sha, origin=HERE) as cached:
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
    cache.store(sha, path, origin=HERE)
    with cache.use(sha, origin=HERE) as cached:
        assert cached is not None  # hashed once, remembered
    entry = entry_of(tmp_path / "c", sha)
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
    with cache.use(sha, origin=HERE) as cached:
        assert cached is None


def _rewrite_in_place(entry: Path, before: os.stat_result, data: bytes, *, mtime_ns: int) -> None:
    """Writes ``data`` over the entry (same inode; as long as it was) and sets its times back, as a
    careless tool might; again until the change time moved on, since its clock ticks coarsely."""
    data = data[: before.st_size].ljust(before.st_size, b"\0")
    for _ in range(400):
        with open(entry, "r+b") as f:
            f.write(data)
        os.utime(entry, ns=(before.st_atime_ns, mtime_ns))
        if os.stat(entry).st_ctime_ns != before.st_ctime_ns:
            return
        time.sleep(0.005)
    raise AssertionError("the entry's change time never moved")


@pytest.mark.parametrize("mtime_step", [0, 1], ids=["mtime put back", "mtime a nanosecond on"])
def test_an_entry_rewritten_in_place_within_its_second_is_hashed_again(
    tmp_path: Path, mtime_step: int
) -> None:
    """The memo keys on the change time as well as the modification time, both in nanoseconds: a
    rewrite is seen with its modification time put back, or moved on within the same second."""
    if time.time() % 1 > 0.7:  # what follows takes milliseconds: let it all happen within one second
        time.sleep(1 - time.time() % 1)
    cache = _fs_cache(tmp_path / "c")
    path, sha = _file(tmp_path, "ref", os.urandom(50_000))
    assert cache.store(sha, path, origin=HERE)
    with cache.use(sha, origin=HERE) as cached:
        assert cached is not None
    entry = entry_of(tmp_path / "c", sha)
    before = os.stat(entry)
    _rewrite_in_place(entry, before, os.urandom(50_000), mtime_ns=before.st_mtime_ns + mtime_step)
    after = os.stat(entry)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns + mtime_step,
    )
    assert after.st_ctime_ns // 10**9 == before.st_ctime_ns // 10**9
    with cache.use(sha, origin=HERE) as cached:
        assert cached is None


def test_an_upload_against_a_cached_reference_rewritten_in_place_is_rebuilt_elsewhere(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    """A long-lived client whose cached reference was changed under it: its next delta must still be
    made against the stored reference, or nobody else can rebuild the file."""
    # In the original's format: the delta is made against the reference itself, not a decoded base.
    service = make_service(storage, cache=_fs_cache(tmp_path / "c"), original_compatible=True)
    service.put(releases[0], SPACE)
    entry = entry_of(tmp_path / "c", storage.raw("b", "rel/reference.bin")[1]["dg-file-sha256"])
    before = os.stat(entry)
    # Now it looks like the next release: a delta made against it copies what the stored one lacks.
    _rewrite_in_place(entry, before, releases[1].read_bytes(), mtime_ns=before.st_mtime_ns)
    service.put(releases[1], SPACE)
    out = tmp_path / "out.zip"
    make_service(storage).get(ObjectKey("b", f"rel/{releases[1].name}"), out)  # another machine
    assert out.read_bytes() == releases[1].read_bytes()


@pytest.mark.parametrize("backend", ["fs", "memory"])
def test_an_entry_is_found_only_under_the_origin_it_was_stored_under(tmp_path: Path, backend: str) -> None:
    cache = (
        _fs_cache(tmp_path / "c")
        if backend == "fs"
        else MemoryCache(max_bytes=1 << 30, hasher=Sha256Hasher())
    )
    path, sha = _file(tmp_path, "ref", b"reference bytes" * 100)
    assert cache.store(sha, path, origin="s3://b/a/reference.bin")
    for elsewhere in ("s3://b/other/reference.bin", "s3://c/a/reference.bin", "/b/a/reference.bin"):
        with cache.use(sha, origin=elsewhere) as found:
            assert found is None
    with cache.use(sha, origin="s3://b/a/reference.bin") as found:
        assert found is not None and found.read_bytes() == path.read_bytes()


def _in_time(action: Callable[[], object], seconds: float = 10.0) -> object:
    """What ``action`` returns, run in a thread that a hang cannot keep past ``seconds``."""
    done: list[object] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(action())
        except BaseException as exc:  # pragma: no cover - reported below
            failed.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    if failed:
        raise failed[0]
    return done[0]


def _plant(path: Path, odd: str, target: Path) -> None:
    if odd == "fifo":
        os.mkfifo(path)
    elif odd == "folder":
        path.mkdir()
        (path / "inside").write_bytes(b"x")
    elif odd == "file":
        path.write_bytes(b"not a folder")
    else:
        path.symlink_to(target)


@pytest.mark.parametrize("odd", ["fifo", "folder", "link"])
def test_an_entry_that_is_no_regular_file_is_dropped_without_opening_it(tmp_path: Path, odd: str) -> None:
    cache = _fs_cache(tmp_path / "c")
    path, sha = _file(tmp_path, "ref", b"reference bytes" * 100)
    assert cache.store(sha, path, origin=HERE)
    entry = entry_of(tmp_path / "c", sha)
    entry.unlink()
    _plant(entry, odd, path)

    def look() -> Path | None:
        with cache.use(sha, origin=HERE) as found:
            return found

    assert _in_time(look) is None
    assert not os.path.lexists(entry)
    assert cache.store(sha, path, origin=HERE)  # and the reference is cached again
    with cache.use(sha, origin=HERE) as found:
        assert found is not None and found.read_bytes() == path.read_bytes()


def test_a_download_whose_cached_reference_is_a_fifo_fetches_it_again(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    service = make_service(storage, cache=_fs_cache(tmp_path / "c"))
    service.put(releases[0], SPACE)
    service.put(releases[1], SPACE)
    entry = entry_of(tmp_path / "c", storage.raw("b", "rel/reference.bin")[1]["dg-file-sha256"])
    entry.unlink()
    os.mkfifo(entry)
    out = tmp_path / "out.zip"
    _in_time(lambda: service.get(ObjectKey("b", f"rel/{releases[1].name}"), out))
    assert out.read_bytes() == releases[1].read_bytes()
    assert storage.count("get", "rel/reference.bin") == 1


@pytest.mark.parametrize("odd", ["file", "fifo"])
def test_a_cache_whose_tmp_is_no_folder_still_caches(tmp_path: Path, odd: str) -> None:
    root = tmp_path / "c"
    root.mkdir(mode=0o700)
    _plant(root / "tmp", odd, tmp_path)
    cache = _in_time(lambda: _fs_cache(root))
    assert isinstance(cache, FsCache)
    files = [_file(tmp_path, f"f{i}", bytes([i]) * 1000) for i in range(2)]
    assert _in_time(lambda: cache.store(files[0][1], files[0][0], origin=HERE))
    # Taken over again while the cache is in use (a long-lived client).
    shutil.rmtree(root / "tmp")
    _plant(root / "tmp", odd, tmp_path)
    assert _in_time(lambda: cache.store(files[1][1], files[1][0], origin=HERE))
    _in_time(cache.trim)
    for _, sha in files:
        with cache.use(sha, origin=HERE) as found:
            assert found is not None
    assert stat.S_ISDIR(os.lstat(root / "tmp").st_mode)
