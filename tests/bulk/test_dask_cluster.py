"""A bucket migrated and verified on a Dask cluster of worker processes; in the second test one
worker is killed halfway through. The default run migrates a few folders; the slow run the whole
bucket of 40."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deltaglider import DeltaGliderClient
from deltaglider.trees import Done, Event, Failed

#: Folders migrated: a sample in the default run, the whole bucket in the slow one.
SIZES = [4, pytest.param(40, marks=pytest.mark.slow)]


def stored_keys(s3: Any, bucket: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys


def assert_each_file_once(s3: Any, bucket: str, source: Any) -> None:
    """Every release stored in exactly one form, every folder with exactly one reference, nothing
    else (no second copy, no leftover of a killed write)."""
    keys = stored_keys(s3, bucket)
    for folder, paths in source.releases.items():
        for path in paths:
            forms = [k for k in keys if k in (f"{folder}/{path.name}", f"{folder}/{path.name}.delta")]
            assert len(forms) == 1, (path.name, forms)
        assert keys.count(f"{folder}/reference.bin") == 1
    assert len(keys) == source.files + len(source.releases), sorted(keys)


def assert_reads_back(client: DeltaGliderClient, bucket: str, source: Any, tmp: Path, executor: Any) -> None:
    items = [
        (f"s3://{bucket}/{folder}/{path.name}", tmp / folder / path.name)
        for folder, paths in source.releases.items()
        for path in paths
    ]
    outcomes = client.download_many(items, executor=executor)
    assert all(outcome.ok for outcome in outcomes), [o.error for o in outcomes if not o.ok]
    for _url, path in items:
        assert path.read_bytes() == (source.releases[path.parent.name][0].parent / path.name).read_bytes()


def workers_seen(ends: list[Any]) -> set[str]:
    return {end.where for end in ends if isinstance(end, Done)}


@pytest.mark.parametrize("spaces", SIZES)
def test_a_cluster_migrates_and_verifies_a_bucket(
    *,
    client: DeltaGliderClient,
    s3: Any,
    plain_bucket: Callable[[int], Any],
    dask_client: Any,
    new_bucket: Callable[[], str],
    tmp_path: Path,
    spaces: int,
) -> None:
    source = plain_bucket(spaces)
    executor = dask_client.get_executor(pure=False)
    target = new_bucket()
    moved = client.migrate(
        f"s3://{source.name}/", f"s3://{target}/", preserve_prefix=False, executor=executor
    )
    assert moved.ok, moved.failed
    assert len(moved.ended) == source.files
    assert len(workers_seen(moved.ended)) == 2
    # Each folder's first release became its reference, the others deltas against it: the seed went
    # first wherever the folder's task ran.
    operations = {e.step.name: e.upload.operation for e in moved.ended if isinstance(e, Done) and e.upload}
    for folder, paths in source.releases.items():
        assert operations[f"{folder}/{paths[0].name}"] == "PUT"
        assert {operations[f"{folder}/{p.name}"] for p in paths[1:]} == {"PUT_DELTA"}
    checked = client.verify_tree(f"s3://{target}/", executor=executor)
    assert [end.valid for end in checked.ended if isinstance(end, Done)] == [True] * source.files
    assert_each_file_once(s3, target, source)
    assert_reads_back(client, target, source, tmp_path / "back", executor)


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_and_doubles_nothing(
    *,
    client: DeltaGliderClient,
    s3: Any,
    plain_bucket: Callable[[int], Any],
    dask_client: Any,
    new_bucket: Callable[[], str],
    tmp_path: Path,
) -> None:
    source = plain_bucket(40)
    executor = dask_client.get_executor(pure=False)
    victim = sorted(dask_client.run(os.getpid).values())[0]
    killed = threading.Event()

    def on_event(event: Event) -> None:
        # Once the first task is back, the others are running or queued on both workers.
        if isinstance(event, Done) and not killed.is_set():
            killed.set()
            os.kill(victim, signal.SIGKILL)

    target = new_bucket()
    moved = client.migrate(
        f"s3://{source.name}/", f"s3://{target}/", preserve_prefix=False, executor=executor, on_event=on_event
    )
    assert killed.is_set()
    assert not [end for end in moved.ended if isinstance(end, Failed)], moved.failed
    assert len(moved.ended) == source.files
    assert victim not in dask_client.run(os.getpid).values()
    assert_each_file_once(s3, target, source)
    assert_reads_back(client, target, source, tmp_path / "back", executor)
