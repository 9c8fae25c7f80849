"""Pieces every command shares: the exit statuses, the filter options, store-only locations."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import Any, Final, TypeVar

import click

from deltaglider.urls import Place

F = TypeVar("F", bound=Callable[..., Any])

#: The exit statuses of a run: an operation failed (1), a bad option or location (2), Ctrl-C (130).
EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130


def exit_status(ok: bool) -> int:
    return EXIT_OK if ok else EXIT_FAILED


def filter_options(func: F) -> F:
    """``--exclude``/``--include``, repeatable; their order is read by ``argv.FilteredCommand``."""
    func = click.option(
        "--include",
        multiple=True,
        metavar="PATTERN",
        help="Include names matching PATTERN again (later rules win).",
    )(func)
    return click.option(
        "--exclude",
        multiple=True,
        metavar="PATTERN",
        help="Exclude names matching PATTERN ('*' also matches '/'; later rules win).",
    )(func)


def store_place(text: str) -> Place:
    """A location that must be a store (``ls``, ``rm``, ``verify``, ``stats``)."""
    found = Place.of(text)
    if not found.is_store:
        absolute = os.path.abspath(text)
        hint = f"file://{absolute}" + ("/" if text.endswith("/") or os.path.isdir(text) else "")
        raise click.UsageError(
            f"{text!r} is a plain path, which names your own files; a store is named by URL: "
            f"s3://bucket/prefix/ or a folder store as {hint}"
        )
    return found


def dask_option(func: F) -> F:
    """``--dask-scheduler ADDRESS`` (``DG_DASK_SCHEDULER``): run the work on a Dask cluster."""
    return click.option(
        "--dask-scheduler",
        metavar="ADDRESS",
        envvar="DG_DASK_SCHEDULER",
        default=None,
        help="Run the transfers on this Dask scheduler's workers (tcp://host:8786; env "
        "DG_DASK_SCHEDULER). Needs the dask extra. See docs/bulk.md.",
    )(func)


@contextlib.contextmanager
def cluster(address: str | None) -> Iterator[Executor | None]:
    """The executor of ``--dask-scheduler`` (None without it: the command's own threads)."""
    if not address:
        yield None
        return
    from deltaglider.bulk.dask import scheduler_executor

    with contextlib.ExitStack() as stack:
        try:
            executor = stack.enter_context(scheduler_executor(address))
        except ImportError as exc:
            raise click.UsageError(str(exc)) from None
        except OSError as exc:
            raise click.UsageError(f"--dask-scheduler {address}: {exc}") from None
        yield executor
