"""Running a batch of transfers on ``--workers`` threads: one failure is reported and the rest go on."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from deltaglider.cli.output import Output, Progress
from deltaglider.errors import DeltaGliderError

#: Reports bytes moved (may be called from worker threads).
Tick = Callable[[int], None]


@dataclass
class Job:
    source: str
    destination: str
    size: int | None
    #: Does the work; returns the line to print and the fields for the JSON record.
    work: Callable[[Tick], tuple[str, dict[str, Any]]]
    #: The folder a write goes into. The first job of each folder runs before the others of that folder,
    #: so a new DeltaSpace's reference is the first file in the batch's order, not whichever thread won.
    folder: str | None = None


@dataclass
class Outcome:
    job: Job
    record: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _one(job: Job, progress: Progress, out: Output) -> Outcome:
    try:
        line, fields = job.work(progress.advance)
    except (DeltaGliderError, OSError) as exc:
        # The library's errors already name the object; a bare OSError may not.
        message = str(exc) if isinstance(exc, DeltaGliderError) else f"{job.source}: {exc}"
        out.error_line(f"failed: {job.source} to {job.destination}: {message}")
        return Outcome(job, {"source": job.source, "destination": job.destination}, message)
    finally:
        progress.file_done()
    out.line(line)
    return Outcome(job, {"source": job.source, "destination": job.destination, **fields})


def _seeds_first(jobs: list[Job]) -> tuple[list[int], list[int]]:
    """Indexes of the first job of each folder, and of all the others."""
    seen: set[str] = set()
    seeds: list[int] = []
    rest: list[int] = []
    for index, job in enumerate(jobs):
        if job.folder is not None and job.folder not in seen:
            seen.add(job.folder)
            seeds.append(index)
        else:
            rest.append(index)
    return seeds, rest


def _run_parallel(
    pool: ThreadPoolExecutor,
    jobs: list[Job],
    indexes: list[int],
    outcomes: list[Outcome | None],
    *,
    progress: Progress,
    out: Output,
) -> None:
    futures = {pool.submit(_one, jobs[index], progress, out): index for index in indexes}
    try:
        for future in as_completed(futures):
            outcomes[futures[future]] = future.result()
    except BaseException:
        # Interrupted: let the running transfers finish (no partial file is ever left), start no new one.
        pool.shutdown(wait=True, cancel_futures=True)
        raise


def run_jobs(jobs: list[Job], *, workers: int, out: Output, label: str) -> list[Outcome]:
    """Every job, ``workers`` at a time; the outcomes in the jobs' order."""
    total = sum(job.size or 0 for job in jobs)
    progress = out.progress(label, len(jobs), total)
    try:
        if workers <= 1 or len(jobs) <= 1:
            return [_one(job, progress, out) for job in jobs]
        outcomes: list[Outcome | None] = [None] * len(jobs)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deltaglider") as pool:
            for indexes in _seeds_first(jobs):
                _run_parallel(pool, jobs, indexes, outcomes, progress=progress, out=out)
        return [o for o in outcomes if o is not None]
    finally:
        progress.close()


def record(outcome: Outcome) -> dict[str, Any]:
    """The outcome as it appears in ``--json`` output."""
    if outcome.ok:
        return {**outcome.record, "status": "ok"}
    return {**outcome.record, "status": "failed", "error": outcome.error}
