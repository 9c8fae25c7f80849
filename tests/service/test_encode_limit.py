"""The process-wide limit on the memory concurrent encodes hold, and one service shared by threads."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from support.artifacts import release_zips, wheel_like_zips
from support.sdk import make_service

from deltaglider.adapters.cache_fs import FsCache
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.codec import EncodePlan
from deltaglider.core import context
from deltaglider.core.encode_limit import ENCODE_GATE, MemoryGate
from deltaglider.core.models import DeltaSpace, ObjectKey, PutSummary
from deltaglider.core.service import DeltaService
from deltaglider.ports.diff import EncodePlan as DiffPlan
from deltaglider.ports.storage import StoragePort


def _in_threads(count: int, work: object) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)  # type: ignore[operator]
        except BaseException as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


class _Peak:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def enter(self, amount: int = 1) -> None:
        with self._lock:
            self.now += amount
            self.peak = max(self.peak, self.now)

    def leave(self, amount: int = 1) -> None:
        with self._lock:
            self.now -= amount


def test_the_gate_never_grants_more_than_its_total() -> None:
    gate = MemoryGate(100)
    held = _Peak()

    def work(i: int) -> None:
        amount = [10, 30, 60][i % 3]
        for _ in range(20):
            with gate.hold(amount) as share:
                assert share == amount
                held.enter(share)
                time.sleep(0.0005)
                held.leave(share)

    assert _in_threads(9, work) == []
    assert 60 < held.peak <= 100
    assert gate.in_use == 0


def test_a_share_larger_than_the_total_runs_alone() -> None:
    gate = MemoryGate(100)
    with gate.hold(10**12) as share:
        assert share == 100
        entered = threading.Event()

        def small() -> None:
            with gate.hold(1):
                entered.set()

        t = threading.Thread(target=small)
        t.start()
        assert not entered.wait(0.1)
    t.join(5)
    assert entered.is_set()


def test_waiters_are_served_in_arrival_order() -> None:
    """A large share waiting is not overtaken by small ones that would fit meanwhile."""
    gate = MemoryGate(100)
    order: list[str] = []
    first = gate.hold(50)
    first.__enter__()

    def take(name: str, amount: int) -> None:
        with gate.hold(amount):
            order.append(name)

    big = threading.Thread(target=take, args=("big", 100))
    big.start()
    while not gate._queue:  # the big one is queued
        time.sleep(0.001)
    small = threading.Thread(target=take, args=("small", 10))
    small.start()
    time.sleep(0.05)
    assert order == []  # small would fit beside the first share, but the big one is ahead
    first.__exit__(None, None, None)
    big.join(5)
    small.join(5)
    assert order == ["big", "small"]


def test_the_gate_refuses_a_nonsense_total() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive number of bytes"):
            MemoryGate(bad)  # type: ignore[arg-type]
    gate = MemoryGate(10)
    gate.resize(20)
    assert gate.total == 20


class _CountingDiff(XDelta3Diff):
    """Claims each encode needs ``share`` bytes and records how many run at once."""

    def __init__(self, share: int) -> None:
        super().__init__()
        self.share = share
        self.running = _Peak()

    def plan(self, source: Path, target: Path) -> EncodePlan:
        return dataclasses.replace(super().plan(source, target), memory=self.share)

    def encode(self, source: Path, target: Path, out: Path, plan: DiffPlan | None = None) -> int:
        self.running.enter()
        try:
            time.sleep(0.01)  # long enough for the other threads to pile up
            return super().encode(source, target, out, plan)
        finally:
            self.running.leave()


def _service(storage: StoragePort, diff: XDelta3Diff, gate: MemoryGate) -> DeltaService:
    base = make_service(storage, diff=diff)
    ctx = base._ctx
    return DeltaService(
        ctx.storage,
        ctx.diff,
        ctx.hasher,
        ctx.cache,
        ctx.clock,
        ctx.logger,
        ctx.metrics,
        ctx.tool_version,
        encode_gate=gate,
    )


def test_concurrent_encodes_stay_within_the_gate(tmp_path: Path) -> None:
    files = release_zips(tmp_path, "app", 8, size=100_000)
    diff = _CountingDiff(share=40)
    service = _service(MemoryStorage(), diff, MemoryGate(100))
    space = DeltaSpace("b", "rel")
    service.put(files[0], space)
    assert _in_threads(7, lambda i: service.put(files[i + 1], space)) == []
    assert diff.running.peak == 2  # 2 x 40 fit in 100, 3 do not


def test_services_share_the_process_wide_gate_by_default() -> None:
    assert make_service()._ctx.encode_gate is ENCODE_GATE
    assert make_service()._ctx.encode_gate is make_service()._ctx.encode_gate


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StoragePort:
    if request.param == "memory":
        return MemoryStorage()
    (tmp_path / "store" / "b").mkdir(parents=True)
    return LocalStorage(tmp_path / "store")


def test_sixteen_threads_upload_into_one_new_deltaspace_through_one_service(
    store: StoragePort, tmp_path: Path
) -> None:
    files = release_zips(tmp_path, "app", 16, size=120_000)
    # One service, shared by every thread for writes and reads; over the local store with the file
    # cache, as create_client builds it.
    cache = None
    if isinstance(store, LocalStorage):
        logger = StdLogger("deltaglider.tests")
        cache = FsCache(tmp_path / "cache", max_bytes=1 << 30, hasher=Sha256Hasher(), logger=logger)
    service = make_service(store, cache=cache)
    space = DeltaSpace("b", "fresh")
    summaries: list[PutSummary | None] = [None] * len(files)

    def upload(i: int) -> None:
        summaries[i] = service.put(files[i], space)

    assert _in_threads(len(files), upload) == []
    done = [s for s in summaries if s is not None]
    assert sum(s.key.endswith("reference.bin") for s in done) == 1
    assert sum(s.operation == "PUT_DELTA" for s in done) == len(files) - 1
    assert [h.key for h in store.list("b", "fresh/") if h.key.endswith("reference.bin")] == [
        "fresh/reference.bin"
    ]

    def download(i: int) -> None:
        out = tmp_path / f"out{i}"
        service.get(ObjectKey("b", f"fresh/{files[i].name}"), out)
        assert out.read_bytes() == files[i].read_bytes()

    assert _in_threads(len(files), download) == []


class _OverlapDiff(XDelta3Diff):
    """Claims each encode needs ``share`` bytes and records how many of them run at once."""

    def __init__(self, share: int) -> None:
        super().__init__()
        self.share = share
        self.running = _Peak()
        self.encodes = 0

    def plan(self, source: Path, target: Path) -> EncodePlan:
        return dataclasses.replace(super().plan(source, target), memory=self.share)

    def encode(self, source: Path, target: Path, out: Path, plan: DiffPlan | None = None) -> int:
        self.running.enter()
        self.encodes += 1
        try:
            time.sleep(0.05)  # long enough for the other encode of the upload to start meanwhile
            return super().encode(source, target, out, plan)
        finally:
            self.running.leave()


@pytest.mark.parametrize(("share", "together"), [(40, 2), (60, 1)])
def test_the_plain_and_decoded_encodes_run_side_by_side_when_the_gate_holds_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, share: int, together: int
) -> None:
    """One upload, one thread: its two encodes overlap when 2 x ``share`` fits the gate's 100, and
    run one after the other when it does not."""
    monkeypatch.setattr(context, "_cores", lambda: 2)
    files = wheel_like_zips(tmp_path, "app", 2)
    diff = _OverlapDiff(share)
    gate = MemoryGate(100)
    service = _service(MemoryStorage(), diff, gate)
    service.put(files[0], DeltaSpace("b", "rel"))
    diff.encodes = 0

    summary = service.put(files[1], DeltaSpace("b", "rel"))

    assert (summary.transform, diff.encodes, diff.running.peak) == ("zip", 2, together)
    assert gate.in_use == 0


def test_one_core_runs_the_encodes_one_after_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "_cores", lambda: 1)
    files = wheel_like_zips(tmp_path, "app", 2)
    diff = _OverlapDiff(10)
    service = _service(MemoryStorage(), diff, MemoryGate(100))
    service.put(files[0], DeltaSpace("b", "rel"))
    diff.encodes = 0
    assert service.put(files[1], DeltaSpace("b", "rel")).transform == "zip"
    assert (diff.encodes, diff.running.peak) == (2, 1)
