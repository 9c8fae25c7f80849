"""The history of a name (issue 25), proven by a model: overwrites of two names by clients that keep
history, deletes (keeping the version, or ``all_versions``) and retention by versions
(``keep_versions``), interleaved one store call at a time in the order hypothesis chooses
(``support.stepped``), on the memory store and a folder store.

After every step, each name's versions are listed by a fresh client and held to these rules:

- they are listed newest first by ID, each once, at most one current. The current one is not
  always the first: a write that lands where nothing is passes the newest version kept in the
  history when it looks there, but a delete may keep a newer one between that look and its write
  (the race test of an upload landing after a delete forces the common case, which it must win);
- each is a version some upload wrote (its SHA-256 one of theirs), and downloads byte for byte within
  two decodes (each stored object once: a kept version's object never changes; while a flow that may
  remove or re-base it is under way, a version may also fail to read);
- every version whose upload was acknowledged is listed, unless an ``all_versions`` delete of its
  name, or a retention, ran after it landed (and so may have removed it);
- no version that a finished retention removed is listed again (unless its upload was still under
  way, and wrote it again: the upload's acknowledgement comes after the retention; or unless a flow
  keeping it had checked it was still at its name just before retention removed it, and wrote its
  copy just after: a window between two store calls that no conditional write can close).

When every flow has ended, every version listed must download: nothing is excused any more.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from support.history import (
    MAX_DECODES,
    SPACE,
    CountingDiff,
    client,
    content,
    key_of,
    open_store,
    sha256,
)
from support.sdk import TickingClock
from support.stepped import TO_ACT, Flow, Scheduler, SteppedStorage

from deltaglider.core.format.layout import version_key
from deltaglider.core.models import RetentionResult, VersionInfo
from deltaglider.errors import DeltaGliderError, NotFoundError

NAMES = ("a.iso", "b.iso")
#: How far each upload is from the family's first release (share of bytes changed); None: unrelated.
DRIFTS: tuple[float | None, ...] = (0.0, 0.01, 0.03, None)
MAX_FLOWS = 3
#: How many store calls one step lets a flow make: a few, all it has left (1000), or (:data:`TO_ACT`)
#: up to, not into, its next write or removal, where another flow's whole run matters most.
CALLS_PER_STEP = (TO_ACT, 1, 2, 3, 1000)


@dataclass
class Version:
    """An upload: the version it writes, known by the SHA-256 of its content."""

    name: str
    data: bytes
    flow: Flow


@dataclass
class Removal:
    """A flow that may remove versions: an ``all_versions`` delete of ``name``, or a retention (None)."""

    flow: Flow
    name: str | None


@dataclass
class Seen:
    """What the model has read of the store so far."""

    #: (version ID, stored key, stored size) of the stored objects downloaded exact: read once.
    downloaded: set[tuple[str, str, int]] = field(default_factory=set)


class HistoryModel(RuleBasedStateMachine):
    store_kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix="dg-history-model-"))
        self.stack.callback(shutil.rmtree, self.tmp, True)
        self.raw = self.stack.enter_context(open_store(self.store_kind, self.tmp, pytest.MonkeyPatch()))
        self.clock = TickingClock()
        self.scheduler = Scheduler()
        self.stepped = SteppedStorage(self.raw, self.scheduler)
        self.uploads: dict[str, Version] = {}  # by the SHA-256 of their content
        self.removals: list[Removal] = []
        #: The version IDs that finished retentions removed, and the step each retention ended at.
        self.dropped: dict[str, int] = {}
        self.serial = 0
        self.seen = Seen()

    def teardown(self) -> None:
        try:
            self.scheduler.finish_all()
            self.check(final=True)
        finally:
            self.stack.close()

    # -- starting flows ----------------------------------------------------------------------------

    @initialize(seeded=st.booleans())
    def begin(self, seeded: bool) -> None:
        """A folder whose base is another name's (so that the names' uploads are deltas), or none."""
        if seeded:
            path, _ = self._file("first.iso", 0.0)
            client(self.raw, self.clock).put(path, SPACE)

    def _file(self, name: str, drift: float | None) -> tuple[Path, bytes]:
        self.serial += 1
        data = content(self.serial, drift)
        path = self.tmp / "files" / str(self.serial) / name
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        os.utime(path, (1_700_000_000 + self.serial, 1_700_000_000 + self.serial))
        return path, data

    def _start(self, kind: str, work: Callable[[], Any]) -> Flow:
        return self.scheduler.start(f"{kind}-{len(self.scheduler.flows)}", kind, work)

    def _room(self) -> bool:
        return len(self.scheduler.running()) < MAX_FLOWS

    @precondition(lambda self: self._room())
    @rule(name=st.sampled_from(NAMES), drift=st.sampled_from(DRIFTS), whole=st.booleans())
    def upload(self, name: str, drift: float | None, whole: bool) -> None:
        """An overwrite by a client that keeps history (``whole``: deltas off); several of one name
        may run at once."""
        path, data = self._file(name, drift)
        writer = client(self.stepped, self.clock, whole=whole)
        flow = self._start("upload", lambda: writer.put(path, SPACE))
        self.uploads[sha256(data)] = Version(name, data, flow)

    @precondition(lambda self: self._room())
    @rule(name=st.sampled_from(NAMES), all_versions=st.booleans())
    def delete(self, name: str, all_versions: bool) -> None:
        remover = client(self.stepped, self.clock)

        def work() -> None:
            with suppress(NotFoundError):  # nothing there: deleted all the same
                remover.delete(key_of(name), all_versions=all_versions)

        flow = self._start("purge" if all_versions else "delete", work)
        if all_versions:
            self.removals.append(Removal(flow, name))

    @precondition(lambda self: self._room())
    @rule(keep=st.integers(min_value=0, max_value=2))
    def retain(self, keep: int) -> None:
        keeper = client(self.stepped, self.clock)
        flow = self._start("retain", lambda: keeper.retain(SPACE, keep_versions=keep))
        self.removals.append(Removal(flow, None))

    @precondition(lambda self: self.scheduler.running())
    @rule(pick=st.integers(min_value=0, max_value=MAX_FLOWS - 1), calls=st.sampled_from(CALLS_PER_STEP))
    def step(self, pick: int, calls: int) -> None:
        def after_each() -> None:
            self._learn()
            self.check()

        self.scheduler.run_one(pick, calls, after_each)

    # -- the model ------------------------------------------------------------------------------------

    def _learn(self) -> None:
        for removal in self.removals:
            result = removal.flow.result
            if removal.flow.done and isinstance(result, RetentionResult):
                ended = removal.flow.calls[-1].step
                for entry in result.versions_removed:
                    self.dropped.setdefault(entry.rpartition("@")[2], ended)

    @invariant()
    def flows_do_not_fail(self) -> None:
        for flow in self.scheduler.flows:
            if flow.done and flow.error is not None:
                raise AssertionError(f"{flow.name} failed: {flow.error!r}\n{self._calls()}") from flow.error

    def _calls(self) -> str:
        return "\n".join(f"  {c.step:3d} {c.flow:12s} {c.method} {c.key}" for c in self.scheduler.log)

    def _landed(self, version: Version) -> int | None:
        """The step at which the upload's first write of its name landed (None: not yet)."""
        keys = {f"{SPACE.prefix}/{version.name}", f"{SPACE.prefix}/{version.name}.delta"}
        steps = [c.step for c in version.flow.calls if c.key in keys and c.method.startswith("put")]
        return min(steps) if steps else None

    def _may_remove(self, version: Version) -> bool:
        """Whether a flow that may remove the version ran after it landed."""
        landed = self._landed(version)
        return any(
            removal.name in (None, version.name)
            and (not removal.flow.done or (landed is not None and removal.flow.calls[-1].step > landed))
            for removal in self.removals
        )

    def _landed_after(self, info: VersionInfo) -> bool:
        """Whether the upload of a version a retention removed ended after that retention: its
        acknowledgement comes later, and the version is its name's again (written again where a
        delete, kept by the delete, and removed by retention meanwhile, had taken it)."""
        version = self.uploads.get(info.sha256 or "")
        flow = None if version is None else version.flow
        return flow is not None and (not flow.done or flow.calls[-1].step > self.dropped[info.version_id])

    def _kept_in_window(self, info: VersionInfo) -> bool:
        """Whether the version was kept again by a flow that had read it at its name, and found it
        still there just before its write, when retention removed it in between those two calls:
        the window no store call can close (a write conditional on another key), left open."""
        kept = version_key(SPACE.prefix, info.name, info.version_id)
        names = {f"{SPACE.prefix}/{info.name}", f"{SPACE.prefix}/{info.name}.delta"}
        removed = [c.step for c in self.scheduler.log if c.key == kept and c.method == "delete_if_match"]
        for flow in self.scheduler.flows:
            for before, put in zip(flow.calls, flow.calls[1:], strict=False):
                if (
                    put.key == kept
                    and put.method == "put_file_if_absent"
                    and before.method == "head"
                    and before.key in names
                    and any(before.step < step < put.step for step in removed)
                ):
                    return True
        return False

    def _busy(self, name: str) -> bool:
        """Whether a flow under way may leave a version of ``name`` unreadable for a while: an upload
        of it (its delta written, its base kept again before it ends), or a removal."""
        return any(not v.flow.done for v in self.uploads.values() if v.name == name) or any(
            not r.flow.done and r.name in (None, name) for r in self.removals
        )

    def check(self, *, final: bool = False) -> None:
        for name in NAMES:
            listed = client(self.raw, self.clock).versions(key_of(name))
            where = (
                f"{name} after step {self.scheduler.steps}: {[_show(v) for v in listed]}\n{self._calls()}\n"
            )
            ids = [v.version_id for v in listed]
            assert ids == sorted(set(ids), reverse=True), f"{where}: not newest first, or repeated"
            current = [v for v in listed if v.is_current]
            # (Not always the first: see the module doc.)
            assert len(current) <= 1, f"{where}: {len(current)} current versions"
            back = [
                v
                for v in listed
                if v.version_id in self.dropped and not self._landed_after(v) and not self._kept_in_window(v)
            ]
            assert not back, f"{where}: {back} listed again after retention removed them"
            shas = {v.sha256 for v in listed}
            for info in listed:
                version = self.uploads.get(info.sha256 or "")
                assert version is not None and version.name == name, f"{where}: {info} never uploaded"
                self._download(name, info, version, excused=not final and self._busy(name))
            for sha, version in self.uploads.items():
                if version.name != name or not version.flow.done or sha in shas:
                    continue
                assert self._may_remove(version), (
                    f"{where}: the acknowledged {version.flow.name} is lost\n{self._calls()}"
                )

    def _download(self, name: str, info: VersionInfo, version: Version, *, excused: bool) -> None:
        seen = (info.version_id, info.key, info.stored_size)
        if seen in self.seen.downloaded:
            return
        diff = CountingDiff()
        out = self.tmp / "read" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        try:
            client(self.raw, self.clock, diff=diff).get(key_of(name), out, version=info.version_id)
        except DeltaGliderError as exc:
            if excused:
                return
            raise AssertionError(
                f"{name}@{info.version_id} ({info.key}) does not download after step "
                f"{self.scheduler.steps}: {exc!r}\n{self._calls()}"
            ) from exc
        assert out.read_bytes() == version.data, f"{name}@{info.version_id}: other bytes"
        assert diff.decodes <= MAX_DECODES, f"{name}@{info.version_id}: {diff.decodes} decodes"
        self.seen.downloaded.add(seen)


def _show(info: VersionInfo) -> str:
    return f"{info.version_id[:17]}{'*' if info.is_current else ''}:{info.key.rsplit('/', 2)[-1]}"


def _settings(examples: int, *, seeded: bool) -> settings:
    # DG_MODEL_NO_SHRINK: report the first failing schedule as found (as tests/races does).
    fresh: dict[str, Any] = {"phases": [Phase.explicit, Phase.generate], "database": None}
    return settings(
        max_examples=examples,
        stateful_step_count=30,
        deadline=None,
        derandomize=seeded,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        **(fresh if os.environ.get("DG_MODEL_NO_SHRINK") else {}),
    )


#: The default run's sample: a few schedules per store, the same every run (derandomized), sized to
#: keep each store's test within a few seconds. ``DG_MODEL_EXAMPLES`` sets another count (and random
#: schedules); the slow test runs many.
_SAMPLE = {"memory": 10, "folder": 6}
_EXAMPLES = os.environ.get("DG_MODEL_EXAMPLES")
_MANY = 200


def _run(store_kind: str, examples: int, *, seeded: bool = False) -> None:
    machine = type(f"HistoryModel_{store_kind}", (HistoryModel,), {"store_kind": store_kind})
    test = machine.TestCase
    test.settings = _settings(examples, seeded=seeded)
    test().runTest()


@pytest.mark.parametrize("store_kind", ["memory", "folder"])
def test_every_acknowledged_version_is_listed_and_downloads_exact(store_kind: str) -> None:
    if _EXAMPLES is None:
        _run(store_kind, _SAMPLE[store_kind], seeded=True)
    else:
        _run(store_kind, int(_EXAMPLES))


@pytest.mark.slow
@pytest.mark.parametrize("store_kind", ["memory", "folder"])
def test_the_history_model_holds_over_many_schedules(store_kind: str) -> None:
    _run(store_kind, _MANY)
