"""What a listed file costs: its own object, plus the hidden bases that exist for it alone; and which
files are stored as a reference of their own rather than as deltas."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from support.families import SPACE, stored_family
from support.sdk import sha256 as service_sha

from deltaglider.core.format.layout import DELTA_SUFFIX, is_base_name, split_key
from deltaglider.core.models import ObjectKey


def _bases(store: object, keys: list[str]) -> dict[str, int]:
    return {key: len(store.raw("b", key)[0]) for key in keys if is_base_name(split_key(key)[1])}  # type: ignore[attr-defined]


def test_a_snapshot_made_of_one_file_is_on_that_files_line_only(tmp_path: Path) -> None:
    store, service, (first, drifted) = stored_family(tmp_path, 2, step=0.3)
    bases = _bases(store, store.keys("b"))
    snapshot = next(key for key in bases if key.endswith(DELTA_SUFFIX))

    by_name = {entry.name: entry for entry in service.list(SPACE)}

    # reference.bin serves both files (the snapshot is a delta against it): on neither line.
    assert by_name[first.name].base_size == 0 and by_name[first.name].is_reference
    assert by_name[drifted.name].base_size == bases[snapshot] and not by_name[drifted.name].is_reference
    stats = service.stats(SPACE)
    assert (stats.file_count, stats.delta_count, stats.reference_file_count, stats.whole_count) == (
        2,
        1,
        1,
        0,
    )
    lines = sum(entry.stored_size + entry.base_size for entry in by_name.values())
    assert stats.stored_bytes == lines + bases["rel/reference.bin"]


def test_a_base_two_files_depend_on_is_on_neither_line(tmp_path: Path) -> None:
    _, service, (_, drifted) = stored_family(tmp_path, 2, step=0.3)
    # The same content under another name: a delta against the drifted file's snapshot.
    twin = tmp_path / "twin.iso"
    shutil.copyfile(drifted, twin)
    service.put(twin, SPACE)

    by_name = {entry.name: entry for entry in service.list(SPACE)}

    assert by_name["twin.iso"].is_delta and not by_name["twin.iso"].is_reference
    assert all(entry.base_size == 0 for entry in by_name.values())


def test_a_folders_only_file_costs_its_reference(tmp_path: Path) -> None:
    _, service, (first,) = stored_family(tmp_path, 1)

    (entry,) = service.list(SPACE)

    assert entry.is_reference and entry.base_size == first.stat().st_size
    assert service.stats(SPACE).stored_bytes == entry.stored_size + entry.base_size


def test_a_file_stored_whole_as_a_base_and_then_deleted_costs_its_one_dependent(tmp_path: Path) -> None:
    """Past max_ratio a file is stored whole under its name and later files are deltas against it;
    once it is deleted, its content stays hidden for them, and a file that alone needs it pays for it."""
    store, service, _ = stored_family(tmp_path, 1)
    far = tmp_path / "far.iso"
    far.write_bytes(random.Random(9).randbytes(1 << 20))  # unrelated to the family (seed 5)
    near = tmp_path / "near.iso"
    data = bytearray(far.read_bytes())
    data[:64] = bytes(64)
    near.write_bytes(bytes(data))
    assert service.put(far, SPACE).key == "rel/far.iso"
    assert service.put(near, SPACE).reason == "delta against rel/far.iso"
    service.delete(ObjectKey("b", "rel/far.iso"))

    kept = f"rel/reference-{service_sha(far)[:16]}.bin"
    assert kept in store.keys("b")
    by_name = {entry.name: entry for entry in service.list(SPACE)}
    assert "far.iso" not in by_name
    assert by_name["near.iso"].base_size == len(store.raw("b", kept)[0])
