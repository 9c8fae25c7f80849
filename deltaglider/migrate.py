"""``migrate``: one store's folder into another (S3 or a local folder store, either side), as the
original DeltaGlider's ``migrate`` does, and resumable.

- **Where to.** By default the source folder's own name is kept under the destination, as the
  original does: ``s3://old/data/`` into ``s3://new/`` lands in ``s3://new/data/``, and
  ``s3://src/a/b/c/`` into ``s3://dst/x/`` in ``s3://dst/x/c/``. With ``preserve_prefix=False``
  the files land in the destination folder itself. A bucket's root has no name to keep.
- **What.** The files the source holds (its own stored files rebuilt, and plain objects), by their
  relative names; a file the destination already holds with the same size and SHA-256 is skipped, so
  a second run after an interruption copies only what is left (a sync without removals).
- **How.** Each file is stored at the destination as an upload stores it: as a delta where one pays.
  A file the source itself holds whole (not a base of other files), new at the destination and in
  the same store (one S3 endpoint, or the local folders), is copied inside the store instead
  (S3: CopyObject), its bytes never brought here: its metadata, SHA-256 and tags go with it. It was
  stored whole because no delta shrank it, and it would be stored whole again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from deltaglider.batch import FilterRule
from deltaglider.core.format.layout import delta_key, whole_key
from deltaglider.core.format.metadata import Kind, parse
from deltaglider.core.protocol import serves_as_base
from deltaglider.core.service import DeltaService
from deltaglider.core.transfer import Cancellation, run_all
from deltaglider.errors import DeltaGliderError, StorageError
from deltaglider.ports.storage import COPY_MAX_BYTES
from deltaglider.trees import (
    Done,
    Ended,
    Event,
    EventCallback,
    Failed,
    Operations,
    Started,
    Step,
    StepRunner,
    TreeResult,
    on_threads,
    sync,
)
from deltaglider.urls import Location, Place, parse_url

__all__ = ["CopiedInStore", "destination_folder", "migrate"]

#: Why a file is copied inside the store (the plan's own reason for it is "new").
IN_STORE_REASON = "stored whole at the source: copied inside the store"


class Migrating(Operations, Protocol):
    """What a migration needs of the client: the trees' operations and each store's service."""

    def _service_for(self, loc: Location) -> DeltaService: ...


@dataclass(frozen=True)
class CopiedInStore:
    """What a copy inside the store reports (an ``Uploaded``, as an upload's summary is)."""

    key: str
    original_size: int
    operation: str = "COPY"
    is_delta: bool = False
    reason: str = IN_STORE_REASON

    @property
    def stored_size(self) -> int:
        return self.original_size


def destination_folder(source: Place, destination: Place, *, preserve_prefix: bool) -> Place:
    """Where the files of the folder ``source`` land (module doc)."""
    destination = destination.as_folder()
    folder_name = source.name if parse_url(source.as_folder().text).key else ""
    if not preserve_prefix or not folder_name:
        return destination
    return Place(destination.child(folder_name) + "/", destination.is_store)


def migrate(
    client: Migrating,
    source: Place,
    destination: Place,
    *,
    preserve_prefix: bool = True,
    dry_run: bool = False,
    confirm: Callable[[TreeResult], bool] | None = None,
    rules: Sequence[FilterRule] = (),
    workers: int,
    max_ratio: float | None = None,
    on_event: EventCallback | None = None,
    run: StepRunner | None = None,
) -> TreeResult:
    """Copies what the folder ``source`` holds into ``destination`` (module doc). ``dry_run`` plans
    only; ``confirm`` is shown the plan (``planned``: the copies, ``skipped``: what is already
    there) and the migration goes on only if it returns True (else the plan is returned, nothing
    done). ``run`` runs the copies made the long way (default: ``workers`` of the caller's threads;
    ``deltaglider.bulk`` passes an executor's); the copies inside the store, which move no bytes
    through here, stay on the caller's threads."""
    if not source.is_store or not destination.is_store:
        raise ValueError("migrate copies from one store to another: both must be s3:// or file:// locations")
    target = destination_folder(source, destination, preserve_prefix=preserve_prefix)
    plan = sync(
        client, source.as_folder(), target, rules=rules, dry_run=True, workers=workers, on_event=on_event
    )
    if dry_run or not plan.planned or (confirm is not None and not confirm(plan)):
        return plan
    emit = _serialised(on_event)
    inside = _copied_inside(client, plan.planned, workers)
    result = TreeResult(plan.planned, skipped=plan.skipped, decisions=plan.decisions)
    long_way = [step for step in plan.planned if step not in inside]
    ended = on_threads(client, workers, run)(long_way, emit=emit, max_ratio=max_ratio)
    ended += _copy_inside(client, [step for step in plan.planned if step in inside], workers, emit)
    order = {step: index for index, step in enumerate(plan.planned)}
    result.ended = sorted(ended, key=lambda end: order[end.step])
    return result


def _serialised(callback: EventCallback | None) -> EventCallback:
    lock = threading.Lock()

    def emit(event: Event) -> None:
        if callback is not None:
            with lock:
                callback(event)

    return emit


def _copied_inside(client: Migrating, steps: Sequence[Step], workers: int) -> set[Step]:
    """The steps whose file may be copied inside the store (module doc): one HEAD of each source
    that is new at the destination, on ``workers`` threads."""
    candidates = [
        step
        for step in steps
        if step.action == "copy"
        and step.reason == "new"
        and step.size is not None
        and step.size <= COPY_MAX_BYTES
        and parse_url(step.source).scheme == parse_url(step.destination).scheme
    ]

    def stored_whole(step: Step) -> bool:
        loc = parse_url(step.source)
        head = client._service_for(loc).storage.head(loc.bucket, loc.key)
        return (
            head is not None
            and parse(head.metadata, head.key).kind is Kind.WHOLE
            and not serves_as_base(head)
        )

    outcomes = run_all(candidates, stored_whole, workers=workers, cancellation=Cancellation())
    return {
        step for step, outcome in zip(candidates, outcomes, strict=True) if outcome.ok and outcome.unwrap()
    }


def _copy_inside(client: Migrating, steps: Sequence[Step], workers: int, emit: EventCallback) -> list[Ended]:
    def copy(step: Step) -> Ended:
        emit(Started(step))
        src, dst = parse_url(step.source), parse_url(step.destination)
        storage = client._service_for(src).storage
        try:
            prefix, _, name = dst.key.rpartition("/")
            # Written there since the plan: an upload of its own, which a copy must not undo.
            if any(
                storage.head(dst.bucket, key) is not None
                for key in (whole_key(prefix, name), delta_key(prefix, name))
            ):
                raise StorageError(f"{step.destination} was written since the plan; left as it is")
            storage.copy(src.bucket, src.key, dst.bucket, whole_key(prefix, name))
            end: Ended = Done(step, upload=CopiedInStore(whole_key(prefix, name), step.size or 0))
        except (DeltaGliderError, OSError) as exc:
            end = Failed(step, exc)
        emit(end)
        return end

    return [
        outcome.unwrap()
        for outcome in run_all(list(steps), copy, workers=workers, cancellation=Cancellation())
    ]
