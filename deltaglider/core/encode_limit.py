"""How many encodes run at once: a process-wide limit on the memory they hold together.

Each encode holds hash tables sized by its inputs (up to the codec's per-encode budget), so sixteen
threads uploading at once would hold sixteen times that. Every encode therefore first takes its
estimated share of one shared :class:`MemoryGate`; while the shares in use would pass the gate's total,
later encodes wait. Small files take small shares and still run side by side; a share larger than the
whole total is cut to it, so a single large encode always runs, alone.

Waiters are served in arrival order: a large encode is not starved by a stream of small ones.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

#: The default total: the codec's default budget for one encode, so that at defaults a process's
#: encodes together hold no more than one of them may.
DEFAULT_ENCODE_MEMORY: Final = 512 * 2**20


def _check_total(total: int) -> int:
    if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
        raise ValueError(f"the encode memory limit must be a positive number of bytes, not {total!r}")
    return total


class MemoryGate:
    """A semaphore counted in bytes, granted first come, first served."""

    def __init__(self, total: int = DEFAULT_ENCODE_MEMORY) -> None:
        self._total = _check_total(total)
        self._used = 0
        self._queue: deque[object] = deque()
        self._cond = threading.Condition()

    @property
    def total(self) -> int:
        return self._total

    @property
    def in_use(self) -> int:
        with self._cond:
            return self._used

    def resize(self, total: int) -> None:
        """Changes the total; shares already granted are kept, waiters re-check against the new one."""
        with self._cond:
            self._total = _check_total(total)
            self._cond.notify_all()

    @contextmanager
    def hold(self, amount: int) -> Iterator[int]:
        """Holds ``amount`` bytes (at most the total) for the block; yields the share granted."""
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                while True:
                    share = max(0, min(amount, self._total))
                    if self._queue[0] is ticket and self._used + share <= self._total:
                        break
                    self._cond.wait()
            finally:
                self._queue.remove(ticket)
                # The next in line may fit now that this one left the head of the queue.
                self._cond.notify_all()
            self._used += share
        try:
            yield share
        finally:
            with self._cond:
                self._used -= share
                self._cond.notify_all()


#: The gate every service shares unless given its own; ``ENCODE_GATE.resize(n)`` changes the limit for
#: the whole process.
ENCODE_GATE: Final = MemoryGate()
