"""Running a plan on any ``concurrent.futures.Executor``: tasks submitted as the plan allows, their
results and progress streamed back to the caller as they end.

A task is a module-level function and plain data (:class:`~deltaglider.bulk.spec.ClientSpec`, steps,
a ratio), so a process pool or a Dask cluster can ship it; the worker builds its client from the spec
once (:func:`~deltaglider.bulk.spec.worker_client`). The caller sees the usual events
(``trees.Started``, ``Moved``, ``Done``, ``Failed``) of a task's steps when the task ends, from the
thread that waits for the executor: one at a time, in no lock of theirs.

A worker that dies mid-task leaves its task to the executor's retry (Dask runs it again elsewhere).
The task then meets what its first try wrote: a destination that already holds the source's SHA-256
is reported done (:data:`KEPT`) and not written again; a write the first try left half done was never
visible (a store write is atomic) and is written whole; a first release whose reference the first try
made finds it there, as any upload does. A task the executor gives up on (a broken process pool, a
task that killed every worker it ran on) fails its steps, and the rest of the batch goes on.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import pickle
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

from deltaglider.bulk.plan import DEFAULT_CHUNK, Task, plan_tasks
from deltaglider.bulk.spec import ClientSpec, worker_client
from deltaglider.client import UploadSummary
from deltaglider.errors import DeltaGliderError, NotFoundError
from deltaglider.trees import (
    Done,
    Ended,
    EventCallback,
    Failed,
    Moved,
    Started,
    Step,
    perform_step,
    sha256_file,
)
from deltaglider.urls import STDIO

__all__ = [
    "KEPT",
    "ExecutorRunner",
    "StepReport",
    "TaskReport",
    "WorkerError",
    "gather",
    "perform_task",
    "stream",
]

#: The operation of an upload or copy an earlier try of its task had already made.
KEPT: Final = "KEPT"

R = TypeVar("R")


class WorkerError(DeltaGliderError):
    """A worker's error that could not travel back as itself (its class cannot be pickled)."""


@dataclass(frozen=True)
class StepReport:
    end: Ended
    moved: int  # the bytes its transfers reported


@dataclass(frozen=True)
class TaskReport:
    steps: tuple[StepReport, ...]
    where: str  # host:pid of the worker process


def _here() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _portable(end: Ended) -> Ended:
    """``end`` as it can travel back: an error that does not survive pickling becomes its text."""
    if isinstance(end, Done):
        return end
    try:
        pickle.loads(pickle.dumps(end.error))
    except Exception:
        return Failed(end.step, WorkerError(f"{type(end.error).__name__}: {end.message}"))
    return end


def already_stored(client: Any, step: Step) -> Done | None:
    """Done when the step's destination already holds its source's bytes (by recorded SHA-256): the
    work of an earlier try of the same task. None when it does not, or when that cannot be told
    without the transfer itself (a source with no SHA-256 recorded)."""
    if step.action not in ("upload", "copy") or step.source == STDIO:
        return None
    try:
        there = client.head(step.destination)
    except NotFoundError:
        return None
    if there.sha256 is None:
        return None
    wanted = sha256_file(Path(step.source)) if step.action == "upload" else client.head(step.source).sha256
    if wanted is None or wanted.lower() != there.sha256.lower():
        return None
    kept = UploadSummary(
        operation=KEPT,
        bucket=there.bucket,
        key=there.key,
        original_size=there.size or 0,
        stored_size=0,
        is_delta=there.is_delta,
        reason="already stored with the same SHA-256 (by an earlier try of this task)",
    )
    return Done(step, upload=kept)


def perform_task(spec: ClientSpec, steps: Sequence[Step], max_ratio: float | None) -> TaskReport:
    """Runs on a worker: the steps in order, with this process's client for ``spec``."""
    client = worker_client(spec)
    reports = []
    for step in steps:
        moved = 0

        def count(nbytes: int) -> None:
            nonlocal moved
            moved += nbytes

        try:
            end: Ended | None = already_stored(client, step)
        except (DeltaGliderError, OSError):
            end = None  # the transfer itself will say what is wrong
        if end is None:
            end = perform_step(client, step, count, max_ratio)
        reports.append(StepReport(_portable(end), moved))
    return TaskReport(tuple(reports), _here())


def stream(
    executor: cf.Executor, jobs: Sequence[Callable[[], R]], after: Sequence[int | None] | None = None
) -> Iterator[tuple[int, cf.Future[R]]]:
    """Submits job ``i`` (a picklable callable of no arguments, such as a ``functools.partial`` of a
    module-level function) once job ``after[i]`` has ended, and yields ``(i, future)`` as each ends,
    whatever its outcome. Interrupted, it cancels what has not started and raises."""
    after = after if after is not None else [None] * len(jobs)
    waiting: dict[int, list[int]] = {}
    for index, first in enumerate(after):
        if first is not None:
            waiting.setdefault(first, []).append(index)
    running: dict[cf.Future[R], int] = {}

    def submit(index: int) -> None:
        running[executor.submit(jobs[index])] = index

    try:
        for index, first in enumerate(after):
            if first is None:
                submit(index)
        while running:
            done, _ = cf.wait(list(running), return_when=cf.FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                for later in waiting.pop(index, []):
                    submit(later)
                yield index, future
    except BaseException:
        for future in running:
            future.cancel()
        raise


def gather(executor: cf.Executor, jobs: Sequence[Callable[[], R]]) -> list[R | Exception]:
    """Every job's result, or the exception it raised, in the jobs' order."""
    found: dict[int, R | Exception] = {}
    for index, future in stream(executor, jobs):
        try:
            found[index] = future.result()
        except Exception as exc:
            found[index] = exc
    return [found[index] for index in range(len(jobs))]


class ExecutorRunner:
    """A ``trees.StepRunner`` that runs a batch's steps as tasks on ``executor`` (module doc), each
    task building its client from ``spec``; ends come back in the steps' order."""

    def __init__(self, executor: cf.Executor, spec: ClientSpec, *, chunk: int = DEFAULT_CHUNK) -> None:
        self.executor = executor
        self.spec = spec
        self.chunk = chunk

    def __call__(self, steps: Sequence[Step], *, emit: EventCallback, max_ratio: float | None) -> list[Ended]:
        tasks = plan_tasks(steps, chunk=self.chunk)
        ends: list[Ended | None] = [None] * len(steps)

        jobs = [partial(perform_task, self.spec, task.steps, max_ratio) for task in tasks]
        for index, future in stream(self.executor, jobs, [task.after for task in tasks]):
            for at, end in zip(tasks[index].at, _task_ends(tasks[index], future, emit), strict=True):
                ends[at] = end
        missing = [steps[at] for at, end in enumerate(ends) if end is None]
        if missing:
            raise RuntimeError(f"{len(missing)} step(s) came back from no task")
        return [end for end in ends if end is not None]


def _task_ends(task: Task, future: cf.Future[TaskReport], emit: EventCallback) -> list[Ended]:
    """The ends of a task's steps, told to ``emit`` as they would have been told on threads."""
    try:
        report = future.result()
    except Exception as exc:
        # The executor's own failure (a dead pool, a task retried out): every step of it failed.
        failed: list[Ended] = []
        for step in task.steps:
            emit(Started(step))
            failed.append(Failed(step, exc))
            emit(failed[-1])
        return failed
    results: list[Ended] = []
    for step, told in zip(task.steps, report.steps, strict=True):
        emit(Started(step))
        if told.moved:
            emit(Moved(step, told.moved))
        end = replace(told.end, where=report.where) if isinstance(told.end, Done) else told.end
        emit(end)
        results.append(end)
    return results
