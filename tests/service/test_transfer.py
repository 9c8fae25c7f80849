"""Batch uploads and downloads: one outcome per item in input order, failures isolated, progress
serialised across worker threads."""

from __future__ import annotations

import signal
import sys
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


def _ctrl_c() -> None:
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


def _main_thread_waits_for_an_outcome() -> bool:
    """Whether the main thread is blocked waiting for a future (``concurrent.futures.wait`` or
    ``Future.result``): past submitting a batch's items."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        code = frame.f_code
        if code.co_name in ("result", "wait") and "concurrent" in code.co_filename:
            return True
        frame = frame.f_back
    return False


def _ctrl_c_once_the_main_thread_waits(stop: Cancellation) -> None:
    """Ctrl-C once the main thread waits for the batch's outcomes, not while it still starts the
    pool's threads (the next test's case). A fixed sleep before it made the test fail whenever the
    main thread was kept off the CPU for longer than the sleep, on a loaded machine.

    CPython runs a signal's handler when a blocking lock acquire is interrupted, or at its next
    check between bytecodes: a signal that lands after the main thread's last check and before it
    blocks waits for the lock, here for the items' end. So the Ctrl-C comes once the main thread has
    stayed in ``Future.result`` for a while (blocked, then), and once more should the batch still
    not be cancelled half a second later (a pending signal is one, however often it is sent)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _main_thread_waits_for_an_outcome():
            time.sleep(0.05)
            if _main_thread_waits_for_an_outcome():
                break
        time.sleep(0.005)
    _ctrl_c()
    if not _cancelled_within(stop, 0.5):
        _ctrl_c()


def _cancelled_within(stop: Cancellation, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            stop.check()
        except Cancelled:
            return True
        time.sleep(0.01)
    return False


def _blocks_until_stopped(stop: Cancellation, index: int, stopped: list[int], block_s: float = 0.01) -> int:
    tick = stop.checked(None)
    try:
        for _ in range(round(5 / block_s)):  # 5 s of blocks, were it not stopped
            time.sleep(block_s)
            tick(1)
    except Cancelled:
        stopped.append(index)
        raise
    return index


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
            _ctrl_c_once_the_main_thread_waits(stop)
        return _blocks_until_stopped(stop, index, stopped)

    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_all(range(6), work, workers=2, cancellation=stop)
    assert time.monotonic() - began < 2
    assert sorted(started) == sorted(stopped) == [0, 1]  # the queued four never started


def test_a_batch_interrupted_while_its_threads_start_still_stops_every_item_before_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The interrupt lands in the main thread right after it started the pool's second thread, before
    ``ThreadPoolExecutor`` records that thread: what an overloaded machine does when it keeps the
    main thread off the CPU there (it failed the test above now and then)."""
    stop = Cancellation()
    started: list[int] = []
    stopped: list[int] = []
    lock = threading.Lock()
    start = threading.Thread.start
    pool_threads: list[threading.Thread] = []

    def start_then_stall(thread: threading.Thread) -> None:
        start(thread)
        if thread.name.startswith("deltaglider"):
            pool_threads.append(thread)
            if len(pool_threads) == 2:
                time.sleep(5)  # off the CPU, until the Ctrl-C lands here

    def work(index: int) -> int:
        with lock:
            started.append(index)
            both = len(started) == 2
        if both:
            _ctrl_c()
        # Its blocks take longer than the other item's: it is surely still running when that one has
        # stopped and shutdown has joined the only thread it knows of.
        return _blocks_until_stopped(stop, index, stopped, block_s=0.3 if both else 0.01)

    monkeypatch.setattr(threading.Thread, "start", start_then_stall)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_all(range(6), work, workers=2, cancellation=stop)
        with lock:
            stopped_when_raised = sorted(stopped)
    finally:
        for thread in pool_threads:  # leave no thread running into the next test
            thread.join(10)
    assert sorted(started) == [0, 1]
    assert stopped_when_raised == [0, 1]


def test_an_item_raising_cancelled_cancels_the_batch() -> None:
    stop = Cancellation()

    def work(index: int) -> int:
        if index == 0:
            stop.cancel()
        stop.check()
        return index

    with pytest.raises(Cancelled):
        run_all(range(4), work, workers=1, cancellation=stop)
