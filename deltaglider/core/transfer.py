"""Many uploads or downloads at once, on a pool of threads sharing one service.

Each item runs the same flow as a single ``put``/``get``; a failed item is reported in its outcome and
does not stop the others. Outcomes come back in input order. Encodes from all workers (and from every
other thread of the process) share the service's encode gate, so more workers never means more
memory than the gate allows.

The progress callback receives the byte counts that the individual transfers report, from the worker
threads but one call at a time, so a callback that keeps a running total needs no lock of its own.

An interrupted batch (Ctrl-C in the thread waiting for it) stops soon rather than when every running
item is done: items not started never start, and running ones stop at the next block they report,
raising :class:`Cancelled` there, so that what they had half written is removed on the way out as for
any failure (a store write is atomic, a download goes to a temporary file).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeAlias, TypeVar

from deltaglider.config import DEFAULT_WORKERS
from deltaglider.core.context import Context
from deltaglider.core.models import DeltaSpace, GetSummary, ObjectKey, PutSummary
from deltaglider.ports.storage import ProgressCallback

#: ``(file, delta_space)`` or ``(file, delta_space, name)``; a name of None keeps the file's own.
UploadSpec: TypeAlias = tuple[Path | str, DeltaSpace] | tuple[Path | str, DeltaSpace, str | None]
#: ``(object_key, output_path)``; the path may be a folder, as for a single download.
DownloadSpec: TypeAlias = tuple[ObjectKey, Path | str]


T = TypeVar("T")
S = TypeVar("S")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What became of one item: its ``result``, or the ``error`` that stopped it."""

    index: int
    result: T | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> T:
        """The result, or the item's error raised."""
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def _check_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, not {workers!r}")
    return workers


def serialised(progress: ProgressCallback | None) -> ProgressCallback | None:
    """``progress`` behind a lock: worker threads call it one at a time."""
    if progress is None:
        return None
    lock = threading.Lock()

    def report(count: int) -> None:
        with lock:
            progress(count)

    return report


class Cancelled(KeyboardInterrupt):
    """Raised inside an item of a cancelled batch, at its next block. A ``KeyboardInterrupt``, as the
    interruption it stands for: no ``except Exception`` on the way takes it for a failure to work
    around (retrying, storing the file another way), and every ``finally`` still cleans up."""


class Cancellation:
    """The stop switch of one batch, shared by its items: once it is set, each item raises
    :class:`Cancelled` at the next block it reports (:meth:`checked`) or at its start."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def check(self) -> None:
        """Raises :class:`Cancelled` once the batch is cancelled."""
        if self._event.is_set():
            raise Cancelled("the batch was interrupted")

    def checked(self, progress: ProgressCallback | None) -> ProgressCallback:
        """A progress callback that checks the switch at each block, then reports to ``progress``."""

        def report(count: int) -> None:
            self.check()
            if progress is not None and count:
                progress(count)

        return report


def run_all(
    items: Iterable[S],
    work: Callable[[S], T],
    *,
    workers: int,
    cancellation: Cancellation | None = None,
) -> list[Outcome[T]]:
    """``work`` on every item on up to ``workers`` threads; one outcome per item, in input order.

    When the waiting thread is interrupted (``KeyboardInterrupt``), or an item raises
    :class:`Cancelled`, the batch is cancelled: items not yet started never start, ``cancellation``
    (which the items' progress callbacks check, see :meth:`Cancellation.checked`) is set so that
    running ones stop at their next block, and the exception is raised once they have stopped.
    """
    _check_workers(workers)
    todo = list(items)
    if not todo:
        return []
    stop = cancellation if cancellation is not None else Cancellation()
    running = _InFlight()

    def guarded(item: S) -> T:
        # Counted before the check: an item past the check is waited for, one after it never runs.
        with running:
            stop.check()  # a queued item that a worker picked up just as the batch was cancelled
            return work(item)

    pool = ThreadPoolExecutor(max_workers=min(workers, len(todo)), thread_name_prefix="deltaglider")
    try:
        futures = [pool.submit(guarded, item) for item in todo]
        outcomes = [_outcome(i, future) for i, future in enumerate(futures)]
    except BaseException:
        stop.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        # A thread the pool had started but not yet recorded when the interrupt came is not joined
        # by shutdown: the items in flight are counted here instead.
        running.wait_idle()
        raise
    pool.shutdown(wait=True)
    return outcomes


class _InFlight:
    """How many items are running, and a wait until none is."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def __enter__(self) -> None:
        with self._idle:
            self._count += 1

    def __exit__(self, *exc: object) -> None:
        with self._idle:
            self._count -= 1
            self._idle.notify_all()

    def wait_idle(self) -> None:
        with self._idle:
            while self._count:
                self._idle.wait(_POLL)


#: How long the waiting thread blocks at a time: a Ctrl-C that arrives just before it blocks is
#: handled once it wakes, not only when the item it waits for ends.
_POLL = 0.2


def run_in_turns(
    items: Sequence[S],
    work: Callable[[S], T],
    turns: Sequence[Sequence[int]],
    *,
    workers: int,
    cancellation: Cancellation | None = None,
) -> list[Outcome[T]]:
    """:func:`run_all` over ``items`` taken turn by turn: each turn (a list of indexes into ``items``)
    runs to its end before the next starts; the outcomes come back in input order. Uploads use it to
    seed each new folder with its first release, alone (``batch.seed_indexes``)."""
    stop = cancellation if cancellation is not None else Cancellation()
    found: dict[int, Outcome[T]] = {}
    for turn in turns:
        done = run_all([items[i] for i in turn], work, workers=workers, cancellation=stop)
        found.update((i, replace(outcome, index=i)) for i, outcome in zip(turn, done, strict=True))
    return [found[i] for i in range(len(items))]


def _outcome(index: int, future: Future[T]) -> Outcome[T]:
    while not future.done():
        wait_for([future], timeout=_POLL, return_when=FIRST_COMPLETED)
    try:
        return Outcome(index, result=future.result())
    except Exception as exc:
        return Outcome(index, error=exc)


def upload_many(
    ctx: Context,
    items: Iterable[UploadSpec],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: ProgressCallback | None = None,
    max_ratio: float,
) -> list[Outcome[PutSummary]]:
    # Imported here: the command line imports this module's runner.
    from deltaglider.core.put import flow as put_flow

    stop = Cancellation()
    report = stop.checked(serialised(progress))

    def upload(item: UploadSpec) -> PutSummary:
        file, space, *rest = item
        name = rest[0] if rest else None
        return put_flow.put(ctx, Path(file), space, max_ratio=max_ratio, name=name, progress=report)

    return run_all(items, upload, workers=workers, cancellation=stop)


def download_many(
    ctx: Context,
    items: Iterable[DownloadSpec],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: ProgressCallback | None = None,
) -> list[Outcome[GetSummary]]:
    from deltaglider.core.get import flow as get_flow

    stop = Cancellation()
    report = stop.checked(serialised(progress))

    def download(item: DownloadSpec) -> GetSummary:
        obj, dest = item
        return get_flow.get(ctx, obj, dest, report)

    return run_all(items, download, workers=workers, cancellation=stop)
