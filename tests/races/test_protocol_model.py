"""The protocol, proven by a model: users' uploads, overwrites and deletes against every maintenance
flow (retention, re-packing, removing a base, ``sync --delete``), interleaved one store call at a time
in the order hypothesis chooses (``support.stepped``), on the memory store, a folder store and S3.

After every step, every name is read back by a fresh client (an empty cache) and held to the rules of
:mod:`deltaglider.core.protocol`:

- a file a user was told is stored reads back byte for byte until a later write or delete of the name
  (while a write of the name is under way, it reads as before or as written; a name new to the
  folder, or that a maintenance flow is removing, may also fail to read until its upload ends, and
  so may a name once an upload or a rewrite under way has written it: the bases that write needs may
  have been removed meanwhile, and the flow keeps them again before it ends);
- nothing deleted comes back;
- a maintenance flow removes a name only as a version it had seen: one written after the flow last
  read the name stays.

Re-packing never changes what a name reads; retention and ``sync --delete`` may remove a name they
judged. Where they did, the model learns it, so that the name coming back later fails.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from moto import mock_aws
from support.moto_server import serialize_conditional_writes, use_fake_aws_env
from support.sdk import TickingClock
from support.stepped import TO_ACT, Flow, Scheduler, SteppedStorage

from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.adapters.storage_s3 import S3Storage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService
from deltaglider.errors import DeltaGliderError, NotFoundError, ReferenceInUseError

BUCKET = "model"
SPACE = DeltaSpace(BUCKET, "rel")
NAMES = ("a.iso", "b.iso", "c.iso")
SIZE = 48_000
#: How far each content is from the family's first (share of bytes changed); None: unrelated bytes.
DRIFTS: tuple[float | None, ...] = (0.0, 0.01, 0.03, 0.25, None)
#: At most this many flows run at once.
MAX_FLOWS = 3
#: What the folder holds before the flows start, written by a client of its own (not stepped), so that
#: the schedules hypothesis draws begin where the races are: a base in use, a base no file needs any
#: more, a file stored whole that later uploads may take as their base. Each entry: an upload of
#: (name, drift, whole) or a delete of a name.
SEEDS: dict[str, tuple[tuple[str, float | None, bool] | str, ...]] = {
    "empty": (),
    "one": (("a.iso", 0.0, False),),
    "one, deleted": (("a.iso", 0.0, False), "a.iso"),
    "two": (("a.iso", 0.0, False), ("b.iso", 0.01, False)),
    "one whole": (("a.iso", 0.0, True),),
    "drifted": (("a.iso", 0.0, False), ("b.iso", 0.25, False), "a.iso"),
}
#: How many store calls one step lets a flow make: a few, or (1000) all it has left, so that a whole
#: flow often runs between two calls of another, as the races of the protocol's findings do; or
#: (:data:`TO_ACT`) up to, not into, its next write or removal, so that a flow is often paused just
#: where it has judged and is about to act, the moment another flow's whole run matters most.
CALLS_PER_STEP = (TO_ACT, 1, 2, 3, 4, 1000)
#: The store calls that change what a name holds.
MAINTENANCE = ("retain", "repack", "remove-base", "sync-delete", "collect")


def content(drift: float | None, serial: int) -> bytes:
    """A family member: the first release with ``drift`` of its bytes changed, or unrelated bytes,
    ending in a serial so that no two uploads store the same bytes."""
    first = bytearray(random.Random(7).randbytes(SIZE))
    other = random.Random(serial)
    if drift is None:
        first = bytearray(other.randbytes(SIZE))
    else:
        for _ in range(int(SIZE * drift)):
            first[other.randrange(SIZE)] = other.randrange(256)
    return bytes(first) + serial.to_bytes(8, "big")


def service(storage: Any, clock: TickingClock) -> DeltaService:
    """A client of its own (its own cache), as another process would be."""
    hasher = Sha256Hasher()
    return DeltaService(
        storage=storage,
        diff=XDelta3Diff(),
        hasher=hasher,
        cache=MemoryCache(max_bytes=1 << 28, hasher=hasher),
        clock=clock,
        logger=StdLogger("deltaglider.tests.model"),
        metrics=NoopMetrics(),
        tool_version="deltaglider/model",
    )


@dataclass
class Acked:
    step: int  # when the version was written (a delete: when it was acknowledged)
    content: bytes | None  # None: deleted (or never stored)


@dataclass
class UserOp:
    flow: Flow
    name: str
    content: bytes | None  # None: a delete


class ProtocolModel(RuleBasedStateMachine):
    """One example: a store, a family of uploads and the flows hypothesis starts and steps."""

    store_kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix="dg-model-"))
        self.stack.callback(shutil.rmtree, self.tmp, True)
        self.raw = self._store()
        self.clock = TickingClock()
        self.scheduler = Scheduler()
        self.stepped = SteppedStorage(self.raw, self.scheduler)
        self.acked = {name: Acked(0, None) for name in NAMES}
        self.user_ops: dict[str, UserOp] = {}
        self.removing: dict[str, list[Flow]] = {}  # names a maintenance removal under way took
        self.targets: dict[str, frozenset[str]] = {}  # a removing flow's name: the names it may remove
        self.serial = 0
        self.mtime = 1_700_000_000

    def _store(self) -> Any:
        if self.store_kind == "memory":
            return MemoryStorage()
        if self.store_kind == "local":
            (self.tmp / "store" / BUCKET).mkdir(parents=True)
            return LocalStorage(self.tmp / "store")
        self.stack.enter_context(mock_aws())
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        return S3Storage(client)

    def teardown(self) -> None:
        try:
            self.scheduler.finish_all()
            self.check()
        finally:
            self.stack.close()

    # -- starting flows ----------------------------------------------------------------------------

    @initialize(
        seed=st.sampled_from(sorted(SEEDS)),
        name=st.sampled_from(NAMES),
        drift=st.sampled_from((*DRIFTS, "delete")),
        whole=st.booleans(),
        maintenance=st.sampled_from(MAINTENANCE),
        keep=st.integers(min_value=0, max_value=2),
        kept=st.sets(st.sampled_from(NAMES)),
    )
    def begin(
        self,
        *,
        seed: str,
        name: str,
        drift: float | str | None,
        whole: bool,
        maintenance: str,
        keep: int,
        kept: set[str],
    ) -> None:
        """Every example starts from a seeded folder with a user's write or delete and a maintenance
        flow under way: the schedules hypothesis draws then all race the two."""
        client = service(self.raw, self.clock)
        for entry in SEEDS[seed]:
            if isinstance(entry, str):
                client.delete(ObjectKey(BUCKET, f"{SPACE.prefix}/{entry}"))
                self.acked[entry] = Acked(0, None)
                continue
            stored, stored_drift, stored_whole = entry
            path, data = self._file(stored, stored_drift)
            client.put(path, SPACE, 0.0 if stored_whole else None, name=stored)
            self.acked[stored] = Acked(0, data)
        if drift == "delete":
            self.delete(name)
        else:
            assert not isinstance(drift, str)
            self.upload(name, drift, whole)
        starts: dict[str, Callable[[], None]] = {
            "retain": lambda: self.retain(keep),
            "repack": self.repack,
            "remove-base": self.remove_reference,
            "sync-delete": lambda: self.sync_delete(kept),
            "collect": self.collect_bases,
        }
        starts[maintenance]()

    def _file(self, name: str, drift: float | None) -> tuple[Path, bytes]:
        self.serial += 1
        data = content(drift, self.serial)
        path = self.tmp / "files" / f"{self.serial}" / name
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        self.mtime += 60
        os.utime(path, (self.mtime, self.mtime))
        return path, data

    def _start(self, kind: str, work: Callable[[], Any]) -> Flow:
        name = f"{kind}-{len(self.scheduler.flows)}"
        return self.scheduler.start(name, kind, work)

    def _room(self) -> bool:
        return len(self.scheduler.running()) < MAX_FLOWS

    @precondition(lambda self: self._room())
    @rule(name=st.sampled_from(NAMES), drift=st.sampled_from(DRIFTS), whole=st.booleans())
    def upload(self, name: str, drift: float | None, whole: bool) -> None:
        """``whole``: with deltas off (``max_ratio`` 0), so that re-packing changes its form later."""
        if name in self.user_ops:
            return  # one user op per name at a time: the model's order of a name's writes
        path, data = self._file(name, drift)
        client = service(self.stepped, self.clock)
        ratio = 0.0 if whole else None
        flow = self._start("upload", lambda: client.put(path, SPACE, ratio, name=name))
        self.user_ops[name] = UserOp(flow, name, data)

    @precondition(lambda self: self._room())
    @rule(name=st.sampled_from(NAMES))
    def delete(self, name: str) -> None:
        if name in self.user_ops:
            return
        client = service(self.stepped, self.clock)

        def work() -> None:
            with suppress(NotFoundError):  # nothing there: the name is deleted all the same
                client.delete(ObjectKey(BUCKET, f"{SPACE.prefix}/{name}"))

        self.user_ops[name] = UserOp(self._start("delete", work), name, None)

    @precondition(lambda self: self._room())
    @rule(keep=st.integers(min_value=0, max_value=2))
    def retain(self, keep: int) -> None:
        client = service(self.stepped, self.clock)
        flow = self._start("retain", lambda: client.retain(SPACE, keep_last=keep))
        self.targets[flow.name] = frozenset(NAMES)

    @precondition(lambda self: self._room())
    @rule()
    def repack(self) -> None:
        client = service(self.stepped, self.clock)
        self._start("repack", lambda: client.repack(SPACE))

    @precondition(lambda self: self._room())
    @rule()
    def remove_reference(self) -> None:
        client = service(self.stepped, self.clock)

        def work() -> None:
            with suppress(NotFoundError, ReferenceInUseError):  # none, or in use: refused
                client.delete(ObjectKey(BUCKET, f"{SPACE.prefix}/reference.bin"))

        self._start("remove-base", work)

    @precondition(lambda self: self._room())
    @rule(keep=st.sets(st.sampled_from(NAMES)))
    def sync_delete(self, keep: set[str]) -> None:
        """``sync --delete`` from a source holding only ``keep``: the other names go, as found, and
        then the bases no file left needs."""
        client = service(self.stepped, self.clock)

        def work() -> None:
            for entry in client.list(SPACE):
                if not entry.is_prefix and entry.name not in keep:
                    with suppress(NotFoundError):
                        client.remove_seen(ObjectKey(BUCKET, f"{SPACE.prefix}/{entry.name}"))
            client.collect_bases(SPACE)

        flow = self._start("sync-delete", work)
        self.targets[flow.name] = frozenset(NAMES) - keep

    @precondition(lambda self: self._room())
    @rule()
    def collect_bases(self) -> None:
        client = service(self.stepped, self.clock)
        self._start("collect", lambda: client.collect_bases(SPACE))

    @precondition(lambda self: self.scheduler.running())
    @rule(pick=st.integers(min_value=0, max_value=MAX_FLOWS - 1), calls=st.sampled_from(CALLS_PER_STEP))
    def step(self, pick: int, calls: int) -> None:
        """Lets one flow make ``calls`` store calls (a run of several reaches deeper in fewer rules;
        it stops where the flow ends), checking every name after each."""

        def after_each() -> None:
            self._settle_user_ops()
            self.check()

        self.scheduler.run_one(pick, calls, after_each)

    # -- the model ------------------------------------------------------------------------------------

    def _settle_user_ops(self) -> None:
        for name, flows in list(self.removing.items()):
            if all(flow.done for flow in flows):
                del self.removing[name]
                if self.acked[name].step < min(c.step for f in flows for c in f.calls):
                    self.acked[name] = Acked(self.scheduler.steps, None)
        for name, op in list(self.user_ops.items()):
            if not op.flow.done:
                continue
            del self.user_ops[name]
            if op.flow.error is not None:
                raise AssertionError(f"{op.flow.name} of {name} failed: {op.flow.error!r}") from op.flow.error
            # A version is as old as its last write: what a remover read after that, it had seen.
            keys = {f"{SPACE.prefix}/{name}", f"{SPACE.prefix}/{name}.delta"}
            writes = [c.step for c in op.flow.calls if c.key in keys and c.method.startswith("put")]
            step = max(writes) if op.content is not None and writes else self.scheduler.steps
            self.acked[name] = Acked(step, op.content)

    def _written_under_way(self, name: str) -> bool:
        """Whether a flow not yet ended (an upload, a rewrite) has written one of the name's forms."""
        keys = {f"{SPACE.prefix}/{name}", f"{SPACE.prefix}/{name}.delta"}
        running = self.scheduler.running()
        return any(c.key in keys and c.method.startswith("put") for flow in running for c in flow.calls)

    def _read(self, name: str) -> bytes | None:
        out = self.tmp / "read" / name
        out.parent.mkdir(exist_ok=True)
        out.unlink(missing_ok=True)
        try:
            service(self.raw, self.clock).get(ObjectKey(BUCKET, f"{SPACE.prefix}/{name}"), out)
        except NotFoundError:
            return None
        return out.read_bytes()

    def _seen_since(self, name: str, step: int) -> list[Flow]:
        """The flows that may remove this name and read it (or listed its folder) after ``step``."""
        keys = {f"{SPACE.prefix}/{name}", f"{SPACE.prefix}/{name}.delta"}
        return [
            flow
            for flow in self.scheduler.flows
            if name in self.targets.get(flow.name, ())
            and any(
                call.step > step
                and (
                    # a listing of the name's folder (not of the markers beside it, nor of the bases)
                    (call.method == "list" and any(key.startswith(call.key) for key in keys))
                    or (call.key in keys and call.method in {"head", "get_file"})
                )
                for call in flow.calls
            )
        ]

    @invariant()
    def flows_do_not_fail(self) -> None:
        for flow in self.scheduler.flows:
            if flow.done and flow.error is not None and flow.kind not in {"upload", "delete"}:
                raise AssertionError(f"{flow.name} failed: {flow.error!r}") from flow.error

    def _calls(self) -> str:
        return "\n".join(f"  {c.step:3d} {c.flow:16s} {c.method} {c.key}" for c in self.scheduler.log)

    def check(self) -> None:
        for name in NAMES:
            try:
                actual = self._read(name)
            except DeltaGliderError as exc:
                op = self.user_ops.get(name)
                if op is not None and (self.acked[name].content is None or name in self.removing):
                    continue  # a name new (or removed) under way: its delta may show before its base is kept
                if self._written_under_way(name):
                    continue  # a write's bases are kept again before its flow ends
                raise AssertionError(
                    f"{name} does not read after step {self.scheduler.steps}: {exc}; the calls:\n"
                    + self._calls()
                ) from exc
            acked = self.acked[name]
            op = self.user_ops.get(name)
            allowed = [acked.content]
            if op is not None:
                allowed.append(op.content)
            if actual in allowed:
                continue
            removers = self._seen_since(name, acked.step) if actual is None else []
            if removers:
                # A retention or sync --delete removed the version it judged: gone once the removal
                # has ended (until then the name may show its last version again, as a delete under
                # way may).
                if all(flow.done for flow in removers):
                    self.acked[name] = Acked(self.scheduler.steps, None)
                else:
                    self.removing[name] = removers
                continue
            pending = self.removing.get(name, [])
            if pending and actual == acked.content and not all(flow.done for flow in pending):
                continue
            what = "gone" if actual is None else "other bytes" if acked.content is not None else "back"
            raise AssertionError(
                f"{name} is {what} after step {self.scheduler.steps}; the calls:\n{self._calls()}"
            )


def _settings(examples: int, *, seeded: bool = False) -> settings:
    # DG_MODEL_NO_SHRINK: report the first failing schedule as found, and neither replay nor save
    # examples (planting bugs to see the model catch them needs only fresh schedules, and shrinking a
    # schedule takes minutes).
    fresh: dict[str, Any] = {"phases": [Phase.explicit, Phase.generate], "database": None}
    return settings(
        max_examples=examples,
        stateful_step_count=40,
        deadline=None,
        derandomize=seeded,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        **(fresh if os.environ.get("DG_MODEL_NO_SHRINK") else {}),
    )


#: The default run's sample: a few schedules per store, the same ones every run (derandomized), sized
#: to keep each store's test within a few seconds; S3 on moto costs the most per schedule.
#: ``DG_MODEL_EXAMPLES`` sets another count (and random schedules), the slow test runs many.
_SAMPLE = {"memory": 5, "local": 4, "s3": 1}
_EXAMPLES = os.environ.get("DG_MODEL_EXAMPLES")
#: Schedules per store in the slow run.
_MANY = 300


@pytest.fixture(autouse=True)
def _fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))
    serialize_conditional_writes(monkeypatch.setattr)


def _run(store_kind: str, examples: int, *, seeded: bool = False) -> None:
    machine = type(f"ProtocolModel_{store_kind}", (ProtocolModel,), {"store_kind": store_kind})
    test = machine.TestCase
    test.settings = _settings(examples, seeded=seeded)
    test().runTest()


@pytest.mark.parametrize("store_kind", ["memory", "local", "s3"])
def test_no_acknowledged_file_is_lost_and_nothing_deleted_comes_back(store_kind: str) -> None:
    if _EXAMPLES is None:
        _run(store_kind, _SAMPLE[store_kind], seeded=True)
    else:
        _run(store_kind, int(_EXAMPLES))


@pytest.mark.slow
@pytest.mark.parametrize("store_kind", ["memory", "local", "s3"])
def test_the_protocol_model_holds_over_many_schedules(store_kind: str) -> None:
    _run(store_kind, _MANY)
