"""Pieces every command shares: the filter options, store-only locations, the exit status."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from deltaglider.cli.places import Place, place
from deltaglider.cli.runner import Outcome

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FAILED = 1


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
    found = place(text)
    if not found.is_store:
        absolute = os.path.abspath(text)
        hint = f"file://{absolute}" + ("/" if text.endswith("/") or os.path.isdir(text) else "")
        raise click.UsageError(
            f"{text!r} is a plain path, which names your own files; a store is named by URL: "
            f"s3://bucket/prefix/ or a folder store as {hint}"
        )
    return found


def exit_status(outcomes: Iterable[Outcome]) -> int:
    return EXIT_FAILED if any(not outcome.ok for outcome in outcomes) else EXIT_OK
