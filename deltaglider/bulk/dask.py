"""The executor of a Dask scheduler, for ``--dask-scheduler`` (the ``dask`` extra). Imported only
when that option is given: the base install never imports Dask."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Executor

__all__ = ["MISSING", "scheduler_executor"]

MISSING = "--dask-scheduler needs Dask's distributed scheduler: pip install 'deltaglider-native[dask]'"


@contextlib.contextmanager
def scheduler_executor(address: str) -> Iterator[Executor]:
    """A ``concurrent.futures`` executor on the workers of the scheduler at ``address``
    (``tcp://host:8786``), closed on exit. ``ImportError`` when Dask is not installed."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(MISSING) from exc
    with Client(address, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        # Not pure: two tasks with equal arguments are still two tasks to run.
        executor = client.get_executor(pure=False)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False)
