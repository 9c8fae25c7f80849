"""Flows that run one store call at a time, in the order a test chooses.

Each flow (an upload, a delete, a retention pass...) runs in a thread of its own over a
``SteppedStorage``. Before every store call it makes, the flow stops and waits; ``Flow.step`` lets it
make that one call and run on to its next one (or to its end). So a test, or a hypothesis state
machine, decides the exact interleaving of any number of flows at the granularity the protocol is
about: the store's calls. Calls made outside a flow (a test's own checks) go straight through.

Every call a flow makes is logged with the step it ran at, so that a model can tell what a flow had
seen when it acted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: A step's call count meaning "up to, not into, the flow's next write or removal" (Scheduler.run_one).
TO_ACT = 0
#: The store calls that change a name (a write or a removal).
ACTS = frozenset({"put_file", "put_file_if_absent", "put_file_if_match", "delete", "delete_if_match"})


def acts(pending: str | None) -> bool:
    """Whether the call a flow waits to make (``"method key"``) changes a name (not a removal's
    marker)."""
    method, _, key = (pending or "").partition(" ")
    return method in ACTS and ".dg-removing-" not in key


#: A flow that neither calls the store nor ends within this long is stuck: the test fails.
_WAIT_S = 60.0


@dataclass
class Call:
    step: int
    flow: str
    method: str
    key: str | None


@dataclass
class Flow:
    name: str
    kind: str
    started_step: int
    scheduler: Scheduler
    thread: threading.Thread | None = None
    pending: str | None = None  # "method key" of the call it waits to make
    done: bool = False
    result: Any = None
    error: BaseException | None = None
    _granted: bool = False
    calls: list[Call] = field(default_factory=list)

    def step(self) -> None:
        """Lets the flow make its pending call and run to its next one (or its end)."""
        self.scheduler.advance(self)

    def finish(self) -> Any:
        """Runs the flow to its end; returns its result or raises its error."""
        while not self.done:
            self.step()
        if self.error is not None:
            raise self.error
        return self.result


class Scheduler:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._local = threading.local()
        self.steps = 0
        self.log: list[Call] = []
        self.flows: list[Flow] = []

    # -- the flows' side ------------------------------------------------------------------------

    def current(self) -> Flow | None:
        flow: Flow | None = getattr(self._local, "flow", None)
        return flow

    @contextmanager
    def turn(self, method: str, key: str | None) -> Iterator[None]:
        """Wraps one store call made by the current flow: it waits for its turn first."""
        flow = self.current()
        if flow is None:
            yield
            return
        with self._cond:
            flow.pending = f"{method} {key}"
            self._cond.notify_all()
            if not self._cond.wait_for(lambda: flow._granted, timeout=_WAIT_S):
                raise TimeoutError(f"{flow.name}: never given its turn for {flow.pending}")
            flow._granted = False
            flow.pending = None
            self.steps += 1
            call = Call(self.steps, flow.name, method, key)
            self.log.append(call)
            flow.calls.append(call)
        yield

    # -- the test's side -------------------------------------------------------------------------

    def start(self, name: str, kind: str, work: Callable[[], Any]) -> Flow:
        """Starts ``work`` as a flow and runs it to its first store call (or its end)."""
        flow = Flow(name, kind, self.steps, self)

        def run() -> None:
            self._local.flow = flow
            try:
                flow.result = work()
            except BaseException as exc:
                flow.error = exc
            finally:
                with self._cond:
                    flow.done = True
                    self._cond.notify_all()

        flow.thread = threading.Thread(target=run, name=f"flow-{name}", daemon=True)
        self.flows.append(flow)
        flow.thread.start()
        self._wait_still(flow)
        return flow

    def advance(self, flow: Flow) -> None:
        with self._cond:
            if flow.done:
                return
            assert flow.pending is not None, f"{flow.name} is not waiting for a call"
            flow._granted = True
            self._cond.notify_all()
            # Still: it took its turn (pending cleared) and then waits for the next, or ended.
            if not self._cond.wait_for(lambda: not flow._granted, timeout=_WAIT_S):
                raise TimeoutError(f"{flow.name} did not take its turn")
        self._wait_still(flow)

    def _wait_still(self, flow: Flow) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: flow.done or flow.pending is not None, timeout=_WAIT_S):
                raise TimeoutError(f"{flow.name} neither called the store nor ended (a deadlock?)")

    def running(self) -> list[Flow]:
        return [flow for flow in self.flows if not flow.done]

    def run_one(self, pick: int, calls: int, after_each: Callable[[], None]) -> None:
        """Lets one running flow (``pick``, modulo how many run) make ``calls`` store calls, or with
        :data:`TO_ACT` up to, not into, its next write or removal; ``after_each`` runs after every
        call. A flow that polls the same removal marker again (it waits for another) stops there."""
        running = self.running()
        flow = running[pick % len(running)]
        polled: set[str] = set()
        for made in range(1000 if calls == TO_ACT else calls):
            if flow.done or flow.pending in polled:
                break  # ended, or waiting for another flow (it polls the same markers again)
            if calls == TO_ACT and made > 0 and acts(flow.pending):
                break
            if flow.pending is not None and ".dg-removing-" in flow.pending:
                polled.add(flow.pending)
            flow.step()
            after_each()

    def finish_all(self) -> None:
        """Runs every flow to its end, one call each in turn (a flow may wait for another)."""
        while running := self.running():
            for flow in running:
                flow.step()


class SteppedStorage:
    """A StoragePort over ``inner`` whose calls from a flow wait for the scheduler's go."""

    def __init__(self, inner: Any, scheduler: Scheduler) -> None:
        self.inner = inner
        self.scheduler = scheduler

    def url(self, bucket: str, key: str) -> str:
        return str(self.inner.url(bucket, key))

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.inner, method)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            key = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("key")
            with self.scheduler.turn(method, key):
                result = target(*args, **kwargs)
                if method == "list":
                    result = list(result)  # the listing is taken now, not when the caller iterates
                return result

        return call
