"""What a listed file costs: its own object, plus the hidden bases that exist for it alone; and which
files are stored as a reference of their own rather than as deltas."""

from __future__ import annotations

import shutil
from pathlib import Path

from support.families import SPACE, stored_family

from deltaglider.core.layout import DELTA_SUFFIX, is_base_name, split_key


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
