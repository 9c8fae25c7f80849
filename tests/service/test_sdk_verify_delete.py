from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.sdk import make_service

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.errors import NotVerifiableError, ReferenceInUseError

SPACE = DeltaSpace("b", "rel")


def _stored(storage: MemoryStorage, files: list[Path]) -> None:
    service = make_service(storage)
    for path in files:
        service.put(path, SPACE)


def test_verify_works_on_deltas_references_and_whole_objects(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("n")
    _stored(storage, [*releases[:2], notes])
    service = make_service(storage)
    delta = service.verify(ObjectKey("b", "rel/app-1.1.zip"))
    assert (delta.valid, delta.operation, delta.key) == (True, "VERIFY_DELTA", "rel/app-1.1.zip.delta")
    assert delta.actual_hash == delta.expected_hash
    reference = service.verify(ObjectKey("b", "rel/reference.bin"))
    assert (reference.valid, reference.operation, reference.key) == (True, "VERIFY", "rel/reference.bin")
    assert service.verify(ObjectKey("b", "rel/notes.txt")).valid


def test_verify_reports_damage(storage: MemoryStorage, releases: list[Path]) -> None:
    _stored(storage, releases[:2])
    data, meta = storage.raw("b", "rel/reference.bin")
    storage.set_raw("b", "rel/reference.bin", data[:-1] + bytes([data[-1] ^ 1]), meta)
    service = make_service(storage)
    ref = service.verify(ObjectKey("b", "rel/reference.bin"))
    assert not ref.valid
    assert ref.actual_hash != ref.expected_hash
    delta = service.verify(ObjectKey("b", "rel/app-1.1.zip"))
    assert not delta.valid
    assert delta.details and "reference" in delta.details


def test_verify_without_a_sha_is_a_clear_error(storage: MemoryStorage) -> None:
    storage.set_raw("b", "rel/raw.zip", b"x", {})
    with pytest.raises(NotVerifiableError, match="no SHA-256"):
        make_service(storage).verify(ObjectKey("b", "rel/raw.zip"))


def test_deleting_a_reference_in_use_is_refused_unless_forced(
    storage: MemoryStorage, releases: list[Path]
) -> None:
    _stored(storage, releases[:3])
    service = make_service(storage)
    with pytest.raises(ReferenceInUseError, match="3 delta"):
        service.delete(ObjectKey("b", "rel/reference.bin"))
    assert "rel/reference.bin" in storage.keys("b")
    result = service.delete(ObjectKey("b", "rel/reference.bin"), force=True)
    assert result.deleted == ["rel/reference.bin"]
    assert result.warnings
    assert "rel/reference.bin" not in storage.keys("b")


def test_the_reference_stays_after_its_last_delta_until_deleted_by_name(
    storage: MemoryStorage, releases: list[Path]
) -> None:
    _stored(storage, releases[:2])
    service = make_service(storage)
    first = service.delete(ObjectKey("b", "rel/app-1.0.zip"))
    assert first.deleted == ["rel/app-1.0.zip.delta"]
    assert first.warnings == []
    last = service.delete(ObjectKey("b", "rel/app-1.1.zip"))
    assert last.deleted == ["rel/app-1.1.zip.delta"]
    assert "rel/reference.bin is kept" in last.warnings[0]
    assert storage.keys("b") == ["rel/reference.bin"]
    gone = service.delete(ObjectKey("b", "rel/reference.bin"))
    assert gone.deleted == ["rel/reference.bin"]
    assert storage.keys("b") == []


def test_deleting_a_whole_file_leaves_the_space_alone(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("n")
    _stored(storage, [releases[0], notes])
    result = make_service(storage).delete(ObjectKey("b", "rel/notes.txt"))
    assert result.deleted == ["rel/notes.txt"]
    assert storage.keys("b") == ["rel/app-1.0.zip.delta", "rel/reference.bin"]


def test_listing_shows_names_and_both_sizes(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    _stored(storage, [*releases[:2], notes])
    storage.set_raw("b", "rel/sub/inner.zip", b"x", {})
    service = make_service(storage)
    entries = list(service.list(SPACE))
    # Names are relative to the listed folder (as on S3 and on a local store); a sub-folder shows once.
    assert [e.name for e in entries] == ["app-1.0.zip", "app-1.1.zip", "notes.txt", "sub/"]
    by_name = {e.name: e for e in entries}
    assert by_name["app-1.1.zip"].original_size == releases[1].stat().st_size
    assert by_name["app-1.1.zip"].stored_size < 1000
    assert by_name["app-1.1.zip"].is_delta
    assert by_name["app-1.1.zip"].key == "rel/app-1.1.zip.delta"
    assert by_name["notes.txt"].original_size == by_name["notes.txt"].stored_size == 5
    assert not by_name["notes.txt"].is_delta
    assert by_name["sub/"].is_prefix and not by_name["app-1.0.zip"].is_prefix
    deep = [e.name for e in service.list(SPACE, recursive=True)]
    assert "sub/inner.zip" in deep and "sub/" not in deep


def test_stats_add_up(storage: MemoryStorage, releases: list[Path]) -> None:
    _stored(storage, releases)
    stats = make_service(storage).stats(DeltaSpace("b", ""))
    originals = sum(p.stat().st_size for p in releases)
    stored = sum(len(storage.raw("b", k)[0]) for k in storage.keys("b"))
    assert (
        stats.file_count,
        stats.delta_count,
        stats.reference_file_count,
        stats.whole_count,
        stats.reference_count,
    ) == (4, 3, 1, 0, 1)
    assert stats.original_bytes == originals
    assert stats.stored_bytes == stored
    assert stats.reference_bytes == releases[0].stat().st_size
    assert 60 < stats.savings_percent < 100


def test_verify_checks_the_stored_reference_not_the_cached_copy(
    storage: MemoryStorage, releases: list[Path]
) -> None:
    _stored(storage, releases[:2])
    service = make_service(storage)
    key = ObjectKey("b", "rel/app-1.1.zip")
    assert service.verify(key).valid  # the reference is now in this service's cache
    data, meta = storage.raw("b", "rel/reference.bin")
    storage.set_raw("b", "rel/reference.bin", data[:-1] + bytes([data[-1] ^ 1]), meta)
    damaged = service.verify(key)
    assert not damaged.valid
    assert damaged.details is not None and "reference" in damaged.details
    assert service.verify(key, use_cache=True).valid


def _both_forms(storage: MemoryStorage, releases: list[Path], tmp_path: Path) -> None:
    """rel/app-1.1.zip left in both forms, as an upload that died between writing the new form and
    removing the old one leaves it."""
    _stored(storage, releases[:2])
    delta = storage.raw("b", "rel/app-1.1.zip.delta")
    other = tmp_path / "app-1.1.zip"
    other.write_bytes(b"not like the others" * 100)
    make_service(storage).put(other, SPACE, max_ratio=0.0)  # whole; removes the delta form
    storage.set_raw("b", "rel/app-1.1.zip.delta", *delta)
    assert {"rel/app-1.1.zip", "rel/app-1.1.zip.delta"} <= set(storage.keys("b"))


@pytest.mark.parametrize("asked", ["rel/app-1.1.zip", "rel/app-1.1.zip.delta"])
def test_deleting_a_name_left_in_both_forms_removes_both(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path, asked: str
) -> None:
    _both_forms(storage, releases, tmp_path)
    result = make_service(storage).delete(ObjectKey("b", asked))
    assert sorted(result.deleted) == ["rel/app-1.1.zip", "rel/app-1.1.zip.delta"]
    assert "rel/reference.bin" in storage.keys("b")
    assert not {"rel/app-1.1.zip", "rel/app-1.1.zip.delta"} & set(storage.keys("b"))


def test_deleting_a_whole_file_leaves_an_unrelated_name_ending_in_delta(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    # The original stored a file literally named "notes.delta" whole under that key: not a form of
    # "notes", which must survive when "notes" is deleted.
    service = make_service(storage)
    notes = tmp_path / "notes"
    notes.write_text("mine")
    service.put(notes, SPACE)
    storage.set_raw("b", "rel/notes.delta", b"theirs", {"dg-compression": "none"})
    assert make_service(storage).delete(ObjectKey("b", "rel/notes")).deleted == ["rel/notes"]
    assert "rel/notes.delta" in storage.keys("b")


def test_a_name_left_in_both_forms_is_listed_once_as_a_download_reads_it(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _both_forms(storage, releases, tmp_path)
    service = make_service(storage)
    entries = [e for e in service.list(SPACE) if e.name == "app-1.1.zip"]
    assert len(entries) == 1
    got = service.get(ObjectKey("b", "rel/app-1.1.zip"), tmp_path / "got.zip")
    assert entries[0].key == got.key


class _CountingHeads:
    """The memory store, with each HEAD of a release's delta taking a moment: records how many were in
    flight at once, and how many there were."""

    def __init__(self, inner: MemoryStorage) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._in_flight = 0
        self.peak = 0
        self.delta_heads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def head(self, bucket: str, key: str) -> Any:
        if not (key.startswith("rel/app-") and key.endswith(".delta")):
            return self._inner.head(bucket, key)
        with self._lock:
            self._in_flight += 1
            self.delta_heads += 1
            self.peak = max(self.peak, self._in_flight)
        try:
            time.sleep(0.05)
            return self._inner.head(bucket, key)
        finally:
            with self._lock:
                self._in_flight -= 1


def test_deleting_a_reference_heads_its_dependents_several_at_once_and_each_once(
    storage: MemoryStorage, releases: list[Path]
) -> None:
    _stored(storage, releases[:3])
    counting = _CountingHeads(storage)
    with pytest.raises(ReferenceInUseError, match="3 delta"):
        make_service(counting).delete(ObjectKey("b", "rel/reference.bin"))  # type: ignore[arg-type]
    assert counting.delta_heads == 3
    assert counting.peak > 1
