"""Running a batch of transfers on ``--workers`` threads: one failure is reported and the rest go on;
Ctrl-C stops them all soon, not once each running transfer is done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deltaglider.batch import seed_indexes
from deltaglider.cli.output import Output, Progress
from deltaglider.core.transfer import Cancellation, run_all
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
    #: What a write creates, as ``folder/name`` (None for a download). The first of each folder in
    #: version order (``batch.seed_indexes``) runs before the others of that folder, so a new
    #: DeltaSpace's reference is its oldest release, not whichever thread won.
    writes: str | None = None


@dataclass
class Outcome:
    job: Job
    record: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _one(job: Job, progress: Progress, out: Output, stop: Cancellation) -> Outcome:
    share = progress.file(job.size)
    try:
        line, fields = job.work(stop.checked(share.advance))
    except (DeltaGliderError, OSError) as exc:
        # The library's errors already name the object; a bare OSError may not.
        message = str(exc) if isinstance(exc, DeltaGliderError) else f"{job.source}: {exc}"
        out.error_line(f"failed: {job.source} to {job.destination}: {message}")
        return Outcome(job, {"source": job.source, "destination": job.destination}, message)
    finally:
        share.done()
    out.line(line)
    return Outcome(job, {"source": job.source, "destination": job.destination, **fields})


def run_jobs(jobs: list[Job], *, workers: int, out: Output, label: str) -> list[Outcome]:
    """Every job, ``workers`` at a time, the first write of each folder before the others of that
    folder; the outcomes in the jobs' order.

    Interrupted (Ctrl-C), the batch stops: jobs not started never start, running ones stop at their next
    block (leaving nothing half written), and ``KeyboardInterrupt`` is raised once they have.
    """
    sizes = [job.size for job in jobs]
    total = None if None in sizes else sum(size or 0 for size in sizes)
    progress = out.progress(label, len(jobs), total)
    stop = Cancellation()
    outcomes: list[Outcome | None] = [None] * len(jobs)
    try:
        for indexes in seed_indexes([job.writes for job in jobs]):
            batch = [jobs[index] for index in indexes]
            done = run_all(
                batch, lambda job: _one(job, progress, out, stop), workers=workers, cancellation=stop
            )
            for index, outcome in zip(indexes, done, strict=True):
                outcomes[index] = outcome.unwrap()
        return [outcome for outcome in outcomes if outcome is not None]
    finally:
        progress.close()


def record(outcome: Outcome) -> dict[str, Any]:
    """The outcome as it appears in ``--json`` output."""
    if outcome.ok:
        return {**outcome.record, "status": "ok"}
    return {**outcome.record, "status": "failed", "error": outcome.error}
