"""Batch uploads and downloads: one outcome per item in input order, failures isolated, progress
serialised across worker threads."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from support.sdk import make_service

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.transfer import Cancellation, Cancelled, Outcome, run_all, serialised
from deltaglider.errors import NotFoundError

SPACE = DeltaSpace("b", "rel")


def test_upload_many_then_download_many(storage: MemoryStorage, releases: list[Path], tmp_path: Path) -> None:
    service = make_service(storage)
    items = [(path, SPACE, None) for path in releases] + [(releases[0], SPACE, "renamed.zip")]
    uploads = service.upload_many(items, workers=3)
    assert [o.index for o in uploads] == list(range(len(items)))
    assert all(o.ok for o in uploads), [o.error for o in uploads]
    keys = [o.unwrap().key for o in uploads]
    assert keys[-1] == "rel/renamed.zip.delta"
    assert sum(k.endswith("reference.bin") for k in keys) == 1
    out = tmp_path / "out"
    out.mkdir()
    names = [p.name for p in releases] + ["renamed.zip"]
    downloads = service.download_many([(ObjectKey("b", f"rel/{n}"), out / n) for n in names], workers=4)
    assert [o.unwrap().path for o in downloads] == [str(out / n) for n in names]
    for name, source in zip(names, [*releases, releases[0]], strict=True):
        assert (out / name).read_bytes() == source.read_bytes()


def test_two_element_items_keep_the_files_own_name(storage: MemoryStorage, releases: list[Path]) -> None:
    outcomes = make_service(storage).upload_many([(str(releases[0]), SPACE)], workers=1)
    assert outcomes[0].unwrap().file_size == releases[0].stat().st_size
    assert storage.head("b", "rel/app-1.0.zip.delta") is not None


def test_one_failure_does_not_stop_the_rest(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    service = make_service(storage)
    items = [(releases[0], SPACE, None), (tmp_path / "missing.zip", SPACE, None), (releases[1], SPACE, None)]
    outcomes = service.upload_many(items, workers=2)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, NotFoundError)
    with pytest.raises(NotFoundError):
        outcomes[1].unwrap()
    gets = service.download_many(
        [
            (ObjectKey("b", "rel/nope.zip"), tmp_path / "a"),
            (ObjectKey("b", "rel/app-1.1.zip"), tmp_path / "b"),
        ]
    )
    assert [o.ok for o in gets] == [False, True]
    assert isinstance(gets[0].error, NotFoundError)
    assert not (tmp_path / "a").exists()


def test_progress_counts_every_byte_one_call_at_a_time(storage: MemoryStorage, releases: list[Path]) -> None:
    service = make_service(storage)
    inside = threading.Lock()
    calls: list[int] = []

    def progress(count: int) -> None:
        assert inside.acquire(blocking=False), "called from two threads at once"
        try:
            time.sleep(0.001)
            calls.append(count)
        finally:
            inside.release()

    service.put(releases[0], SPACE)  # the reference first: racing writers may each send a candidate
    outcomes = service.upload_many([(p, SPACE) for p in releases[1:]], workers=4, progress=progress)
    assert len(calls) == len(releases) - 1
    assert sum(calls) == sum(o.unwrap().file_size for o in outcomes)  # the files read, not what is stored


def test_outcomes_keep_input_order_whatever_finishes_first() -> None:
    def work(delay: float) -> float:
        time.sleep(delay)
        if delay == 0.0:
            raise ValueError("zero")
        return delay

    delays = [0.05, 0.01, 0.0, 0.03, 0.02]
    outcomes = run_all(delays, work, workers=5)
    assert [o.index for o in outcomes] == [0, 1, 2, 3, 4]
    assert [o.result for o in outcomes] == [0.05, 0.01, None, 0.03, 0.02]
    assert isinstance(outcomes[2].error, ValueError)


def test_workers_run_at_once_up_to_the_limit() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def work(_: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return 0

    run_all(range(12), work, workers=3)
    assert peak == 3


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_positive_integer(workers: object) -> None:
    with pytest.raises(ValueError, match="workers"):
        run_all([1], lambda x: x, workers=workers)  # type: ignore[arg-type]


def test_nothing_to_do() -> None:
    assert run_all([], lambda x: x, workers=4) == []
    assert serialised(None) is None
    assert Outcome(0, result=1).ok


def test_an_interrupted_batch_stops_its_running_items_at_their_next_block() -> None:
    stop = Cancellation()
    started: list[int] = []
    stopped: list[int] = []
    lock = threading.Lock()

    def work(index: int) -> int:
        with lock:
            started.append(index)
            both = len(started) == 2
        if both:
            time.sleep(0.1)  # the waiting thread is past submitting the items by now
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)  # Ctrl-C
        tick = stop.checked(None)
        try:
            for _ in range(500):  # 5 s of blocks, were it not stopped
                time.sleep(0.01)
                tick(1)
        except Cancelled:
            stopped.append(index)
            raise
        return index

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_all(range(6), work, workers=2, cancellation=stop)
    assert time.monotonic() - began < 2
    assert sorted(started) == sorted(stopped) == [0, 1]  # the queued four never started


def test_an_item_raising_cancelled_cancels_the_batch() -> None:
    stop = Cancellation()

    def work(index: int) -> int:
        if index == 0:
            stop.cancel()
        stop.check()
        return index

    with pytest.raises(Cancelled):
        run_all(range(4), work, workers=1, cancellation=stop)
