"""``deltaglider rm``: remove stored files. Delta-aware: a folder's bases go last, and only once no
file left needs them (see ``removal``)."""

from __future__ import annotations

import click

from deltaglider.batch import plan_removal
from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import EXIT_FAILED, EXIT_OK, filter_options, store_place
from deltaglider.cli.places import Place, store_items
from deltaglider.cli.removal import Removal, reference_url, remove, remove_unused_bases
from deltaglider.cli.session import Session
from deltaglider.errors import DeltaGliderError


def _recursive(session: Session, folder: Place, ctx: click.Context, dryrun: bool) -> Removal:
    plan = plan_removal(store_items(session.client, folder), filters(ctx))
    references = [reference_url(folder, sub) for sub in plan.reference_folders]
    removal = Removal()
    if dryrun:
        removal.shown = [folder.child(name) for name in plan.names] + references
        return removal
    # One at a time, deltas after whole files, references last.
    for name in plan.names:
        url = folder.child(name)
        try:
            remove(session, url, removal)
        except DeltaGliderError as exc:
            session.out.error_line(f"failed: delete {url}: {exc}")
            removal.failures.append({"url": url, "error": str(exc)})
    if not removal.failures:
        # Every folder below too, those whose files are all gone included: their bases go once no
        # file left needs them.
        remove_unused_bases(session, folder, removal, recursive=True)
    return removal


def _single(session: Session, target: Place) -> Removal:
    removal = Removal()
    remove(session, target.text, removal)
    remove_unused_bases(session, Place(target.text.rpartition("/")[0] + "/", is_store=True), removal)
    return removal


@click.command(cls=FilteredCommand)
@click.argument("url")
@click.option("--recursive", is_flag=True, help="Remove every file under URL (a folder).")
@click.option("--dryrun", is_flag=True, help="Show what would be removed; remove nothing.")
@filter_options
@click.pass_context
def rm(
    ctx: click.Context,
    *,
    url: str,
    recursive: bool,
    dryrun: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> int:
    """Remove a stored file, or with --recursive every file under a folder (references last)."""
    session: Session = ctx.obj
    target = store_place(url)
    out = session.out
    if recursive:
        removal = _recursive(session, target.as_folder(), ctx, dryrun)
    elif target.is_folder:
        raise click.UsageError(f"{url} is a folder: add --recursive to remove what it holds")
    elif dryrun:
        removal = Removal(shown=[url])
    else:
        removal = _single(session, target)
    prefix = "(dryrun) delete: " if dryrun else "delete: "
    for shown in removal.shown:
        out.line(prefix + shown)
    for warning in removal.warnings_left():
        out.warn(warning)
    out.document(
        {
            "command": "rm",
            "dryrun": dryrun,
            "ok": not removal.failures,
            "deleted": removal.shown,
            "failed": removal.failures,
        }
    )
    return EXIT_FAILED if removal.failures else EXIT_OK
