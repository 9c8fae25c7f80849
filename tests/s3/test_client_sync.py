"""``client.sync``: a folder to a store and back, on a folder store and on moto's HTTP server. Only
what differs moves; an identical re-sync transfers nothing; --delete empties a folder, reference too."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.artifacts import release_zips
from support.variants import CLIENT_ON_S3_TOO

from deltaglider import DeltaGliderClient, create_client
from deltaglider.batch import FilterRule, SyncAction


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@CLIENT_ON_S3_TOO
def test_sync_up_moves_only_what_differs_and_back_down_exactly(
    client_and_folder: tuple[DeltaGliderClient, str], tmp_path: Path
) -> None:
    client, base = client_and_folder
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    files = release_zips(src, "app", 3, size=100_000)
    (src / "sub" / "notes.txt").write_text("hello")
    (src / "skip.log").write_text("not wanted")
    rules = [FilterRule("exclude", "*.log")]

    first = client.sync(src, base, rules=rules, workers=3)
    assert first.ok and sorted(first.copied) == sorted([f.name for f in files] + ["sub/notes.txt"])
    # The first file in name order started the folder's reference, whatever the threads did.
    assert client.head(base + files[0].name).is_delta

    again = client.sync(src, base, rules=rules)
    assert again.ok and again.copied == []
    assert {d.action for d in again.decisions} == {SyncAction.SKIP}

    files[1].write_bytes(files[1].read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    changed = client.sync(src, base, rules=rules)
    assert changed.copied == [files[1].name]

    down = tmp_path / "down"
    assert client.sync(base, down).ok
    expected = _tree(src)
    del expected["skip.log"]
    assert _tree(down) == expected


def test_sync_delete_and_dryrun(client_and_folder: tuple[DeltaGliderClient, str], tmp_path: Path) -> None:
    client, base = client_and_folder
    src = tmp_path / "src"
    src.mkdir()
    files = release_zips(src, "app", 3, size=100_000)
    client.sync(src, base)
    for path in files:
        path.unlink()
    planned = client.sync(src, base, delete=True, dry_run=True)
    assert [d.action for d in planned.decisions] == [SyncAction.DELETE] * 3
    assert planned.deleted == [] and len(list(client.list(base))) == 3
    done = client.sync(src, base, delete=True)
    assert done.ok
    # Every file, and then the reference nothing needs any more.
    assert any(key.endswith("reference.bin") for key in done.deleted)
    assert list(client.list(base, recursive=True)) == []


def test_sync_needs_a_store_on_one_side(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be a store"):
        create_client().sync(tmp_path, tmp_path / "other")
