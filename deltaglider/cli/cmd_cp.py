"""``deltaglider cp``: upload, download, store to store; one file or, with ``--recursive``, a folder."""

from __future__ import annotations

from pathlib import Path

import click

from deltaglider.batch import select
from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import exit_status, filter_options
from deltaglider.cli.places import Place, place, store_items
from deltaglider.cli.runner import Job, record, run_jobs
from deltaglider.cli.session import Session
from deltaglider.cli.transfers import copy_job, download_into_job, download_job, upload_job
from deltaglider.sync import local_items
from deltaglider.urls import safe_join


def _single(session: Session, src: Place, dst: Place) -> Job:
    if not src.is_store:
        path = Path(src.text)
        if path.is_dir():
            raise click.UsageError(f"{src.text} is a folder: add --recursive to copy what it holds")
        if not path.is_file():
            raise FileNotFoundError(f"{src.text}: no such file")
        return upload_job(
            session, path, dst.child(path.name) if dst.is_folder else dst.text, path.stat().st_size
        )
    if src.is_folder:
        raise click.UsageError(f"{src.text} is a folder: add --recursive to copy what it holds")
    if dst.is_store:
        return copy_job(session, src.text, dst.child(src.name) if dst.is_folder else dst.text, None)
    dest = Path(dst.text)
    if dst.is_folder:
        dest.mkdir(parents=True, exist_ok=True)
    if dest.is_dir():
        dest = safe_join(dest, src.name)
    return download_job(session, src.text, dest, None)


def _recursive(session: Session, src: Place, dst: Place, ctx: click.Context) -> list[Job]:
    rules = filters(ctx)
    if not src.is_store:
        folder = Path(src.text)
        if not folder.is_dir():
            raise FileNotFoundError(f"{src.text}: no such folder")
        items = select(local_items(folder), rules)
        return [upload_job(session, folder / i.name, dst.child(i.name), i.size) for i in items]
    items = select(store_items(session.client, src), rules)
    if dst.is_store:
        return [copy_job(session, src.child(i.name), dst.child(i.name), i.size) for i in items]
    folder = Path(dst.text)
    return [download_into_job(session, src.child(i.name), folder, i.name, i.size) for i in items]


@click.command(cls=FilteredCommand)
@click.argument("source")
@click.argument("destination")
@click.option("--recursive", is_flag=True, help="Copy every file under SOURCE (a folder).")
@click.option("--dryrun", is_flag=True, help="Show what would be copied; copy nothing.")
@filter_options
@click.pass_context
def cp(
    ctx: click.Context,
    *,
    source: str,
    destination: str,
    recursive: bool,
    dryrun: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> int:
    """Copy files to, from or between stores.

    A plain path is your own file or folder; a store is s3://bucket/prefix/ or file:///path/. A
    DESTINATION ending in '/' is a folder (the file keeps its name); otherwise it is the file's new name.
    """
    session: Session = ctx.obj
    src, dst = place(source), place(destination)
    if not src.is_store and not dst.is_store:
        raise click.UsageError("one of SOURCE and DESTINATION must be a store (s3://... or file://...)")
    jobs = _recursive(session, src, dst.as_folder(), ctx) if recursive else [_single(session, src, dst)]
    out = session.out
    if dryrun:
        for job in jobs:
            out.line(f"(dryrun) copy: {job.source} to {job.destination}")
        out.document(
            {
                "command": "cp",
                "dryrun": True,
                "transfers": [{"source": j.source, "destination": j.destination} for j in jobs],
            }
        )
        return 0
    outcomes = run_jobs(jobs, workers=session.workers, out=out, label="cp")
    failed = sum(1 for o in outcomes if not o.ok)
    out.document(
        {
            "command": "cp",
            "ok": failed == 0,
            "transfers": [record(o) for o in outcomes],
            "summary": {"files": len(outcomes), "failed": failed},
        }
    )
    return exit_status(outcomes)
