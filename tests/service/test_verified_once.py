"""Verified content by SHA-256 comes from one source (``core.rebuild.sources``) and is checked once:
what it downloads, rebuilds or derives is hashed as it is made and then adopted by the cache as it is,
not copied into it and hashed again. The hashing counted here is every hash the process takes through
the hasher port, the caches' own included, named by the content it hashed.
"""

from __future__ import annotations

import ast
import hashlib
import os
import random
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.sdk import make_service

import deltaglider.core.put as put_wing
from deltaglider import atomic
from deltaglider.adapters.cache_fs import FsCache
from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.rebuild import sources
from deltaglider.ports.cache import CachePort

SPACE = DeltaSpace("b", "rel")
HERE = "s3://b/rel/reference.bin"
_EPOCH = (2024, 1, 1, 0, 0, 0)


def _text(rng: random.Random, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        out += f"def f_{rng.randrange(10**6)}(x):\n    return x * {rng.randrange(999)}\n".encode()
    return bytes(out[:size])


def _drifting_zips(folder: Path, count: int, *, size: int = 600_000, step: float = 0.06) -> list[Path]:
    """Zip releases of one deflated source file, each replacing another ``step`` of it: later ones
    drift from the first far enough to become snapshots, and the next ones are stored against those."""
    rng = random.Random(5)
    blob = bytearray(_text(rng, size))
    span = int(size * step)
    paths = []
    for n in range(count):
        if n:
            at = ((n - 1) * span) % (size - span)
            blob[at : at + span] = _text(rng, span)
        path = folder / f"app-{n:02d}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            info = zipfile.ZipInfo("lib/app.py", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, bytes(blob))
        paths.append(path)
    return paths


def _snapshot_ref(store: MemoryStorage, key: str) -> str | None:
    ref = store.raw("b", key)[1].get("dg-ref-key", "")
    return ref if "reference-" in ref and ref.endswith(".delta") else None


@pytest.fixture(scope="module")
def on_a_snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[MemoryStorage, Path, str]:
    """A store holding a zip family, a release stored as a delta of decoded content against a snapshot
    that an earlier release made, and that delta's key."""
    folder = tmp_path_factory.mktemp("zips")
    store = MemoryStorage()
    service = make_service(store)
    for path in _drifting_zips(folder, 30):
        before = set(store.keys("b"))
        summary = service.put(path, SPACE)
        ref = _snapshot_ref(store, summary.key) if summary.operation == "PUT_DELTA" else None
        if ref in before and summary.transform == "zip":
            return store, path, summary.key
    raise AssertionError("no release of the family was stored against a snapshot")


class _Hashes:
    """Every hash the process takes through the hasher port, by the SHA-256 it found."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.found: Counter[str] = Counter()
        real_file, real_bytes, real_copy = (
            Sha256Hasher.sha256_file,
            Sha256Hasher.sha256_bytes,
            Sha256Hasher.copy_file,
        )

        def sha256_file(hasher: Sha256Hasher, path: Path) -> str:
            return self._note(real_file(hasher, path))

        def sha256_bytes(hasher: Sha256Hasher, data: bytes) -> str:
            return self._note(real_bytes(hasher, data))

        def copy_file(hasher: Sha256Hasher, src: Path, dest: Path, progress: Any = None) -> str:
            return self._note(real_copy(hasher, src, dest, progress))

        monkeypatch.setattr(Sha256Hasher, "sha256_file", sha256_file)
        monkeypatch.setattr(Sha256Hasher, "sha256_bytes", sha256_bytes)
        monkeypatch.setattr(Sha256Hasher, "copy_file", copy_file)

    def _note(self, sha256: str) -> str:
        self.found[sha256] += 1
        return sha256

    def twice(self) -> dict[str, int]:
        return {sha: n for sha, n in self.found.items() if n > 1}


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing remembered from the uploads, as in a new process."""
    monkeypatch.setattr(sources, "_DERIVED", sources._Derivations())
    from deltaglider.adapters import cache_fs

    monkeypatch.setattr(cache_fs, "_CHECKED", cache_fs._CheckedFiles())


def _cache(kind: str, folder: Path) -> CachePort:
    hasher = Sha256Hasher()
    if kind == "memory":
        return MemoryCache(max_bytes=1 << 30, hasher=hasher)
    return FsCache(folder / "cache", max_bytes=1 << 30, hasher=hasher, logger=StdLogger("deltaglider.tests"))


@pytest.mark.parametrize("cache", ["fs", "memory"])
def test_a_cold_download_through_a_snapshot_hashes_each_content_once(
    on_a_snapshot: tuple[MemoryStorage, Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cache: str,
) -> None:
    """The full reference, its decoded base, the rebuilt snapshot, its decoded base and the file: each
    hashed once, by us, and the caches take them without hashing them again."""
    store, path, _ = on_a_snapshot
    _new_process(monkeypatch)
    service = make_service(store, cache=_cache(cache, tmp_path))
    hashes = _Hashes(monkeypatch)

    service.get(ObjectKey("b", f"rel/{path.name}"), tmp_path / "out.zip")

    assert (tmp_path / "out.zip").read_bytes() == path.read_bytes()
    assert len(hashes.found) == 5, hashes.found
    assert hashes.twice() == {}


@pytest.mark.parametrize("cache", ["fs", "memory"])
def test_an_upload_against_a_snapshot_hashes_each_intermediate_once(
    on_a_snapshot: tuple[MemoryStorage, Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cache: str,
) -> None:
    """From a cold cache: the file as it is copied, then the proof's rebuild of it; the reference, the
    snapshot and the decoded bases once each."""
    store, path, key = on_a_snapshot
    copy = MemoryStorage()
    for name in store.keys("b"):
        if name != key:
            copy.set_raw("b", name, *store.raw("b", name))
    _new_process(monkeypatch)
    service = make_service(copy, cache=_cache(cache, tmp_path))
    hashes = _Hashes(monkeypatch)

    summary = service.put(path, SPACE)

    assert summary.key == key and _snapshot_ref(copy, key) is not None
    file_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert hashes.found[file_sha] == 2  # copied in, then proven rebuilt
    assert {sha: n for sha, n in hashes.twice().items() if sha != file_sha} == {}


def test_a_download_writes_one_temporary_file_beside_its_destination(
    on_a_snapshot: tuple[MemoryStorage, Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebuild and the recompression write into the download's temporary file: no second one
    beside it, renamed over it."""
    store, path, _ = on_a_snapshot
    made: list[Path] = []
    real = atomic.part_path

    def part_path(dest: Path) -> Path:
        made.append(real(dest))
        return made[-1]

    monkeypatch.setattr(atomic, "part_path", part_path)
    (tmp_path / "downloads").mkdir()

    make_service(store).get(ObjectKey("b", f"rel/{path.name}"), tmp_path / "downloads" / "out.zip")

    assert (tmp_path / "downloads" / "out.zip").read_bytes() == path.read_bytes()
    assert len([p for p in made if p.parent == tmp_path / "downloads"]) == 1
    assert os.listdir(tmp_path / "downloads") == ["out.zip"]


def test_the_file_cache_adopts_a_checked_file_as_it_is(tmp_path: Path) -> None:
    hashes = Counter[str]()

    class Counting(Sha256Hasher):
        def sha256_file(self, path: Path) -> str:
            hashes["file"] += 1
            return super().sha256_file(path)

        def copy_file(self, src: Path, dest: Path, progress: Any = None) -> str:
            hashes["copy"] += 1
            return super().copy_file(src, dest, progress)

    cache = FsCache(
        tmp_path / "c", max_bytes=1 << 20, hasher=Counting(), logger=StdLogger("deltaglider.tests")
    )
    data = os.urandom(10_000)
    sha = hashlib.sha256(data).hexdigest()
    with cache.scratch() as room:
        src = room / "checked"
        src.write_bytes(data)
        inode = src.stat().st_ino
        with cache.adopt(sha, src, origin=HERE) as kept:
            assert kept != src and not src.exists()
            assert kept.stat().st_ino == inode  # the very file: not a copy
    with cache.use(sha, origin=HERE) as cached:
        assert cached is not None and cached.read_bytes() == data
    assert hashes == Counter()


def test_a_file_over_the_cap_is_not_adopted(tmp_path: Path) -> None:
    cache = FsCache(
        tmp_path / "c", max_bytes=100, hasher=Sha256Hasher(), logger=StdLogger("deltaglider.tests")
    )
    memory = MemoryCache(max_bytes=100, hasher=Sha256Hasher())
    data = os.urandom(1000)
    sha = hashlib.sha256(data).hexdigest()
    for each in (cache, memory):
        with each.scratch() as room:
            src = room / "big"
            src.write_bytes(data)
            with each.adopt(sha, src, origin=HERE) as kept:
                assert kept == src and src.read_bytes() == data
        with each.use(sha, origin=HERE) as cached:
            assert cached is None


def test_the_memory_cache_adopts_without_hashing(tmp_path: Path) -> None:
    class Refusing(Sha256Hasher):
        def sha256_bytes(self, data: bytes) -> str:
            raise AssertionError("adopted content is not hashed again")

    cache = MemoryCache(max_bytes=1 << 20, hasher=Refusing())
    data = os.urandom(1000)
    sha = hashlib.sha256(data).hexdigest()
    with cache.scratch() as room:
        (room / "f").write_bytes(data)
        with cache.adopt(sha, room / "f", origin=HERE) as kept:
            assert kept.read_bytes() == data
    with cache.use(sha, origin=HERE) as cached:
        assert cached is not None and cached.read_bytes() == data


def test_the_upload_wing_does_not_import_the_download_wing() -> None:
    folder = Path(put_wing.__file__).parent
    imported = set()
    for module in folder.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert not {name for name in imported if name.startswith("deltaglider.core.get")}


def _fs_cache(folder: Path, cap: int = 1 << 20) -> FsCache:
    return FsCache(folder, max_bytes=cap, hasher=Sha256Hasher(), logger=StdLogger("deltaglider.tests"))


def test_an_entry_already_there_is_kept_and_the_adopted_file_left_in_place(tmp_path: Path) -> None:
    cache = _fs_cache(tmp_path / "c")
    data = os.urandom(5000)
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "first").write_bytes(data)
    assert cache.store(sha, tmp_path / "first", origin=HERE)
    with cache.use(sha, origin=HERE) as cached:
        assert cached is not None
        inode = cached.stat().st_ino
    with cache.scratch() as room:
        (room / "again").write_bytes(data)
        with cache.adopt(sha, room / "again", origin=HERE) as kept:
            assert kept == room / "again" and kept.read_bytes() == data
    with cache.use(sha, origin=HERE) as cached:
        assert cached is not None and cached.stat().st_ino == inode


def test_an_adopted_entry_is_not_evicted_while_its_adopter_reads_it(tmp_path: Path) -> None:
    cache = _fs_cache(tmp_path / "c", cap=15_000)
    first, second = os.urandom(10_000), os.urandom(10_000)
    with cache.scratch() as room:
        (room / "first").write_bytes(first)
        with cache.adopt(hashlib.sha256(first).hexdigest(), room / "first", origin=HERE) as kept:
            (tmp_path / "second").write_bytes(second)
            cache.store(hashlib.sha256(second).hexdigest(), tmp_path / "second", origin=HERE)  # wants room
            assert kept.read_bytes() == first
