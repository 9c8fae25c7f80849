"""Pieces every command shares: the exit statuses, the filter options, store-only locations."""

from __future__ import annotations

import os
from collections.abc import Callable
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
