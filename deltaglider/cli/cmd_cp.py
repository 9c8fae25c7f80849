"""``deltaglider cp``: upload, download, store to store; one file or, with ``--recursive``, a folder.

``-`` is standard input or output, as for ``aws s3 cp``: ``cp - s3://b/dir/name`` stores what it
reads, ``cp s3://b/dir/name -`` writes the file to standard output once its SHA-256 matched (then
the report goes to standard error: standard output carries the file alone).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from deltaglider.atomic import copy_into
from deltaglider.batch import select
from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import exit_status, filter_options
from deltaglider.cli.places import Place, place, store_items
from deltaglider.cli.runner import Job, Tick, record, run_jobs
from deltaglider.cli.session import Session
from deltaglider.cli.transfers import copy_job, download_into_job, download_job, upload_job
from deltaglider.core import scratch
from deltaglider.sync import local_items
from deltaglider.urls import safe_join

#: Standard input, opened by name so that the upload reads it once into its private copy. A pipe or
#: a terminal is read to its end; a file given with ``<`` is read from its start.
_STDIN = Path("/dev/stdin")


def _from_stdin(session: Session, dst: Place) -> Job:
    if dst.is_folder:
        raise click.UsageError(
            f"standard input has no name: give the stored file's, as in {dst.child('NAME')}"
        )
    return dataclasses.replace(upload_job(session, _STDIN, dst.text, None), source="-")


def _to_stdout(session: Session, src: Place, fd: int) -> Job:
    def work(tick: Tick) -> tuple[str, dict[str, Any]]:
        # Downloaded and checked in a private folder first: standard output may be a pipe, a file
        # or a terminal, and none of them can take back bytes that then fail their SHA-256. One of
        # the library's scratch folders, so that a killed run's is swept as theirs are.
        with scratch.temporary() as folder:
            summary = session.client.download(src.text, folder / "file", progress=tick)
            copy_into(summary.path, fd)
        return f"download: {src.text} to -", {"operation": summary.operation, "size": summary.size}

    return Job(src.text, "-", None, work)


def _stdio_job(session: Session, src: Place, dst: Place, *, recursive: bool, json_mode: bool) -> Job:
    if recursive:
        raise click.UsageError("'-' is a single file: it cannot be copied with --recursive")
    if src.is_stdio:
        return _from_stdin(session, dst)
    if json_mode:
        raise click.UsageError("--json writes to standard output, which '-' gives to the file")
    if src.is_folder:
        raise click.UsageError(f"{src.text} is a folder: only one file can go to standard output")
    sys.stdout.flush()
    return _to_stdout(session, src, sys.stdout.fileno())


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
    '-' is standard input (the stored name is then required) or standard output (written once the
    file's SHA-256 matched; the report then goes to standard error).
    """
    session: Session = ctx.obj
    src, dst = place(source), place(destination)
    if not src.is_store and not dst.is_store:
        raise click.UsageError("one of SOURCE and DESTINATION must be a store (s3://... or file://...)")
    if src.is_stdio or dst.is_stdio:
        jobs = [_stdio_job(session, src, dst, recursive=recursive, json_mode=session.json)]
    elif recursive:
        jobs = _recursive(session, src, dst.as_folder(), ctx)
    else:
        jobs = [_single(session, src, dst)]
    with contextlib.redirect_stdout(sys.stderr) if dst.is_stdio else contextlib.nullcontext():
        return _run(session, jobs, dryrun=dryrun)


def _run(session: Session, jobs: list[Job], *, dryrun: bool) -> int:
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
