"""Showing what the SDK's copies, removals and syncs report: each event as it comes (a progress line on
stderr, one line per file done, failures on stderr), and the ``--json`` records built from the typed
records of the result."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from deltaglider.cli.output import FileProgress, Output, Progress, human_size, percent
from deltaglider.core.format.layout import is_base_name
from deltaglider.trees import (
    Done,
    Ended,
    Event,
    Failed,
    Moved,
    Planned,
    Started,
    Step,
    TreeResult,
    Uploaded,
)


def _stored_note(stored: Uploaded) -> str:
    # The first file of a folder is stored whole as its reference (plus an empty delta).
    became_reference = is_base_name(stored.key.rpartition("/")[2])
    how = "delta" if stored.is_delta else "reference" if became_reference else "whole"
    saved = percent(stored.original_size, stored.stored_size)
    saved_text = f", {saved:.1f}% saved" if saved is not None else ""
    sizes = f"{human_size(stored.original_size)} stored as {human_size(stored.stored_size)}"
    return f"  ({how}, {sizes}{saved_text})"


def done_line(done: Done) -> list[str]:
    """The report lines of a step done."""
    step = done.step
    if step.action == "delete":
        return [f"delete: {shown}" for shown in done.removed]
    if step.action == "verify":
        if done.valid is None:
            return [f"unverifiable: {step.source} ({done.detail})"]
        return [f"{'ok' if done.valid else 'MISMATCH'}: {step.source}"]
    if done.upload is not None:
        return [f"{step.action}: {step.source} to {step.destination}{_stored_note(done.upload)}"]
    return [f"download: {step.source} to {step.destination}"]


def failed_line(failed: Failed) -> str:
    step = failed.step
    if step.action in ("delete", "verify"):
        return f"failed: {step.action} {step.source}: {failed.message}"
    return f"failed: {step.source} to {step.destination}: {failed.message}"


def transfer_record(end: Ended) -> dict[str, Any]:
    """A transfer as it appears in ``--json`` output."""
    step = end.step
    record: dict[str, Any] = {"source": step.source, "destination": step.destination}
    if isinstance(end, Failed):
        return {**record, "status": "failed", "error": end.message}
    if end.upload is not None:
        stored = end.upload
        record.update(
            operation=stored.operation,
            key=stored.key,
            original_size=stored.original_size,
            stored_size=stored.stored_size,
            is_delta=stored.is_delta,
            savings_percent=percent(stored.original_size, stored.stored_size),
            reason=stored.reason,
        )
    elif end.download is not None:
        # The summary's size: a FIFO or device destination has none of its own.
        record.update(operation="GET", size=end.download.size)
    return {**record, "status": "ok"}


def removal_record(end: Ended) -> dict[str, Any]:
    record: dict[str, Any] = {"action": "delete", "name": end.step.name}
    if isinstance(end, Failed):
        return {**record, "status": "failed", "error": end.message}
    return {**record, "status": "ok", "removed": list(end.removed)}


def dry_line(step: Step, *, reason: bool = False) -> str:
    if step.action == "delete":
        return f"(dryrun) delete: {step.source}"
    why = f"  ({step.reason})" if reason and step.reason else ""
    return f"(dryrun) copy: {step.source} to {step.destination}{why}"


class Report:
    """The event callback of one command: draws the progress of the transfers (the files planned,
    their bytes when all are known) and prints each step as it ends. Use it as a context manager, so
    that the progress line is cleared however the command ends."""

    def __init__(self, out: Output, label: str) -> None:
        self._out = out
        self._label = label
        self._planned: list[Step] = []
        self._progress: Progress | None = None
        self._shares: dict[Step, FileProgress] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, Planned):
            if event.step.action != "delete":
                self._planned.append(event.step)
        elif isinstance(event, Started):
            if event.step.action != "delete":
                self._shares[event.step] = self._started().file(event.step.size)
        elif isinstance(event, Moved):
            self._shares[event.step].advance(event.nbytes)
        elif isinstance(event, Done | Failed):
            share = self._shares.pop(event.step, None)
            if share is not None:
                share.done()
            if isinstance(event, Done):
                for line in done_line(event):
                    self._out.line(line)
            else:
                self._out.error_line(failed_line(event))

    def _started(self) -> Progress:
        if self._progress is None:
            sizes = [step.size for step in self._planned]
            total = None if None in sizes else sum(size or 0 for size in sizes)
            self._progress = self._out.progress(self._label, len(self._planned), total)
        return self._progress

    def __enter__(self) -> Report:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.close()


def failures(result: TreeResult) -> int:
    return sum(1 for end in result.ended if isinstance(end, Failed))
