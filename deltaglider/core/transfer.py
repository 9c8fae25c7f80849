"""Many uploads or downloads at once, on a pool of threads sharing one service.

Each item runs the same flow as a single ``put``/``get``; a failed item is reported in its outcome and
does not stop the others. Outcomes come back in input order. Encodes from all workers (and from every
other thread of the process) share the service's encode gate, so more workers never means more
memory than the gate allows.

The progress callback receives the byte counts that the individual transfers report, from the worker
threads but one call at a time, so a callback that keeps a running total needs no lock of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Generic, TypeAlias, TypeVar

from deltaglider.core import get as get_flow
from deltaglider.core import put as put_flow
from deltaglider.core.context import Context
from deltaglider.core.models import DeltaSpace, GetSummary, ObjectKey, PutSummary
from deltaglider.ports.storage import ProgressCallback

#: ``(file, delta_space)`` or ``(file, delta_space, name)``; a name of None keeps the file's own.
UploadSpec: TypeAlias = tuple[Path | str, DeltaSpace] | tuple[Path | str, DeltaSpace, str | None]
#: ``(object_key, output_path)``; the path may be a folder, as for a single download.
DownloadSpec: TypeAlias = tuple[ObjectKey, Path | str]

DEFAULT_WORKERS: Final = 8

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


def run_all(items: Iterable[S], work: Callable[[S], T], *, workers: int) -> list[Outcome[T]]:
    """``work`` on every item on up to ``workers`` threads; one outcome per item, in input order."""
    _check_workers(workers)
    todo = list(items)
    if not todo:
        return []
    pool = ThreadPoolExecutor(max_workers=min(workers, len(todo)), thread_name_prefix="deltaglider")
    try:
        futures = [pool.submit(work, item) for item in todo]
        outcomes = [_outcome(i, future) for i, future in enumerate(futures)]
    except BaseException:
        # Interrupted (Ctrl-C in the waiting thread): start nothing more, let running items finish.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return outcomes


def _outcome(index: int, future: Future[T]) -> Outcome[T]:
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
    report = serialised(progress)

    def upload(item: UploadSpec) -> PutSummary:
        file, space, *rest = item
        name = rest[0] if rest else None
        return put_flow.put(ctx, Path(file), space, max_ratio=max_ratio, name=name, progress=report)

    return run_all(items, upload, workers=workers)


def download_many(
    ctx: Context,
    items: Iterable[DownloadSpec],
    *,
    workers: int = DEFAULT_WORKERS,
    progress: ProgressCallback | None = None,
) -> list[Outcome[GetSummary]]:
    report = serialised(progress)

    def download(item: DownloadSpec) -> GetSummary:
        obj, dest = item
        return get_flow.get(ctx, obj, Path(dest), report)

    return run_all(items, download, workers=workers)
