"""``deltaglider rm``: remove stored files. Delta-aware: a folder's bases go last, and only once no
file left needs them (the SDK's ``remove_tree``)."""

from __future__ import annotations

from typing import Any

import click

from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import exit_status, filter_options, store_place
from deltaglider.cli.report import Report, dry_line
from deltaglider.cli.session import Session
from deltaglider.trees import Done, Failed, warnings_left
from deltaglider.urls import Place


def _single(session: Session, target: Place, *, all_versions: bool) -> tuple[list[str], list[str]]:
    """Removes one file, then its folder's bases that no file left needs; what went, and the warnings
    still true."""
    client = session.client
    removed = client.delete(target.text, all_versions=all_versions)
    shown = [target.text] + [target.sibling(key) for key in removed.deleted[1:]]
    folder = target.parent
    bases = client.remove_unused_bases(folder.text)
    shown += [folder.child(key.rpartition("/")[2]) for key in bases.deleted]
    return shown, warnings_left(removed.warnings + bases.warnings, removed.deleted + bases.deleted)


@click.command(cls=FilteredCommand)
@click.argument("url")
@click.option("--recursive", "-r", is_flag=True, help="Remove every file under URL (a folder).")
@click.option("--dryrun", is_flag=True, help="Show what would be removed; remove nothing.")
@click.option(
    "--all-versions",
    is_flag=True,
    help="Remove the file's history too (with --keep-history, rm keeps the version it removes).",
)
@filter_options
@click.pass_context
def rm(
    ctx: click.Context,
    *,
    url: str,
    recursive: bool,
    dryrun: bool,
    all_versions: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> int:
    """Remove a stored file, or with --recursive every file under a folder (references last).

    A client that keeps history (--keep-history) keeps the version it removes in the file's history,
    unless --all-versions; otherwise the file's history goes with it."""
    session: Session = ctx.obj
    target = store_place(url)
    out = session.out
    failures: list[dict[str, Any]] = []
    if recursive and all_versions:
        raise click.UsageError("--all-versions removes one file's history: not with --recursive")
    if recursive:
        with Report(out, "rm") as report:
            result = session.client.remove_tree(target, rules=filters(ctx), dry_run=dryrun, on_event=report)
        shown = [s.source for s in result.planned] if dryrun else []
        for end in result.ended:
            if isinstance(end, Done):
                shown.extend(end.removed)
            elif isinstance(end, Failed):
                failures.append({"url": end.step.source, "error": end.message})
        warnings = result.warnings
        if dryrun:
            for step in result.planned:
                out.line(dry_line(step))
    elif target.is_folder:
        raise click.UsageError(f"{url} is a folder: add --recursive to remove what it holds")
    elif dryrun:
        shown, warnings = [url], []
        out.line(f"(dryrun) delete: {url}")
    else:
        shown, warnings = _single(session, target, all_versions=all_versions)
        for location in shown:
            out.line(f"delete: {location}")
    for warning in warnings:
        out.warn(warning)
    out.document(
        {"command": "rm", "dryrun": dryrun, "ok": not failures, "deleted": shown, "failed": failures}
    )
    return exit_status(not failures)
