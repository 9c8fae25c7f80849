"""Every bulk call with ``executor=`` does what it does on the caller's threads. A thread pool stands
in for the executor here (the tasks are the same: pickled or not, they run the same code), over a
folder store, so these run in a moment; process pools and Dask are in the other modules."""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support.artifacts import release_zips

from deltaglider import create_client
from deltaglider.bulk.run import KEPT
from deltaglider.client import DeltaGliderClient
from deltaglider.trees import Done, Failed


@pytest.fixture
def local_client(tmp_path: Path) -> DeltaGliderClient:
    return create_client(cache_dir=str(tmp_path / "cache"), log_level="ERROR")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Four folders of four small zip releases each."""
    root = tmp_path / "tree"
    for i in range(4):
        (root / f"app{i}").mkdir(parents=True)
        release_zips(root / f"app{i}", f"app{i}", 4, size=5_000, seed=i)
    return root


@pytest.fixture
def pool() -> Any:
    with cf.ThreadPoolExecutor(max_workers=3) as executor:
        yield executor


def listing(client: DeltaGliderClient, url: str) -> list[tuple[str, bool, int, int | None]]:
    return [(e.name, e.is_delta, e.stored_size, e.original_size) for e in client.list(url, recursive=True)]


def test_sync_and_copy_tree_store_what_threads_store(
    local_client: DeltaGliderClient, tree: Path, tmp_path: Path, pool: cf.Executor
) -> None:
    threads, executor = f"file://{tmp_path}/a/", f"file://{tmp_path}/b/"
    assert local_client.sync(str(tree), threads).ok
    synced = local_client.sync(str(tree), executor, executor=pool)
    assert synced.ok and len(synced.ended) == 16
    assert listing(local_client, executor) == listing(local_client, threads)
    copied = local_client.copy_tree(str(tree), f"file://{tmp_path}/c/", executor=pool)
    assert copied.ok
    assert listing(local_client, f"file://{tmp_path}/c/") == listing(local_client, threads)
    # Nothing differs any more: a second sync plans nothing.
    assert local_client.sync(str(tree), executor, executor=pool).planned == []


def test_verify_stats_repack_and_retain_agree_with_threads(
    local_client: DeltaGliderClient, tree: Path, tmp_path: Path, pool: cf.Executor
) -> None:
    url = f"file://{tmp_path}/store/"
    assert local_client.sync(str(tree), url).ok
    checked = local_client.verify_tree(url, executor=pool)
    assert [end.valid for end in checked.ended if isinstance(end, Done)] == [True] * 16
    assert {end.where for end in checked.ended if isinstance(end, Done)} != {""}
    assert local_client.stats(url, executor=pool) == local_client.stats(url)
    assert local_client.repack(url, dry_run=True, recursive=True, executor=pool) == local_client.repack(
        url, dry_run=True, recursive=True
    )
    kept = local_client.retain(url, keep_last=1, order="version", dry_run=True, recursive=True, executor=pool)
    assert kept == local_client.retain(url, keep_last=1, order="version", dry_run=True, recursive=True)
    assert sorted(kept.kept) == [f"app{i}/app{i}-1.3.zip" for i in range(4)]
    assert len(kept.removed) == 12


def test_upload_many_and_download_many_on_an_executor(
    local_client: DeltaGliderClient, tree: Path, tmp_path: Path, pool: cf.Executor
) -> None:
    files = sorted(tree.rglob("*.zip"))
    url = f"file://{tmp_path}/store/"
    moved: list[int] = []
    items: list[tuple[str | Path, str]] = [(f, url + f.parent.name) for f in files]
    outcomes = local_client.upload_many(
        [*items, (tmp_path / "missing.zip", url)], executor=pool, progress=moved.append
    )
    on_threads = local_client.upload_many([(f, f"file://{tmp_path}/threads/{f.parent.name}") for f in files])

    def stored(summary: Any) -> tuple[str, str, int]:
        return (
            summary.operation,
            summary.key.rpartition("/store/" if "/store/" in summary.key else "/threads/")[2],
            summary.stored_size,
        )

    assert [stored(o.unwrap()) for o in outcomes[:-1]] == [stored(o.unwrap()) for o in on_threads]
    assert not outcomes[-1].ok and "missing.zip" in str(outcomes[-1].error)
    assert sum(moved) >= sum(f.stat().st_size for f in files)
    back = tmp_path / "back"
    got = local_client.download_many(
        [(f"{url}{f.parent.name}/{f.name}", back / f.name) for f in files], executor=pool
    )
    assert all(o.ok for o in got)
    assert [(back / f.name).read_bytes() for f in files] == [f.read_bytes() for f in files]


class FailingFirstTask(cf.ThreadPoolExecutor):
    """An executor that loses its first task, as a pool whose worker died would."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.lost = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        if not self.lost:
            self.lost = True
            lost: cf.Future[Any] = cf.Future()
            lost.set_exception(BrokenProcessPool("the worker died"))
            return lost
        return super().submit(fn, *args, **kwargs)


def test_a_task_the_executor_lost_fails_its_steps_and_the_rest_go_on(
    local_client: DeltaGliderClient, tree: Path, tmp_path: Path
) -> None:
    with FailingFirstTask() as executor:
        result = local_client.sync(str(tree), f"file://{tmp_path}/store/", executor=executor)
    failed = [end for end in result.ended if isinstance(end, Failed)]
    assert [end.step.name for end in failed] == [f"app0/app0-1.{i}.zip" for i in range(4)]
    assert all("the worker died" in end.message for end in failed)
    assert len([end for end in result.ended if isinstance(end, Done)]) == 12
    # Run again, the lost folder is copied, the others are found in place.
    with cf.ThreadPoolExecutor(max_workers=2) as executor:
        again = local_client.sync(str(tree), f"file://{tmp_path}/store/", executor=executor)
    assert again.ok and sorted(end.step.name for end in again.ended) == [end.step.name for end in failed]


def test_a_step_already_done_by_an_earlier_try_is_kept(
    local_client: DeltaGliderClient, tree: Path, tmp_path: Path, pool: cf.Executor
) -> None:
    url = f"file://{tmp_path}/store/"
    first = local_client.copy_tree(str(tree), url, executor=pool)
    written = {path: path.stat().st_mtime_ns for path in (tmp_path / "store").rglob("*") if path.is_file()}
    again = local_client.copy_tree(str(tree), url, executor=pool)
    assert first.ok and again.ok
    assert {end.upload.operation for end in again.ended if isinstance(end, Done) and end.upload} == {KEPT}
    # Not written again: every object as the first copy left it.
    assert {
        path: path.stat().st_mtime_ns for path in (tmp_path / "store").rglob("*") if path.is_file()
    } == written


def test_retain_on_an_executor_keeps_within_a_time(
    local_client: DeltaGliderClient, tree: Path, tmp_path: Path, pool: cf.Executor
) -> None:
    url = f"file://{tmp_path}/store/"
    assert local_client.sync(str(tree), url).ok
    kept = local_client.retain(
        url, keep_within=timedelta(days=1), dry_run=True, recursive=True, executor=pool
    )
    assert len(kept.kept) == 16 and kept.removed == []
