"""An upload's own options (tags, storage class, Content-Type, user metadata) reach each object it
writes by that object's role: a plain function (``core.put.policy``), no metadata read back, no service
built per upload."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.families import SPACE, drifting_family
from support.sdk import make_service

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.adapters.storage_options import OptionsStorage
from deltaglider.client import DeltaGliderClient
from deltaglider.core.put.policy import DELTA_CONTENT_TYPE, FILE_TAG, Role, policy
from deltaglider.core.service import DeltaService
from deltaglider.ports.storage import PutOptions

ASKED = PutOptions(
    content_type=None, storage_class="GLACIER", tags={"team": "core"}, metadata={"owner": "ops"}
)


def test_a_base_gets_nothing_of_the_upload_but_a_readable_storage_class() -> None:
    assert policy(Role.BASE, ASKED, "app.zip") == PutOptions()
    assert policy(Role.BASE, PutOptions(storage_class="STANDARD_IA", tags={"a": "1"}), "x") == PutOptions(
        storage_class="STANDARD_IA"
    )


def test_a_file_stored_whole_as_a_base_keeps_its_tags_but_never_the_lifecycle_tag() -> None:
    assert policy(Role.BASE_FILE, ASKED, "app.zip") == PutOptions(
        content_type="application/zip", storage_class=None, tags={"team": "core"}, metadata={"owner": "ops"}
    )


def test_files_and_deltas_carry_the_lifecycle_tag_and_a_delta_is_octets() -> None:
    tagged = {"team": "core", FILE_TAG[0]: FILE_TAG[1]}
    assert policy(Role.DELTA, ASKED, "app.zip") == PutOptions(
        content_type=DELTA_CONTENT_TYPE, storage_class="GLACIER", tags=tagged, metadata={"owner": "ops"}
    )
    assert policy(Role.FILE, ASKED, "notes.txt") == PutOptions(
        content_type="text/plain", storage_class="GLACIER", tags=tagged, metadata={"owner": "ops"}
    )
    assert policy(Role.FILE, PutOptions(content_type="text/x-mine"), "a.tar.gz").content_type == "text/x-mine"
    assert policy(Role.FILE, PutOptions(), "a.tar.gz").content_type == "application/gzip"


def test_no_base_carries_the_tag_lifecycle_rules_expire_files_by(tmp_path: Path) -> None:
    """Snapshots and files stored whole as bases are needed by later deltas: a lifecycle rule that
    expires or archives files (by their ``dg-kind=file`` tag) must not select them."""
    inner = MemoryStorage()
    service = make_service(inner)
    options = PutOptions(tags={"team": "core"})
    for path in drifting_family(tmp_path, 12):
        service.put(path, SPACE, options=options)
    far = tmp_path / "far.iso"
    far.write_bytes(random.Random(2).randbytes(1 << 20))
    assert service.put(far, SPACE, options=options).key == "rel/far.iso"  # past max_ratio: a base
    tagged = {key: inner.options("b", key).tags for key in inner.keys("b")}
    bases = [key for key in tagged if key.rpartition("/")[2].startswith("reference")]
    assert any(key.endswith(".bin.delta") for key in bases)  # a snapshot is among them
    for key in bases:
        assert tagged[key] == {}, key
    assert tagged["rel/far.iso"] == {"team": "core"}
    deltas = [key for key in tagged if key.endswith(".iso.delta")]
    assert deltas and all(tagged[key] == {"team": "core", FILE_TAG[0]: FILE_TAG[1]} for key in deltas)


def test_an_upload_with_options_of_its_own_builds_no_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = MemoryStorage()
    client = DeltaGliderClient(make_service(inner), put_options=PutOptions(tags={"team": "core"}))

    def no_clone(self: DeltaService, storage: object) -> DeltaService:
        raise AssertionError("a service was built for one upload")

    monkeypatch.setattr(DeltaService, "with_storage", no_clone)
    first, second = drifting_family(tmp_path, 2)
    client.upload(first, "s3://b/rel/", tags={"release": "1"})
    client.upload(second, "s3://b/rel/", tags={"release": "2", "team": "web"}, storage_class="standard_ia")

    assert inner.options("b", "rel/reference.bin") == PutOptions()
    assert inner.options("b", "rel/app-00.iso.delta").tags == {
        "team": "core",
        "release": "1",
        "dg-kind": "file",
    }
    second_delta = inner.options("b", "rel/app-01.iso.delta")
    assert second_delta.tags == {"team": "web", "release": "2", "dg-kind": "file"}
    assert second_delta.storage_class == "STANDARD_IA"


def test_the_store_reads_no_metadata_to_choose_how_a_write_is_stored(tmp_path: Path) -> None:
    """A write that names its options is stored as asked, whatever its metadata says; one that names
    none (the protocol's own: a base kept for its dependents, a removal marker) gets the client's
    storage class unless an archive class, and nothing else."""
    src = tmp_path / "f"
    src.write_bytes(b"x")
    inner = MemoryStorage()
    store = OptionsStorage(inner, PutOptions(storage_class="STANDARD_IA", tags={"team": "core"}))
    asked = PutOptions(tags={"a": "1"})
    store.put_file("b", "rel/reference.bin", src, {"dg-note": "reference"}, options=asked)
    store.put_file("b", "rel/reference-0123456789abcdef.bin", src, {"dg-note": "reference"})
    assert inner.options("b", "rel/reference.bin") == asked
    assert inner.options("b", "rel/reference-0123456789abcdef.bin") == PutOptions(storage_class="STANDARD_IA")
    archived = OptionsStorage(inner, PutOptions(storage_class="GLACIER"))
    assert archived.put_file_if_absent("b", "rel/kept", src, {})
    assert inner.options("b", "rel/kept") == PutOptions()
