"""Races between uploads, deletes and downloads, each forced with hooks in the store (not hoped for).

Every test runs on the memory store and on a local folder. "a" and "b" are two clients with their own
caches, as two processes would be.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support.hooked_storage import HookedStorage
from support.sdk import TOOL, TickingClock, sha256

from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService
from deltaglider.errors import ReferenceInUseError
from deltaglider.ports.storage import StoragePort

SPACE = DeltaSpace("b", "rel")


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StoragePort:
    if request.param == "memory":
        return MemoryStorage()
    root = tmp_path / "store"
    root.mkdir()
    return LocalStorage(root)


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


def client(storage: object, clock: object) -> DeltaService:
    hasher = Sha256Hasher()
    return DeltaService(
        storage=storage,  # type: ignore[arg-type]
        diff=XDelta3Diff(),
        hasher=hasher,
        cache=MemoryCache(max_bytes=1 << 30, hasher=hasher),
        clock=clock,  # type: ignore[arg-type]
        logger=StdLogger("deltaglider.tests"),
        metrics=NoopMetrics(),
        tool_version=TOOL,
    )


def _readable(store: StoragePort, clock: TickingClock, key: str, tmp_path: Path) -> bytes:
    """The file's bytes as a fresh client (empty cache) gets them."""
    out = tmp_path / "out" / key.replace("/", "_")
    out.parent.mkdir(exist_ok=True)
    client(store, clock).get(ObjectKey("b", key), out)
    return out.read_bytes()


def _noise(tmp_path: Path, name: str) -> Path:
    """A file of the same name as a release that cannot be a small delta: stored whole."""
    path = tmp_path / "noise" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(os.urandom(200_000))
    return path


# Finding 1: a delete races an upload that encodes against the reference.


def test_deleting_the_last_delta_keeps_the_reference_an_upload_is_using(
    store: StoragePort, clock: TickingClock, releases: list[Path], tmp_path: Path
) -> None:
    hooked = HookedStorage(store)
    a, b = client(hooked, clock), client(store, clock)
    a.put(releases[0], SPACE)

    def delete_the_last_delta() -> None:
        b.delete(ObjectKey("b", "rel/app-1.0.zip"))
        assert store.head("b", "rel/reference.bin") is not None

    hooked.before("put_file", "rel/app-1.1.zip.delta", delete_the_last_delta)
    assert a.put(releases[1], SPACE).operation == "PUT_DELTA"
    assert _readable(store, clock, "rel/app-1.1.zip", tmp_path) == releases[1].read_bytes()


def test_an_upload_puts_back_a_reference_removed_while_it_encoded(
    store: StoragePort, clock: TickingClock, releases: list[Path], tmp_path: Path
) -> None:
    hooked = HookedStorage(store)
    a, b = client(hooked, clock), client(store, clock)
    a.put(releases[0], SPACE)

    def remove_everything() -> None:
        b.delete(ObjectKey("b", "rel/app-1.0.zip"))
        assert b.delete(ObjectKey("b", "rel/reference.bin")).deleted == ["rel/reference.bin"]

    hooked.before("put_file", "rel/app-1.1.zip.delta", remove_everything)
    assert a.put(releases[1], SPACE).operation == "PUT_DELTA"
    assert _readable(store, clock, "rel/app-1.1.zip", tmp_path) == releases[1].read_bytes()


def test_an_upload_that_sees_its_reference_announced_for_removal_keeps_it_elsewhere(
    store: StoragePort, clock: TickingClock, releases: list[Path], tmp_path: Path
) -> None:
    """The remover announced the removal and listed no dependent; the upload stored its delta right
    after that listing, and, seeing the removal announced, kept the reference's content under its own
    base key before it reported success: the file never stops being readable."""
    hooked = HookedStorage(store)
    a, b = client(store, clock), client(hooked, clock)
    a.put(releases[0], SPACE)
    b.delete(ObjectKey("b", "rel/app-1.0.zip"))
    hooked.after("list", "rel/", lambda: a.put(releases[1], SPACE))
    seen: list[bytes] = []
    # Just before the reference goes: the acknowledged file reads back already, and after.
    hooked.before(
        "delete_if_match",
        "rel/reference.bin",
        lambda: seen.append(_readable(store, clock, "rel/app-1.1.zip", tmp_path)),
    )
    assert b.delete(ObjectKey("b", "rel/reference.bin")).deleted == ["rel/reference.bin"]
    assert store.head("b", f"rel/reference-{sha256(releases[0])[:16]}.bin") is not None
    assert seen == [releases[1].read_bytes()]
    assert _readable(store, clock, "rel/app-1.1.zip", tmp_path) == releases[1].read_bytes()


def test_a_remover_that_lists_a_delta_stored_meanwhile_keeps_the_reference(
    store: StoragePort, clock: TickingClock, releases: list[Path], tmp_path: Path
) -> None:
    """The upload's delta was stored after the removal was announced but before the remover looked
    for dependents: the remover sees it and refuses."""
    hooked = HookedStorage(store)
    a, b = client(store, clock), client(hooked, clock)
    a.put(releases[0], SPACE)
    b.delete(ObjectKey("b", "rel/app-1.0.zip"))
    hooked.before("list", "rel/", lambda: a.put(releases[1], SPACE))
    with pytest.raises(ReferenceInUseError, match=r"app-1\.1\.zip\.delta"):
        b.delete(ObjectKey("b", "rel/reference.bin"))
    assert store.head("b", "rel/reference.bin") is not None
    assert _readable(store, clock, "rel/app-1.1.zip", tmp_path) == releases[1].read_bytes()


# Finding 2: one name stored whole and as a delta at once.


@pytest.mark.parametrize("first", ["delta", "whole"])
def test_two_forms_of_one_name_at_once_keep_the_last_writers(
    store: StoragePort, clock: TickingClock, releases: list[Path], tmp_path: Path, first: str
) -> None:
    hooked = HookedStorage(store)
    a, b = client(hooked, clock), client(store, clock)
    a.put(releases[0], SPACE)
    noise = _noise(tmp_path, "app-1.1.zip")
    # The one that starts first is interrupted right after its write by the other, which completes.
    early, late = (releases[1], noise) if first == "delta" else (noise, releases[1])
    early_key = "rel/app-1.1.zip.delta" if first == "delta" else "rel/app-1.1.zip"

    def put(service: DeltaService, path: Path) -> None:
        # Noise is stored whole with deltas off (else it would become a new base, in delta form).
        service.put(path, SPACE, max_ratio=0.0 if path == noise else None)

    hooked.after("put_file", early_key, lambda: put(b, late))
    put(a, early)
    assert _readable(store, clock, "rel/app-1.1.zip", tmp_path) == late.read_bytes()
    keys = _keys(store)
    assert sum(k.startswith("rel/app-1.1.zip") for k in keys) == 1


def test_a_delete_of_the_newer_form_in_the_head_delete_window_is_undone(
    store: StoragePort, clock: TickingClock, releases: list[Path], tmp_path: Path
) -> None:
    """Writer a (whole) saw an old delta and is about to delete it as stale when writer b stores a
    newer delta there: a's delete removes b's object, so a must find its own gone-or-kept state and
    one form must remain."""
    hooked = HookedStorage(store)
    a, b = client(hooked, clock), client(store, clock)
    a.put(releases[0], SPACE)
    a.put(releases[1], SPACE)  # app-1.1.zip as a delta
    hooked.before("delete", "rel/app-1.1.zip.delta", lambda: b.put(releases[1], SPACE))
    a.put(_noise(tmp_path, "app-1.1.zip"), SPACE, max_ratio=0.0)
    keys = _keys(store)
    assert sum(k.startswith("rel/app-1.1.zip") for k in keys) == 1
    _readable(store, clock, "rel/app-1.1.zip", tmp_path)


def test_a_reader_finds_a_name_while_it_flips_between_forms(
    store: StoragePort, clock: TickingClock, releases: list[Path], tmp_path: Path
) -> None:
    hooked = HookedStorage(store)
    reader, writer = client(hooked, clock), client(store, clock)
    writer.put(releases[0], SPACE)
    writer.put(releases[1], SPACE)
    noise = _noise(tmp_path, "app-1.1.zip")
    # The reader is about to GET the delta form (the likely one) when the writer flips the name to whole.
    hooked.before("get_file", "rel/app-1.1.zip.delta", lambda: writer.put(noise, SPACE, max_ratio=0.0))
    out = tmp_path / "got.zip"
    reader.get(ObjectKey("b", "rel/app-1.1.zip"), out)
    assert sha256(out) == sha256(noise)


def _keys(store: StoragePort) -> list[str]:
    return [obj.key for obj in store.list("b", "", recursive=True)]


class _Behind:
    """A machine whose clock is an hour behind the others'."""

    def __init__(self, clock: TickingClock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now() - timedelta(hours=1)


def test_a_later_upload_wins_even_from_a_machine_whose_clock_is_behind(
    store: StoragePort, clock: TickingClock, releases: list[Path], tmp_path: Path
) -> None:
    a, behind = client(store, clock), client(store, _Behind(clock))
    a.put(releases[0], SPACE)
    noise = _noise(tmp_path, "app-1.1.zip")
    a.put(noise, SPACE, max_ratio=0.0)
    assert behind.put(releases[1], SPACE).operation == "PUT_DELTA"
    assert _keys(store).count("rel/app-1.1.zip") == 0
    a.put(noise, SPACE, max_ratio=0.0)
    assert behind.put(releases[1], SPACE).operation == "PUT_DELTA"
    assert _readable(store, clock, "rel/app-1.1.zip", tmp_path) == releases[1].read_bytes()


def test_a_download_follows_a_name_that_changed_form_after_it_was_found(
    store: StoragePort, clock: TickingClock, releases: list[Path], tmp_path: Path
) -> None:
    hooked = HookedStorage(store)
    reader, writer = client(hooked, clock), client(store, clock)
    writer.put(releases[0], SPACE)
    writer.put(releases[1], SPACE)
    noise = _noise(tmp_path, "app-1.1.zip")
    # The reader is about to download the delta when the name is stored whole instead.
    hooked.before("get_file", "rel/app-1.1.zip.delta", lambda: writer.put(noise, SPACE, max_ratio=0.0))
    out = tmp_path / "got.zip"
    assert not reader.get(ObjectKey("b", "rel/app-1.1.zip"), out).reconstructed
    assert sha256(out) == sha256(noise)
