"""The plan of a batch on an executor, made once on the caller: the batch's steps cut into tasks.

The steps are those the caller's own threads would run (:mod:`deltaglider.trees` plans them), and
the order inside a DeltaSpace is theirs too (:func:`deltaglider.batch.seed_indexes`): each folder's
first release, in version order, is written before any other file of that folder, so that it becomes
the folder's reference whichever worker gets there first. Here the folders do not wait for each
other: a folder's writes make one task, its first release first; a folder with more than ``chunk``
writes makes a task of its first release alone, and its other writes are cut into tasks that start
only once that one has ended (its reference then exists). Steps that write nothing (downloads,
checks) are cut into tasks of ``chunk`` by folder, so that a worker fetches a folder's reference once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from deltaglider.batch import folder_of, seed_indexes
from deltaglider.trees import Step, written_name

__all__ = ["DEFAULT_CHUNK", "Task", "plan_tasks"]

#: Steps per task: few enough that progress comes back often and a retried task redoes little, many
#: enough that a task's own cost (a round trip to the scheduler) stays small beside its transfers.
DEFAULT_CHUNK: Final = 8


@dataclass(frozen=True)
class Task:
    """Steps one worker runs in order; ``at``: their indexes in the batch; ``after``: the index of
    the task that must end first."""

    steps: tuple[Step, ...]
    at: tuple[int, ...]
    after: int | None = None


def _tasks(steps: Sequence[Step], indexes: Sequence[int], chunk: int, after: int | None = None) -> list[Task]:
    """``indexes`` cut into tasks of ``chunk`` steps, in order."""
    parts = [tuple(indexes[at : at + chunk]) for at in range(0, len(indexes), chunk)]
    return [Task(tuple(steps[i] for i in part), part, after) for part in parts]


def plan_tasks(steps: Sequence[Step], *, chunk: int = DEFAULT_CHUNK) -> list[Task]:
    """Every step in exactly one task (module doc); writes' tasks first, folders in their seeds'
    version order."""
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, not {chunk!r}")
    names = [written_name(step) for step in steps]
    seeds, rest = seed_indexes(names)
    folders: dict[str, list[int]] = {}
    for index in seeds:
        folders[folder_of(names[index] or "")] = [index]
    unwritten: dict[str, list[int]] = {}
    for index in rest:
        name = names[index]
        if name is None:
            unwritten.setdefault(folder_of(steps[index].name), []).append(index)
        else:
            folders[folder_of(name)].append(index)
    tasks: list[Task] = []
    for indexes in folders.values():
        if len(indexes) <= chunk:
            tasks += _tasks(steps, indexes, chunk)
            continue
        first = len(tasks)
        tasks += _tasks(steps, indexes[:1], chunk)
        tasks += _tasks(steps, indexes[1:], chunk, after=first)
    for indexes in unwritten.values():
        tasks += _tasks(steps, indexes, chunk)
    return tasks
