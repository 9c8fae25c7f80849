"""A task run again after its worker died finds what its first try did, on S3 (moto's server, with
S3's conditional writes): it neither writes a file twice nor leaves a second copy, reference or form,
and every file reads back exact."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from support.artifacts import release_zips

from deltaglider.bulk.plan import plan_tasks
from deltaglider.bulk.run import KEPT, perform_task
from deltaglider.bulk.spec import ClientSpec
from deltaglider.client import DeltaGliderClient
from deltaglider.trees import Done, plan_copy_tree
from deltaglider.urls import Place


@pytest.fixture
def family(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    release_zips(folder, "app", 5, size=6_000)
    return folder


def objects(s3: Any, bucket: str) -> dict[str, tuple[str, bytes]]:
    """Key -> (ETag, body) of every object in the bucket."""
    found = {}
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        found[obj["Key"]] = (obj["ETag"], body)
    return found


def operations(report: Any) -> list[str]:
    return [step.end.upload.operation for step in report.steps if isinstance(step.end, Done)]


def one_task(client: DeltaGliderClient, family: Path, bucket: str) -> Any:
    steps = plan_copy_tree(client, Place(str(family), False), Place(f"s3://{bucket}/app/", True))
    (task,) = plan_tasks(steps)
    return task


def assert_reads_back(client: DeltaGliderClient, bucket: str, family: Path, tmp: Path) -> None:
    for path in sorted(family.iterdir()):
        got = client.download(f"s3://{bucket}/app/{path.name}", tmp / path.name)
        assert Path(got.path).read_bytes() == path.read_bytes()


def test_a_retry_keeps_the_files_its_first_try_stored(
    client: DeltaGliderClient, s3: Any, new_bucket: Callable[[], str], family: Path, tmp_path: Path
) -> None:
    bucket, clean = new_bucket(), new_bucket()
    spec = ClientSpec.of(client)
    task = one_task(client, family, bucket)
    # The first try died after three steps: the first release (which made the reference) and two more.
    assert operations(perform_task(spec, task.steps[:3], None)) == ["PUT", "PUT_DELTA", "PUT_DELTA"]
    first_try = objects(s3, bucket)
    retried = perform_task(spec, task.steps, None)
    assert operations(retried) == [KEPT] * 3 + ["PUT_DELTA"] * 2
    after = objects(s3, bucket)
    assert {key: after[key] for key in first_try} == first_try  # nothing of the first try rewritten
    # The same objects as one clean run, byte for byte.
    perform_task(spec, one_task(client, family, clean).steps, None)
    assert {k: body for k, (_, body) in after.items()} == {
        k: body for k, (_, body) in objects(s3, clean).items()
    }
    assert_reads_back(client, bucket, family, tmp_path / "back")


def test_a_retry_after_a_death_between_two_writes_of_one_file(
    client: DeltaGliderClient, s3: Any, new_bucket: Callable[[], str], family: Path, tmp_path: Path
) -> None:
    bucket = new_bucket()
    spec = ClientSpec.of(client)
    task = one_task(client, family, bucket)
    perform_task(spec, task.steps[:1], None)
    # The worker died after the first release's reference was written, before the file itself.
    seed_key = f"app/{task.steps[0].name}.delta"
    s3.delete_object(Bucket=bucket, Key=seed_key)
    reference = objects(s3, bucket)["app/reference.bin"]
    retried = perform_task(spec, task.steps, None)
    assert all(isinstance(step.end, Done) for step in retried.steps)
    after = objects(s3, bucket)
    assert after["app/reference.bin"] == reference  # found, not made again
    assert sorted(after) == sorted(["app/reference.bin"] + [f"app/{s.name}.delta" for s in task.steps])
    assert_reads_back(client, bucket, family, tmp_path / "back")


def test_a_process_pool_stores_what_threads_store(
    client: DeltaGliderClient, s3: Any, new_bucket: Callable[[], str], tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    for i in range(3):
        (tree / f"t{i}").mkdir(parents=True)
        release_zips(tree / f"t{i}", f"t{i}", 3, size=5_000, seed=i)
    threads, processes = new_bucket(), new_bucket()
    assert client.sync(str(tree), f"s3://{threads}/").ok
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        result = client.sync(str(tree), f"s3://{processes}/", executor=pool)
    assert result.ok
    assert all(not end.where.endswith(f":{os.getpid()}") for end in result.ended if isinstance(end, Done))
    bodies = {key: body for key, (_, body) in objects(s3, threads).items()}
    assert len(bodies) == 12  # 9 files and 3 references
    assert {key: body for key, (_, body) in objects(s3, processes).items()} == bodies
