"""What every flow of the service needs: the ports and the service-wide settings."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deltaglider.core import scratch
from deltaglider.core.encode_limit import ENCODE_GATE, MemoryGate
from deltaglider.core.family.choices import Choices
from deltaglider.core.family.known import KnownBases
from deltaglider.ports.cache import CachePort
from deltaglider.ports.clock import ClockPort
from deltaglider.ports.diff import DiffPort
from deltaglider.ports.hash import HashPort
from deltaglider.ports.logger import LoggerPort
from deltaglider.ports.metrics import MetricsPort
from deltaglider.ports.storage import StoragePort


@dataclass(frozen=True)
class Context:
    storage: StoragePort
    diff: DiffPort
    hasher: HashPort
    cache: CachePort
    clock: ClockPort
    logger: LoggerPort
    metrics: MetricsPort
    tool_version: str
    max_ratio: float
    #: Write only what the original DeltaGlider 6.2.0 reads: no deltas of decoded archives, no bases but
    #: reference.bin, the original's extension list. What it wrote is read either way.
    original_compatible: bool = False
    #: A user's upload over a name, or delete of it, keeps the version it replaces in the name's
    #: history (core.history); never with ``original_compatible``.
    keep_history: bool = False
    #: Shared by every service of the process unless one is given its own.
    encode_gate: MemoryGate = ENCODE_GATE
    #: What recent uploads of each container kind chose, per DeltaSpace (core.choices).
    choices: Choices = field(default_factory=Choices)
    #: What this client last learned of each DeltaSpace's bases (family.known).
    bases_known: KnownBases = field(default_factory=KnownBases)

    def encode(self, source: Path, target: Path, out: Path) -> int:
        """``diff.encode`` once the encode's memory share is held (waiting while other encodes hold
        the rest of the limit). The encode is planned once: the plan gives the share and is then run."""
        return self.encode_all([(source, target, out)])[0]

    def encode_all(self, jobs: Sequence[tuple[Path, Path, Path]]) -> list[int]:
        """Each ``(source, target, out)`` encoded as :meth:`encode` does; their sizes. Side by side,
        a thread each, when their shares fit the gate's total together and the process may run on
        more than one core (the codec releases the GIL while it encodes): the gate is then held for
        all of them at once. Else one after the other, each holding its own share."""
        plans = [self.diff.plan(source, target) for source, target, _ in jobs]
        together = sum(plan.memory for plan in plans)
        if len(jobs) < 2 or _cores() < 2 or together > self.encode_gate.total:
            sizes = []
            for (source, target, out), plan in zip(jobs, plans, strict=True):
                with self.encode_gate.hold(plan.memory):
                    sizes.append(self.diff.encode(source, target, out, plan=plan))
            return sizes
        with self.encode_gate.hold(together), ThreadPoolExecutor(len(jobs) - 1) as pool:
            others = [
                pool.submit(self.diff.encode, source, target, out, plan)
                for (source, target, out), plan in zip(jobs[1:], plans[1:], strict=True)
            ]
            (source, target, out), plan = jobs[0], plans[0]
            first = self.diff.encode(source, target, out, plan=plan)
            return [first, *(job.result() for job in others)]

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A private folder for one operation's scratch files, removed afterwards."""
        path = scratch.make()
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1
