"""The glue's switches and counters for tests: a failing allocation, the count of live handles."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from deltaglider._native import load


@contextlib.contextmanager
def failing_allocation(nth: int) -> Iterator[Callable[[], bool]]:
    """Inside the block, the ``nth`` allocation an xdelta3 stream of this thread asks for fails.

    Yields a function telling whether that failure happened (False: the calls made fewer
    allocations). Affects only the calling thread (see native/dg_fault.c).
    """
    _, lib = load()
    lib.dg_fault_fail_allocation(nth)
    try:
        yield lambda: int(lib.dg_fault_pending()) == 0
    finally:
        lib.dg_fault_fail_allocation(0)


def live_handles() -> int:
    """How many native encoder handles (LZMA2, deflate) are allocated and not yet freed."""
    _, lib = load()
    return int(lib.dg_handles_live())
