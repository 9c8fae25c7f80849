"""``deltaglider retain`` and ``deltaglider repack``: keeping a folder's savings as its family grows."""

from __future__ import annotations

from datetime import timedelta

import click

from deltaglider.cli.common import EXIT_FAILED, EXIT_OK, cluster, dask_option, store_place
from deltaglider.cli.output import human_size
from deltaglider.cli.session import Session


@click.command()
@click.argument("url")
@click.option("--keep-last", type=click.IntRange(0), metavar="N", help="Keep the N newest files.")
@click.option(
    "--keep-within",
    type=click.FloatRange(0),
    metavar="DAYS",
    help="Keep the files stored in the last DAYS days (and the versions, in their histories).",
)
@click.option(
    "--keep-versions",
    type=click.IntRange(0),
    metavar="N",
    help="Keep each file's N newest versions (the current one counting as one) in its history.",
)
@click.option(
    "--order",
    type=click.Choice(["modified", "version"]),
    default="modified",
    show_default=True,
    help="What makes a file newer: when it was last modified before its upload (upload time breaking "
    "ties), or its name's version (app-1.10 after app-1.9).",
)
@click.option(
    "--dryrun", is_flag=True, help="Show what would be removed and the bytes freed; remove nothing."
)
@click.option("--force", is_flag=True, help="Allow --keep-last 0 alone, which removes every file.")
@click.option("--recursive", is_flag=True, help="Every folder below URL too, each kept on its own.")
@dask_option
@click.pass_context
def retain(
    ctx: click.Context,
    *,
    url: str,
    keep_last: int | None,
    keep_within: float | None,
    keep_versions: int | None,
    order: str,
    dryrun: bool,
    force: bool,
    recursive: bool,
    dask_scheduler: str | None,
) -> int:
    """Keep a folder's newest files (--keep-last, --keep-within: a file either keeps stays), remove
    the rest, and the bases no kept file needs any more.

    In the files' histories, --keep-versions N keeps each file's N newest versions and --keep-within
    those of the last DAYS days (a version either keeps stays); a file removed takes its history."""
    if keep_last is None and keep_within is None and keep_versions is None:
        raise click.UsageError(
            "say what to keep: --keep-last N, --keep-within DAYS, --keep-versions N, or several"
        )
    if keep_last == 0 and not keep_within and not force and not dryrun:
        raise click.UsageError("--keep-last 0 removes every file of the folder: add --force if that is meant")
    session: Session = ctx.obj
    folder = store_place(url).as_folder()
    within = timedelta(days=keep_within) if keep_within is not None else None
    with cluster(dask_scheduler) as executor:
        result = session.client.retain(
            folder.text,
            keep_last=keep_last,
            keep_within=within,
            dry_run=dryrun,
            order="version" if order == "version" else "modified",
            recursive=recursive,
            executor=executor,
            workers=session.workers,
            keep_versions=keep_versions,
        )
    out = session.out
    prefix = "(dryrun) delete: " if dryrun else "delete: "
    for name in result.removed:
        out.line(prefix + folder.child(name))
    for version in result.versions_removed:
        name, _, version_id = version.rpartition("@")
        out.line(f"{prefix}{folder.child(name)} (version {version_id})")
    for key in result.bases_removed:
        out.line(prefix + folder.child(key.rpartition("/")[2]) + " (base)")
    for warning in result.warnings:
        out.warn(warning)
    freed = f"{'would free' if dryrun else 'freed'} {human_size(result.bytes_freed)}"
    out.line(f"kept {len(result.kept)} file(s), removed {len(result.removed)}; {freed}")
    out.document(
        {
            "command": "retain",
            "url": folder.text,
            "dryrun": dryrun,
            "ok": True,
            "kept": result.kept,
            "removed": result.removed,
            "bases_removed": result.bases_removed,
            "versions_removed": result.versions_removed,
            "bytes_freed": result.bytes_freed,
            "warnings": result.warnings,
        }
    )
    return EXIT_OK


@click.command()
@click.argument("url")
@click.option("--dryrun", is_flag=True, help="List the files that would be re-encoded; change nothing.")
@click.option("--recursive", is_flag=True, help="Every folder below URL too.")
@dask_option
@click.pass_context
def repack(ctx: click.Context, *, url: str, dryrun: bool, recursive: bool, dask_scheduler: str | None) -> int:
    """Re-encode a folder's files against better bases (for folders stored before bases existed, or
    by the original DeltaGlider, which cannot read the result), checking each file first."""
    session: Session = ctx.obj
    folder = store_place(url).as_folder()
    with cluster(dask_scheduler) as executor:
        result = session.client.repack(
            folder.text, dry_run=dryrun, recursive=recursive, executor=executor, workers=session.workers
        )
    out = session.out
    for name in result.files:
        if name not in result.failed:
            out.line(("(dryrun) repack: " if dryrun else "repack: ") + folder.child(name))
    for name in result.skipped:
        out.warn(f"skipped {folder.child(name)}: written or removed since it was listed")
    for name, error in result.failed.items():
        out.error_line(f"failed: {folder.child(name)}: {error}")
    if not dryrun:
        out.line(f"stored {human_size(result.stored_before)} before, {human_size(result.stored_after)} after")
    out.document(
        {
            "command": "repack",
            "url": folder.text,
            "dryrun": dryrun,
            "ok": not result.failed,
            "files": result.files,
            "failed": result.failed,
            "skipped": result.skipped,
            "stored_before": result.stored_before,
            "stored_after": result.stored_after,
            "bases_removed": result.bases_removed,
        }
    )
    return EXIT_FAILED if result.failed else EXIT_OK
