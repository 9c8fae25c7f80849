from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.sdk import make_service

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.format import metadata as md
from deltaglider.core.format.metadata import Kind, decode_value, encode_value
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.errors import MetadataError

SHA = "a" * 64
REF_SHA = "b" * 64

DELTA_FIELDS = {
    "tool": "deltaglider/5.1.0",
    "original_name": "app-2.zip",
    "file_sha256": SHA,
    "file_size": "1234",
    "created_at": "2025-01-01T00:00:00Z",
    "ref_key": "releases/reference.bin",
    "ref_sha256": REF_SHA,
    "delta_size": "99",
    "delta_cmd": "xdelta3 -e -9 -s reference.bin app-2.zip app-2.zip.delta",
}


def spell(fields: dict[str, str], style: str) -> dict[str, str]:
    out = {}
    for field, value in fields.items():
        kebab = field.replace("_", "-")
        out[{"dg-kebab": f"dg-{kebab}", "dg_snake": f"dg_{field}", "snake": field, "kebab": kebab}[style]] = (
            value
        )
    return out


@pytest.mark.parametrize("style", ["dg-kebab", "dg_snake", "snake", "kebab"])
def test_every_spelling_of_a_delta_reads_the_same(style: str) -> None:
    info = md.parse(spell(DELTA_FIELDS, style), "releases/app-2.zip.delta")
    assert info.kind is Kind.DELTA
    assert (info.file_sha256, info.file_size, info.ref_key, info.ref_sha256, info.delta_size) == (
        SHA,
        1234,
        "releases/reference.bin",
        REF_SHA,
        99,
    )
    assert info.original_name == "app-2.zip"


@pytest.mark.parametrize("style", ["dg-kebab", "dg_snake", "snake", "kebab"])
def test_every_spelling_of_a_whole_object_reads_as_whole(style: str) -> None:
    fields = {"file_sha256": SHA, "file_size": "5", "original_name": "n.txt", "compression": "none"}
    info = md.parse(spell(fields, style), "p/n.txt")
    assert info.kind is Kind.WHOLE
    assert info.file_sha256 == SHA
    assert info.file_size == 5


def test_first_non_empty_spelling_wins() -> None:
    meta = {"dg-file-sha256": "", "dg_file_sha256": "", "file_sha256": SHA, "file-sha256": "c" * 64}
    assert md.read_field(meta, "file_sha256") == SHA
    meta = {"dg-file-sha256": "d" * 64, "file_sha256": SHA}
    assert md.read_field(meta, "file_sha256") == "d" * 64


def test_gateway_ref_path_is_resolved_against_the_deltas_prefix() -> None:
    meta = {
        "dg-file-sha256": SHA,
        "dg-file-size": "3",
        "dg-ref-path": "reference.bin",
        "dg-ref-sha256": REF_SHA,
    }
    assert md.parse(meta, "a/b/app.zip.delta").ref_key == "a/b/reference.bin"
    assert md.parse(meta, "app.zip.delta").ref_key == "reference.bin"
    # dg-ref-key, when present, is a full key and wins.
    assert md.parse({**meta, "dg-ref-key": "x/reference.bin"}, "a/app.zip.delta").ref_key == "x/reference.bin"


@pytest.mark.parametrize("ref_path", ["../../reference.bin", "/etc/reference.bin"])
def test_ref_path_leaving_the_bucket_is_refused(ref_path: str) -> None:
    meta = {"dg-file-sha256": SHA, "dg-ref-path": ref_path, "dg-ref-sha256": REF_SHA}
    with pytest.raises(MetadataError):
        md.parse(meta, "a/app.zip.delta")


def test_objects_are_classified() -> None:
    assert md.parse({}, "x.zip").kind is Kind.PLAIN
    assert md.parse({"dg-file-sha256": SHA, "dg-note": "reference"}, "p/reference.bin").kind is Kind.REFERENCE
    assert md.parse({"file_sha256": SHA, "source_name": "a.zip"}, "reference.bin").kind is Kind.REFERENCE
    assert md.parse({"dg-file-sha256": SHA, "dg-note": "passthrough"}, "a.gz").kind is Kind.WHOLE


def test_integers_must_parse() -> None:
    with pytest.raises(MetadataError, match="file_size"):
        md.parse({"dg-file-sha256": SHA, "dg-file-size": "12x", "dg-ref-key": "reference.bin"}, "a.zip.delta")


NOW = datetime(2026, 11, 25, 11, 43, 24, 220702, tzinfo=UTC)


def test_reference_metadata_is_exactly_the_originals() -> None:
    assert md.reference_metadata(
        tool="deltaglider/0.1.0", source_name="a.zip", sha256=SHA, created_at=NOW
    ) == {
        "dg-tool": "deltaglider/0.1.0",
        "dg-source-name": "a.zip",
        "dg-file-sha256": SHA,
        "dg-created-at": "2026-11-25T11:43:24.220702Z",
        "dg-note": "reference",
    }


def test_delta_metadata_is_exactly_the_originals() -> None:
    meta = md.delta_metadata(
        tool="deltaglider/0.1.0",
        original_name="b.zip",
        sha256=SHA,
        size=10,
        created_at=NOW,
        ref_key="rel/reference.bin",
        ref_sha256=REF_SHA,
        delta_size=7,
        write_stamp="00001764071004220702-00ff",
    )
    assert meta == {
        "dg-tool": "deltaglider/0.1.0",
        "dg-original-name": "b.zip",
        "dg-file-sha256": SHA,
        "dg-file-size": "10",
        "dg-created-at": "2026-11-25T11:43:24.220702Z",
        "dg-ref-key": "rel/reference.bin",
        "dg-ref-sha256": REF_SHA,
        "dg-delta-size": "7",
        "dg-delta-cmd": "xdelta3 -e -9 -s reference.bin b.zip b.zip.delta",
        "dg-write-stamp": "00001764071004220702-00ff",
    }
    zero = md.delta_metadata(
        tool="t",
        original_name="b.zip",
        sha256=SHA,
        size=1,
        created_at=NOW,
        ref_key="r",
        ref_sha256=SHA,
        delta_size=1,
        write_stamp="1-0",
        zero_diff=True,
    )
    assert zero["dg-note"] == "zero-diff (reference identical)"


def test_whole_metadata_says_compression_none() -> None:
    meta = md.whole_metadata(
        tool="t", original_name="n.txt", sha256=SHA, size=3, created_at=NOW, write_stamp="1-0"
    )
    assert meta["dg-compression"] == "none"
    assert set(meta) == {
        "dg-tool",
        "dg-original-name",
        "dg-file-sha256",
        "dg-file-size",
        "dg-created-at",
        "dg-compression",
        "dg-write-stamp",
    }
    assert md.parse(meta, "n.txt").kind is Kind.WHOLE


@given(st.text())
def test_metadata_values_are_ascii_and_round_trip(value: str) -> None:
    encoded = encode_value(value)
    assert encoded.isascii()
    assert decode_value(encoded) == value


def test_non_ascii_names_are_stored_with_ascii_metadata(tmp_path: Path) -> None:
    storage = MemoryStorage()
    service = make_service(storage)
    space = DeltaSpace("b", "släpp/版本")
    base = bytes(range(256)) * 400
    first = tmp_path / "résumé-1.0.zip"
    first.write_bytes(base)
    second = tmp_path / "résumé-1.1.zip"
    second.write_bytes(base[:5000] + b"changed" + base[5000:])
    service.put(first, space)
    summary = service.put(second, space)
    assert summary.operation == "PUT_DELTA"
    for head in storage.list("b", ""):
        meta = storage.head("b", head.key)
        assert meta is not None
        assert all(v.isascii() for v in meta.metadata.values()), meta.metadata
    out = tmp_path / "out.zip"
    service.get(ObjectKey("b", summary.key), out)
    assert out.read_bytes() == second.read_bytes()


def test_a_references_source_name_is_its_name() -> None:
    meta = md.reference_metadata(tool="t", source_name="app-1.0.zip", sha256=SHA, created_at=NOW)
    info = md.parse(meta, "rel/reference.bin")
    assert (info.kind, info.original_name) == (Kind.REFERENCE, "app-1.0.zip")
    assert (
        md.parse({"dg-file-sha256": SHA, "source_name": "old.zip"}, "reference.bin").original_name
        == "old.zip"
    )
