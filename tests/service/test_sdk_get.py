from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from support.sdk import leftovers, make_service, sha256

from deltaglider import create_client
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.get import flow as get_flow
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.errors import IntegrityError, InvalidURLError, NotFoundError, StorageError

SPACE = DeltaSpace("b", "rel")


def _stored(storage: MemoryStorage, releases: list[Path]) -> None:
    service = make_service(storage)
    for path in releases:
        service.put(path, SPACE)


def test_every_file_comes_back_byte_exact(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _stored(storage, releases)
    service = make_service(storage)
    for path in releases:
        out = tmp_path / "out" / path.name
        summary = service.get(ObjectKey("b", f"rel/{path.name}"), out)
        assert out.read_bytes() == path.read_bytes()
        assert summary.operation == "GET_DELTA"
        assert summary.reconstructed
        assert summary.hash == sha256(path)
        assert summary.key == f"rel/{path.name}.delta"


def test_the_explicit_delta_key_works_too(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _stored(storage, releases[:2])
    out = tmp_path / "x.zip"
    make_service(storage).get(ObjectKey("b", "rel/app-1.1.zip.delta"), out)
    assert out.read_bytes() == releases[1].read_bytes()


def test_output_folder_gets_the_files_name(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _stored(storage, releases[:2])
    folder = tmp_path / "dl"
    folder.mkdir()
    make_service(storage).get(ObjectKey("b", "rel/app-1.1.zip"), folder)
    assert (folder / "app-1.1.zip").read_bytes() == releases[1].read_bytes()


def test_a_key_that_would_escape_the_output_folder_is_refused(storage: MemoryStorage, tmp_path: Path) -> None:
    storage.set_raw("b", "rel/..", b"evil", {})
    folder = tmp_path / "dl"
    folder.mkdir()
    with pytest.raises(InvalidURLError):
        make_service(storage).get(ObjectKey("b", "rel/.."), folder)
    assert leftovers(tmp_path) == ["dl"]


def test_corrupt_delta_leaves_no_file_and_says_why(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _stored(storage, releases[:2])
    data, meta = storage.raw("b", "rel/app-1.1.zip.delta")
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF
    storage.set_raw("b", "rel/app-1.1.zip.delta", bytes(damaged), meta)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(IntegrityError, match=r"s3://b/rel/app-1\.1\.zip\.delta"):
        make_service(storage).get(ObjectKey("b", "rel/app-1.1.zip"), out_dir / "app.zip")
    assert leftovers(out_dir) == []


def test_wrong_recorded_sha_leaves_no_file(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _stored(storage, releases[:2])
    data, meta = storage.raw("b", "rel/app-1.1.zip.delta")
    storage.set_raw("b", "rel/app-1.1.zip.delta", data, {**meta, "dg-file-sha256": "0" * 64})
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    existing = out_dir / "app.zip"
    existing.write_bytes(b"previous content")
    with pytest.raises(IntegrityError, match="SHA-256 mismatch"):
        make_service(storage).get(ObjectKey("b", "rel/app-1.1.zip"), existing)
    assert existing.read_bytes() == b"previous content"
    assert leftovers(out_dir) == ["app.zip"]


def test_tampered_whole_object_is_caught(storage: MemoryStorage, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("abc")
    make_service(storage).put(notes, SPACE)
    _, meta = storage.raw("b", "rel/notes.txt")
    storage.set_raw("b", "rel/notes.txt", b"abd", meta)
    with pytest.raises(IntegrityError):
        make_service(storage).get(ObjectKey("b", "rel/notes.txt"), tmp_path / "o.txt")
    assert not (tmp_path / "o.txt").exists()


def test_plain_objects_are_served(storage: MemoryStorage, tmp_path: Path) -> None:
    storage.set_raw("b", "rel/other.bin", b"from another tool", {})
    summary = make_service(storage).get(ObjectKey("b", "rel/other.bin"), tmp_path / "o")
    assert (tmp_path / "o").read_bytes() == b"from another tool"
    assert summary.operation == "GET"


def test_missing_object(storage: MemoryStorage, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"rel/nope\.zip"):
        make_service(storage).get(ObjectKey("b", "rel/nope.zip"), tmp_path / "o")


def test_missing_reference_is_a_clear_error(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _stored(storage, releases[:2])
    storage.delete("b", "rel/reference.bin")
    out_dir = tmp_path / "out"
    with pytest.raises(NotFoundError, match="reference"):
        make_service(storage).get(ObjectKey("b", "rel/app-1.1.zip"), out_dir / "o")
    assert leftovers(out_dir) == []


def test_copied_prefix_finds_its_reference_by_sha(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    """dg-ref-key is a full key: after `aws s3 sync` to another prefix it points at the old place."""
    _stored(storage, releases[:2])
    for key in ("rel/reference.bin", "rel/app-1.1.zip.delta"):
        data, meta = storage.raw("b", key)
        storage.set_raw("b", key.replace("rel/", "copy/"), data, meta)
        storage.delete("b", key)
    out = tmp_path / "o"
    make_service(storage).get(ObjectKey("b", "copy/app-1.1.zip"), out)
    assert out.read_bytes() == releases[1].read_bytes()


def test_gateway_deltas_with_ref_path_are_read(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _stored(storage, releases[:2])
    data, meta = storage.raw("b", "rel/app-1.1.zip.delta")
    del meta["dg-ref-key"]
    storage.set_raw(
        "b", "rel/app-1.1.zip.delta", data, {**meta, "dg-ref-path": "reference.bin", "dg-note": "delta"}
    )
    out = tmp_path / "o"
    make_service(storage).get(ObjectKey("b", "rel/app-1.1.zip"), out)
    assert out.read_bytes() == releases[1].read_bytes()


@pytest.mark.parametrize("style", ["snake", "dg_snake", "kebab"])
def test_old_metadata_spellings_download(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path, style: str
) -> None:
    _stored(storage, releases[:2])
    for key in ("rel/reference.bin", "rel/app-1.1.zip.delta"):
        data, meta = storage.raw("b", key)
        renamed = {}
        for k, v in meta.items():
            bare = k.removeprefix("dg-")
            renamed[
                {"snake": bare.replace("-", "_"), "dg_snake": "dg_" + bare.replace("-", "_"), "kebab": bare}[
                    style
                ]
            ] = v
        storage.set_raw("b", key, data, renamed)
    out = tmp_path / "o"
    make_service(storage).get(ObjectKey("b", "rel/app-1.1.zip"), out)
    assert out.read_bytes() == releases[1].read_bytes()


def test_a_rebuilt_file_is_renamed_onto_no_other_file(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ext4 flushes a file that a rename puts over another one (``auto_da_alloc``): ~8 ms for a
    12.5 MB file here, a fifth of a cached download. Into a new destination, nothing is replaced."""
    _stored(storage, releases)
    service = make_service(storage)
    replaced: list[str] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        if os.path.lexists(dst):
            replaced.append(os.fspath(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    out = tmp_path / "out" / releases[1].name
    assert service.get(ObjectKey("b", f"rel/{releases[1].name}"), out).operation == "GET_DELTA"
    assert out.read_bytes() == releases[1].read_bytes()
    assert replaced == []


def test_a_path_ending_in_a_slash_is_a_folder_made_when_missing(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _stored(storage, releases[:2])
    service = make_service(storage)
    summary = get_flow.get(service._ctx, ObjectKey("b", "rel/app-1.1.zip"), f"{tmp_path}/downloads/")
    assert summary.path == str(tmp_path / "downloads" / "app-1.1.zip")
    assert (tmp_path / "downloads" / "app-1.1.zip").read_bytes() == releases[1].read_bytes()


def test_a_path_ending_in_a_slash_that_is_a_file_is_a_clear_error(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    _stored(storage, releases[:2])
    (tmp_path / "downloads").write_bytes(b"a file")
    with pytest.raises(StorageError, match="downloads"):
        get_flow.get(make_service(storage)._ctx, ObjectKey("b", "rel/app-1.1.zip"), f"{tmp_path}/downloads/")
    assert (tmp_path / "downloads").read_bytes() == b"a file"


def test_the_sdk_download_into_a_path_ending_in_a_slash_makes_that_folder(
    releases: list[Path], tmp_path: Path
) -> None:
    client = create_client(cache_dir=str(tmp_path / "cache"))
    store = f"file://{tmp_path}/store/rel/"
    client.upload(releases[0], store)
    summary = client.download(store + releases[0].name, f"{tmp_path}/downloads/")
    assert summary.path == str(tmp_path / "downloads" / releases[0].name)
    assert (tmp_path / "downloads" / releases[0].name).read_bytes() == releases[0].read_bytes()
