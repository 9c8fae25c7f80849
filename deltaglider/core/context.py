"""What every flow of the service needs: the ports and the service-wide settings."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deltaglider.core import scratch
from deltaglider.core.encode_limit import ENCODE_GATE, MemoryGate
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
    #: Shared by every service of the process unless one is given its own.
    encode_gate: MemoryGate = ENCODE_GATE

    def encode(self, source: Path, target: Path, out: Path) -> int:
        """``diff.encode`` once the encode's memory share is held (waiting while other encodes hold
        the rest of the limit). The encode is planned once: the plan gives the share and is then run."""
        plan = self.diff.plan(source, target)
        with self.encode_gate.hold(plan.memory):
            return self.diff.encode(source, target, out, plan=plan)

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A private folder for one operation's scratch files, removed afterwards."""
        path = scratch.make()
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
