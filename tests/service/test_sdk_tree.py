"""The SDK's copies, removals and syncs of whole folders (``copy_tree``, ``remove_tree``, ``sync``):
what each step reports through the one event callback, and what the result records."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.artifacts import release_zips

from deltaglider import DeltaGliderClient, FilterRule, create_client
from deltaglider.errors import StorageError
from deltaglider.trees import Done, Event, Failed, Moved, Planned, Skipped, Started


@pytest.fixture
def client(tmp_path: Path) -> DeltaGliderClient:
    return create_client(cache_dir=str(tmp_path / "cache"), log_level="WARNING")


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    (folder / "sub").mkdir(parents=True)
    release_zips(folder, "app", 3, size=60_000)
    (folder / "sub" / "notes.txt").write_text("hello")
    (folder / "build.log").write_text("not wanted")
    return folder


def _store(tmp_path: Path) -> str:
    return f"file://{tmp_path}/store/app/"


def test_each_copied_file_is_planned_started_moved_and_done_in_that_order(
    client: DeltaGliderClient, dist: Path, tmp_path: Path
) -> None:
    events: list[Event] = []

    result = client.copy_tree(
        dist, _store(tmp_path), rules=[FilterRule("exclude", "*.log")], workers=3, on_event=events.append
    )

    names = ["app-1.0.zip", "app-1.1.zip", "app-1.2.zip", "sub/notes.txt"]
    assert result.ok and sorted(result.copied) == names
    for step in result.planned:
        kinds = [type(e) for e in events if not isinstance(e, Skipped) and e.step == step]
        assert kinds[:2] == [Planned, Started] and kinds[-1] is Done, kinds
        assert set(kinds[2:-1]) <= {Moved}
    # Every file is planned before any starts: a caller can size its progress from the plan.
    first_start = next(i for i, e in enumerate(events) if isinstance(e, Started))
    assert all(isinstance(e, Planned) for e in events[:first_start]) and first_start == 4
    done = {e.step.name: e for e in events if isinstance(e, Done)}
    assert done["app-1.0.zip"].upload is not None and done["app-1.0.zip"].upload.key.endswith("reference.bin")
    assert done["app-1.2.zip"].upload is not None and done["app-1.2.zip"].upload.is_delta


def test_the_callback_hears_one_event_at_a_time(
    client: DeltaGliderClient, dist: Path, tmp_path: Path
) -> None:
    inside = threading.Lock()
    overlaps = 0

    def slow(_event: Event) -> None:
        nonlocal overlaps
        if not inside.acquire(blocking=False):
            overlaps += 1
            return
        try:
            time.sleep(0.002)
        finally:
            inside.release()

    assert client.copy_tree(dist, _store(tmp_path), workers=4, on_event=slow).ok
    assert overlaps == 0


def test_a_failed_file_is_reported_and_the_others_go_on(
    client: DeltaGliderClient, dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = client.upload

    def refuse_one(path: Any, url: str, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
        if name == "notes.txt":
            raise StorageError("the store said no")
        return upload(path, url, *args, name=name, **kwargs)

    monkeypatch.setattr(client, "upload", refuse_one)
    events: list[Event] = []

    result = client.copy_tree(dist, _store(tmp_path), on_event=events.append)

    assert not result.ok and result.failed == {"sub/notes.txt": "the store said no"}
    assert [e.step.name for e in events if isinstance(e, Failed)] == ["sub/notes.txt"]
    assert len(result.copied) == 4


def test_remove_tree_plans_files_then_references_and_removes_them_all(
    client: DeltaGliderClient, dist: Path, tmp_path: Path
) -> None:
    base = _store(tmp_path)
    assert client.copy_tree(dist, base).ok

    planned = client.remove_tree(base, dry_run=True)

    assert planned.planned[-1].source == base + "reference.bin" and planned.ended == []
    assert len(list(client.list(base, recursive=True))) == 5
    events: list[Event] = []
    done = client.remove_tree(base, on_event=events.append)
    assert done.ok and list(client.list(base, recursive=True)) == []
    assert any(key.endswith("app/reference.bin") for key in done.deleted)
    assert {type(e) for e in events} == {Planned, Started, Done}


def test_sync_reports_what_it_leaves_alone_and_dry_run_changes_nothing(
    client: DeltaGliderClient, dist: Path, tmp_path: Path
) -> None:
    base = _store(tmp_path)
    client.sync(dist, base)
    (dist / "app-1.0.zip").unlink()
    events: list[Event] = []

    plan = client.sync(dist, base, delete=True, dry_run=True, on_event=events.append)

    assert [(s.action, s.name) for s in plan.planned] == [("delete", "app-1.0.zip")]
    assert sorted(e.name for e in events if isinstance(e, Skipped)) == [
        "app-1.1.zip",
        "app-1.2.zip",
        "build.log",
        "sub/notes.txt",
    ]
    assert not any(isinstance(e, Started | Done) for e in events)
    assert len(list(client.list(base, recursive=True))) == 5


def test_the_trees_import_nothing_above_them() -> None:
    probe = "import sys, deltaglider.trees; print('deltaglider.client' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_verify_tree_judges_each_file_and_one_mismatch_does_not_hide_the_rest(
    client: DeltaGliderClient, dist: Path, tmp_path: Path
) -> None:
    base = _store(tmp_path)
    assert client.copy_tree(dist, base, rules=[FilterRule("exclude", "*.log")]).ok
    whole = tmp_path / "store" / "app" / "sub" / "notes.txt"
    whole.write_text("HELLO")  # same size, other bytes: its recorded SHA-256 no longer matches

    checked = client.verify_tree(base, workers=2)

    verdicts = {e.step.name: e.valid for e in checked.ended if isinstance(e, Done)}
    assert verdicts == {"app-1.0.zip": True, "app-1.1.zip": True, "app-1.2.zip": True, "sub/notes.txt": False}
    (one,) = client.verify_tree(base + "app-1.1.zip").ended
    assert isinstance(one, Done) and one.valid is True and one.step.name == "app-1.1.zip"
