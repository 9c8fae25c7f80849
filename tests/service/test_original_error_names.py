"""The original DeltaGlider's error names import from where its users import them, and an ``except``
of each catches the error ours raises for the same failure."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from deltaglider import codec, errors
from deltaglider.core import errors as original_names
from deltaglider.factory import create_client

#: Every name of the original 6.2.0's ``deltaglider/core/errors.py``.
ORIGINAL_NAMES = (
    "DeltaGliderError",
    "NotFoundError",
    "ReferenceCreationRaceError",
    "IntegrityMismatchError",
    "DiffEncodeError",
    "DiffDecodeError",
    "StorageIOError",
    "PolicyViolationWarning",
    "CacheMissError",
    "CacheCorruptionError",
)
#: What the original's ``deltaglider.core`` exported of them.
ORIGINAL_CORE_EXPORTS = (
    "DeltaGliderError",
    "NotFoundError",
    "ReferenceCreationRaceError",
    "IntegrityMismatchError",
    "DiffEncodeError",
    "DiffDecodeError",
    "StorageIOError",
    "PolicyViolationWarning",
)


@pytest.mark.parametrize("module", ["deltaglider.core.errors", "deltaglider.core"])
def test_every_original_name_imports_from_its_module(module: str) -> None:
    names = ORIGINAL_NAMES if module.endswith("errors") else ORIGINAL_CORE_EXPORTS
    loaded = importlib.import_module(module)
    for name in names:
        value = getattr(loaded, name)
        assert isinstance(value, type), name
        expected_root = Warning if name == "PolicyViolationWarning" else errors.DeltaGliderError
        assert issubclass(value, expected_root), name


def test_each_alias_is_the_class_raised_for_that_failure() -> None:
    assert original_names.DeltaGliderError is errors.DeltaGliderError
    assert original_names.NotFoundError is errors.NotFoundError
    assert original_names.IntegrityMismatchError is errors.IntegrityError
    assert original_names.StorageIOError is errors.StorageError
    assert original_names.DiffDecodeError is errors.CodecError
    assert original_names.DiffEncodeError is errors.CodecError
    assert original_names.CacheMissError is errors.CacheError
    assert original_names.CacheCorruptionError is errors.CacheError


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DG_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "store" / "bucket").mkdir(parents=True)
    return f"file://{tmp_path}/store"


def test_a_missing_object_is_caught_as_the_originals_not_found(store: str, tmp_path: Path) -> None:
    client = create_client(endpoint_url=store)
    with pytest.raises(original_names.NotFoundError):
        client.download("s3://bucket/rel/none.zip", tmp_path / "out")


def test_tampered_bytes_are_caught_as_the_originals_integrity_mismatch(store: str, tmp_path: Path) -> None:
    client = create_client(endpoint_url=store)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"release notes\n" * 10)
    summary = client.upload(notes, "s3://bucket/rel/")
    stored = Path(store.removeprefix("file://")) / "bucket" / summary.key
    stored.write_bytes(b"RELEASE NOTES\n" * 10)  # same size, other bytes
    with pytest.raises(original_names.IntegrityMismatchError):
        client.download("s3://bucket/rel/notes.txt", tmp_path / "out.txt")


def test_a_corrupt_delta_is_caught_as_the_originals_decode_error() -> None:
    with pytest.raises(original_names.DiffDecodeError):
        codec.decode(b"the source", b"not a VCDIFF delta at all")
