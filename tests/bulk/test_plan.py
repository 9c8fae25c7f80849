"""The plan of a batch on an executor: every step in one task, each folder's first release first, big
folders split only after that release, and tasks that carry nothing a worker cannot unpickle."""

from __future__ import annotations

import pickle

import pytest

from deltaglider.bulk.plan import plan_tasks
from deltaglider.trees import Step


def upload(folder: str, name: str) -> Step:
    return Step("upload", f"/data/{folder}/{name}", f"s3://b/{folder}/{name}", name=f"{folder}/{name}")


def test_every_step_is_in_exactly_one_task_at_its_index() -> None:
    steps = [upload(f"f{i % 3}", f"app-1.{i}.zip") for i in range(20)]
    steps += [Step("verify", f"s3://b/f{i}/x.zip", name=f"f{i}/x.zip") for i in range(5)]
    tasks = plan_tasks(steps, chunk=4)
    placed = sorted(at for task in tasks for at in task.at)
    assert placed == list(range(len(steps)))
    for task in tasks:
        assert task.steps == tuple(steps[at] for at in task.at)
        assert len(task.steps) <= 4


def test_a_small_folder_is_one_task_its_first_release_first() -> None:
    steps = [upload("app", name) for name in ("app-1.10.zip", "app-1.2.zip", "app-1.9.zip")]
    (task,) = plan_tasks(steps, chunk=8)
    assert [step.name for step in task.steps] == ["app/app-1.2.zip", "app/app-1.9.zip", "app/app-1.10.zip"]
    assert task.after is None


def test_a_big_folder_waits_for_its_first_release_alone() -> None:
    steps = [upload("big", f"big-1.{i}.zip") for i in range(10, 0, -1)] + [upload("small", "s-1.0.zip")]
    tasks = plan_tasks(steps, chunk=3)
    big = [task for task in tasks if task.steps[0].name.startswith("big/")]
    first = tasks.index(big[0])
    assert [step.name for step in big[0].steps] == ["big/big-1.1.zip"]
    assert big[0].after is None
    assert [task.after for task in big[1:]] == [first] * 3
    small = [task for task in tasks if task.steps[0].name.startswith("small/")]
    assert [task.after for task in small] == [None]


def test_steps_that_write_nothing_are_grouped_by_folder() -> None:
    steps = [Step("verify", f"s3://b/{f}/{n}", name=f"{f}/{n}") for n in "abc" for f in ("x", "y")]
    tasks = plan_tasks(steps, chunk=8)
    assert sorted({step.name.split("/")[0] for step in task.steps} for task in tasks) == [{"x"}, {"y"}]
    assert all(task.after is None for task in tasks)


def test_tasks_travel_by_pickle() -> None:
    tasks = plan_tasks([upload("app", "app-1.0.zip"), upload("app", "app-1.1.zip")])
    assert pickle.loads(pickle.dumps(tasks)) == tasks


@pytest.mark.parametrize("chunk", [0, -1, True, 2.5])
def test_a_chunk_that_is_no_positive_count_is_refused(chunk: object) -> None:
    with pytest.raises(ValueError, match="chunk"):
        plan_tasks([upload("a", "a.zip")], chunk=chunk)  # type: ignore[arg-type]
