"""A delta is rebuilt only from a base of its own DeltaSpace: whatever its ``dg-ref-key`` (or the
gateway's ``dg-ref-path``) names, nothing outside its folder is read, from the store or from the
cache, and no message prints the SHA-256 of something the caller did not ask for."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest
from support.hooked_storage import HookedStorage
from support.sdk import make_service

from deltaglider.adapters.cache_fs import FsCache
from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.rebuild.sources import candidate_keys, derived_origin
from deltaglider.errors import DeltaGliderError
from deltaglider.ports.cache import CachePort
from deltaglider.ports.storage import StoragePort

BUCKET = "srv"
SECRET = DeltaSpace(BUCKET, "secret")
APP = DeltaSpace(BUCKET, "app")
PLANTED = "app/stolen.zip.delta"


def _storage(kind: str, tmp_path: Path) -> StoragePort:
    # "local" is a folder store, as a plain path or a file:// endpoint reaches it.
    return MemoryStorage() if kind == "memory" else LocalStorage(tmp_path / "store")


def _copy(storage: StoragePort, src: str, dst: str, tmp_path: Path, **meta: str | None) -> None:
    """Stores a copy of ``src`` at ``dst``, its metadata changed by ``meta`` (None removes a key)."""
    head = storage.head(BUCKET, src)
    assert head is not None
    local = tmp_path / "copied"
    storage.get_file(BUCKET, src, local)
    metadata = dict(head.metadata)
    for name, value in meta.items():
        metadata.pop(name.replace("_", "-"), None)
        if value is not None:
            metadata[name.replace("_", "-")] = value
    storage.put_file(BUCKET, dst, local, metadata)
    local.unlink()


def _victim(storage: StoragePort, releases: list[Path]) -> str:
    """A family in another folder: its reference and one delta. Returns the delta's key."""
    service = make_service(storage)
    service.put(releases[0], SECRET)
    summary = service.put(releases[1], SECRET)
    assert summary.operation == "PUT_DELTA"
    return summary.key


def _outside(hooked: HookedStorage) -> list[tuple[str, str | None]]:
    return [(op, key) for op, key in hooked.calls if key is not None and not key.startswith("app/")]


@pytest.mark.parametrize("kind", ["memory", "local"])
@pytest.mark.parametrize("own_reference", [True, False])
@pytest.mark.parametrize("spelling", ["dg-ref-key", "dg-ref-path"])
def test_a_delta_naming_another_folders_reference_is_not_rebuilt_from_it(
    kind: str, own_reference: bool, spelling: str, releases: list[Path], tmp_path: Path
) -> None:
    storage = _storage(kind, tmp_path)
    victim_delta = _victim(storage, releases)
    if own_reference:
        make_service(storage).put(_unrelated(tmp_path), APP)
    if spelling == "dg-ref-key":
        _copy(storage, victim_delta, PLANTED, tmp_path)  # dg-ref-key: secret/reference.bin
    else:
        _copy(
            storage, victim_delta, PLANTED, tmp_path, dg_ref_key=None, dg_ref_path="../secret/reference.bin"
        )
    hooked = HookedStorage(storage)
    out = tmp_path / "out" / "stolen.zip"
    with pytest.raises(DeltaGliderError):
        make_service(hooked).get(ObjectKey(BUCKET, "app/stolen.zip"), out)
    assert _outside(hooked) == []
    assert not out.exists()


def _unrelated(tmp_path: Path) -> Path:
    path = tmp_path / "mine.zip"
    path.write_bytes(hashlib.sha256(b"seed").digest() * 5000)
    return path


def test_a_delta_naming_any_file_of_the_store_does_not_read_it(
    releases: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On a plain-path store every folder under the same top-level one is in the bucket: a file
    there that is no base at all must not be read either, nor its SHA-256 told."""
    storage = LocalStorage(tmp_path / "store")
    victim_delta = _victim(storage, releases)
    secret = releases[0].read_bytes()  # what the victim's delta was made against
    (tmp_path / "store" / BUCKET / "home").mkdir()
    (tmp_path / "store" / BUCKET / "home" / "notes.txt").write_bytes(secret)
    secret_sha = hashlib.sha256(secret).hexdigest()
    for ref_sha in ("0" * 64, secret_sha):  # step 1 of the attack guesses; step 2 knows
        _copy(storage, victim_delta, PLANTED, tmp_path, dg_ref_key="home/notes.txt", dg_ref_sha256=ref_sha)
        hooked = HookedStorage(storage)
        with caplog.at_level(logging.DEBUG), pytest.raises(DeltaGliderError) as raised:
            make_service(hooked).get(ObjectKey(BUCKET, "app/stolen.zip"), tmp_path / "out.zip")
        assert _outside(hooked) == []
        assert not (tmp_path / "out.zip").exists()
        if ref_sha != secret_sha:
            assert secret_sha not in caplog.text and secret_sha not in str(raised.value)


@pytest.mark.parametrize("backend", ["fs", "memory"])
def test_a_delta_naming_no_existing_key_is_not_served_from_the_cache(
    backend: str, releases: list[Path], tmp_path: Path
) -> None:
    """The cache holds the other folder's reference (this machine read it before): a delta elsewhere
    that names its SHA-256 must not get it from there."""
    storage = MemoryStorage()
    victim_delta = _victim(storage, releases)
    cache: CachePort = (
        FsCache(tmp_path / "cache", max_bytes=1 << 30, hasher=Sha256Hasher(), logger=StdLogger("t"))
        if backend == "fs"
        else MemoryCache(max_bytes=1 << 30, hasher=Sha256Hasher())
    )
    service = make_service(storage, cache=cache)
    service.get(ObjectKey(BUCKET, victim_delta.removesuffix(".delta")), tmp_path / "legit.zip")
    assert (tmp_path / "legit.zip").read_bytes() == releases[1].read_bytes()
    for own_reference in (False, True):
        if own_reference:
            service.put(_unrelated(tmp_path), APP)
        _copy(storage, victim_delta, PLANTED, tmp_path, dg_ref_key="nowhere/reference.bin")
        out = tmp_path / "stolen.zip"
        with pytest.raises(DeltaGliderError):
            service.get(ObjectKey(BUCKET, "app/stolen.zip"), out)
        assert not out.exists()


def test_a_mismatched_reference_is_reported_without_its_hash(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The folder's own reference.bin replaced by other bytes without metadata: the download fails
    naming what it looked at, but not the SHA-256 of what it found there."""
    service = make_service(storage)
    service.put(releases[0], APP)
    key = service.put(releases[1], APP).key
    found = b"something else entirely" * 100
    storage.set_raw(BUCKET, "app/reference.bin", found, {})
    with caplog.at_level(logging.DEBUG), pytest.raises(DeltaGliderError) as raised:
        make_service(storage).get(ObjectKey(BUCKET, key.removesuffix(".delta")), tmp_path / "o.zip")
    found_sha = hashlib.sha256(found).hexdigest()
    assert "app/reference.bin" in str(raised.value)
    assert found_sha not in caplog.text and found_sha not in str(raised.value)


def test_candidates_stay_in_the_deltas_own_folder() -> None:
    assert candidate_keys("app/x.zip.delta", "app/reference.bin") == ["app/reference.bin"]
    assert candidate_keys("app/x.zip.delta", "secret/reference.bin") == ["app/reference.bin"]
    # A folder copied elsewhere: its base is looked for by name in the delta's own folder.
    assert candidate_keys("new/x.zip.delta", "old/reference-0123456789abcdef.bin") == [
        "new/reference-0123456789abcdef.bin",
        "new/reference.bin",
    ]
    assert candidate_keys("new/x.zip.delta", "old/reference-0123456789abcdef.bin.delta")[0] == (
        "new/reference-0123456789abcdef.bin.delta"
    )
    # A file stored whole may be a base, but only the one of that name in the delta's own folder.
    assert candidate_keys("app/x.zip.delta", "home/notes.txt") == ["app/notes.txt", "app/reference.bin"]
    # A delta's name never holds a base; nor does no name at all.
    for named in ("app/y.zip.delta", "app/", ""):
        assert candidate_keys("app/x.zip.delta", named) == ["app/reference.bin"]
    assert candidate_keys("x.zip.delta", "a/reference.bin") == ["reference.bin"]
    assert candidate_keys("a/b/x.zip.delta", None) == ["a/b/reference.bin"]


def test_what_is_derived_from_a_folders_bases_is_cached_for_that_folder_only(tmp_path: Path) -> None:
    ctx = make_service(MemoryStorage())._ctx
    here = derived_origin(ctx, BUCKET, "app/x.zip.delta")
    assert derived_origin(ctx, BUCKET, "app/reference.bin") == here
    assert derived_origin(ctx, BUCKET, "app/sub/x.zip.delta") != here
    assert derived_origin(ctx, BUCKET, "secret/x.zip.delta") != here
    assert derived_origin(ctx, "other", "app/x.zip.delta") != here
    assert derived_origin(ctx, BUCKET, "x.zip.delta") != here
    # Never the origin of a base itself.
    assert here != ctx.storage.url(BUCKET, "app/reference.bin")
