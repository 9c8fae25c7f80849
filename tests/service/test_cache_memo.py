"""The file cache checks an entry's content once per identity, not on every use: a 1 GiB reference is
not re-read by each download. (An entry changed in place is hashed again: see test_sdk_cache.)"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from deltaglider.adapters.cache_fs import FsCache
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger

HERE = "s3://b/rel/reference.bin"


class _CountingHasher(Sha256Hasher):
    def __init__(self) -> None:
        self.files = 0

    def sha256_file(self, path: Path) -> str:
        self.files += 1
        return super().sha256_file(path)


def _cache(root: Path, hasher: Sha256Hasher) -> FsCache:
    return FsCache(root, max_bytes=1 << 30, hasher=hasher, logger=StdLogger("deltaglider.tests"))


def _file(folder: Path, data: bytes) -> tuple[Path, str]:
    path = folder / f"ref-{os.urandom(4).hex()}"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_an_entry_stored_here_is_not_hashed_again_on_use(tmp_path: Path) -> None:
    hasher = _CountingHasher()
    cache = _cache(tmp_path / "c", hasher)
    path, sha = _file(tmp_path, os.urandom(50_000))
    assert cache.store(sha, path, origin=HERE)  # hashed as it was copied in
    for _ in range(3):
        with cache.use(sha, origin=HERE) as cached:
            assert cached is not None
    assert hasher.files == 0


def test_another_client_of_the_process_trusts_the_check_too(tmp_path: Path) -> None:
    path, sha = _file(tmp_path, os.urandom(50_000))
    assert _cache(tmp_path / "c", Sha256Hasher()).store(sha, path, origin=HERE)
    hasher = _CountingHasher()
    with _cache(tmp_path / "c", hasher).use(sha, origin=HERE) as cached:
        assert cached is not None
    assert hasher.files == 0


def test_an_entry_another_process_stored_is_hashed_once(tmp_path: Path) -> None:
    data = os.urandom(50_000)
    sha = hashlib.sha256(data).hexdigest()
    root = tmp_path / "c"
    _cache(root, Sha256Hasher())  # makes the folder
    _cache(root, Sha256Hasher()).store(sha, _file(tmp_path, data)[0], origin=HERE)
    (entry,) = (root / sha[:2]).glob(sha + "-" + "?" * 32)  # its name also tells its origin
    entry.unlink()
    entry.write_bytes(data)  # a new file this process never checked, as another process's would be
    hasher = _CountingHasher()
    for _ in range(3):
        with _cache(root, hasher).use(sha, origin=HERE) as cached:
            assert cached is not None
    assert hasher.files == 1
