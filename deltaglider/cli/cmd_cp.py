"""``deltaglider cp``: upload, download, store to store; one file or, with ``--recursive``, a folder.

``-`` is standard input or output, as for ``aws s3 cp``: ``cp - s3://b/dir/name`` stores what it
reads, ``cp s3://b/dir/name -`` writes the file to standard output once its SHA-256 matched (then
the report goes to standard error: standard output carries the file alone).
"""

from __future__ import annotations

import contextlib
import sys

import click

from deltaglider.atomic import copy_into
from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import EXIT_OK, cluster, dask_option, exit_status, filter_options
from deltaglider.cli.report import Report, dry_line, failures, transfer_record
from deltaglider.cli.session import Session
from deltaglider.core import scratch
from deltaglider.errors import InvalidURLError
from deltaglider.urls import Place

#: Standard output, by descriptor: the report goes to ``sys.stdout`` pointed at standard error.
_STDOUT_FD = 1


def _check_stdio(src: Place, dst: Place, *, recursive: bool, json_mode: bool) -> None:
    """What one stream cannot carry."""
    if recursive:
        raise click.UsageError("'-' is a single file: it cannot be copied with --recursive")
    if dst.is_stdio and json_mode:
        raise click.UsageError("--json writes to standard output, which '-' gives to the file")
    if dst.is_stdio and src.is_folder:
        raise click.UsageError(f"{src.text} is a folder: only one file can go to standard output")


def _download_version(
    session: Session, src: Place, dst: Place, version_id: str, *, recursive: bool, dryrun: bool
) -> int:
    """``cp --version ID``: one version of one stored file, to a file of the user's or to '-'."""
    if recursive or not src.is_store or src.is_folder or dst.is_store:
        raise click.UsageError(
            "--version downloads one stored file: SOURCE a file in a store, DESTINATION yours"
        )
    out = session.out
    if dryrun:
        out.line(f"(dryrun) download: {src.text} (version {version_id}) to {dst.text}")
        return EXIT_OK
    if dst.is_stdio:
        sys.stdout.flush()
    with contextlib.redirect_stdout(sys.stderr) if dst.is_stdio else contextlib.nullcontext():
        if dst.is_stdio:
            # Checked in a private folder first, as a plain download to '-' is: standard output
            # cannot take back bytes that then fail their SHA-256.
            with scratch.temporary() as folder:
                got = session.client.download(src.text, folder / "file", version=version_id)
                copy_into(got.path, _STDOUT_FD)
        else:
            got = session.client.download(src.text, dst.text, version=version_id)
        out.line(f"download: {src.text} (version {version_id}) to {dst.text if dst.is_stdio else got.path}")
        out.document(
            {
                "command": "cp",
                "ok": True,
                "transfers": [
                    {
                        "source": src.text,
                        "version_id": version_id,
                        "destination": dst.text if dst.is_stdio else got.path,
                        "size": got.size,
                        "sha256": got.hash,
                    }
                ],
                "summary": {"files": 1, "failed": 0},
            }
        )
    return EXIT_OK


@click.command(cls=FilteredCommand)
@click.argument("source")
@click.argument("destination")
@click.option("--recursive", "-r", is_flag=True, help="Copy every file under SOURCE (a folder).")
@click.option("--dryrun", is_flag=True, help="Show what would be copied; copy nothing.")
@click.option(
    "--version",
    "version_id",
    metavar="ID",
    help="Download that version of SOURCE (an ID that ls --versions shows) instead of the current one.",
)
@filter_options
@dask_option
@click.pass_context
def cp(
    ctx: click.Context,
    *,
    source: str,
    destination: str,
    recursive: bool,
    dryrun: bool,
    version_id: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    dask_scheduler: str | None,
) -> int:
    """Copy files to, from or between stores.

    A plain path is your own file or folder; a store is s3://bucket/prefix/ or file:///path/. A
    DESTINATION ending in '/' is a folder (the file keeps its name); otherwise it is the file's new name.
    '-' is standard input (the stored name is then required) or standard output (written once the
    file's SHA-256 matched; the report then goes to standard error).
    """
    session: Session = ctx.obj
    src, dst = Place.of(source), Place.of(destination)
    if dask_scheduler and not recursive:
        raise click.UsageError("--dask-scheduler runs a --recursive copy: one file needs no cluster")
    if src.is_stdio or dst.is_stdio:
        _check_stdio(src, dst, recursive=recursive, json_mode=session.json)
    if version_id is not None:
        return _download_version(session, src, dst, version_id, recursive=recursive, dryrun=dryrun)
    if dst.is_stdio:
        sys.stdout.flush()  # what was printed so far, before the file
    out = session.out
    # With the file on standard output, the report goes to standard error.
    with contextlib.redirect_stdout(sys.stderr) if dst.is_stdio else contextlib.nullcontext():
        with cluster(dask_scheduler) as executor, Report(out, "cp") as report:
            try:
                if recursive:
                    result = session.client.copy_tree(
                        src,
                        dst,
                        rules=filters(ctx),
                        dry_run=dryrun,
                        workers=session.workers,
                        max_ratio=session.upload_ratio,
                        on_event=report,
                        executor=executor,
                    )
                else:
                    result = session.client.copy(
                        src, dst, dry_run=dryrun, max_ratio=session.upload_ratio, on_event=report
                    )
            except IsADirectoryError:
                raise click.UsageError(
                    f"{source} is a folder: add --recursive to copy what it holds"
                ) from None
            except InvalidURLError:
                raise
            except ValueError as exc:
                raise click.UsageError(str(exc)) from None
        if dryrun:
            for step in result.planned:
                out.line(dry_line(step))
            transfers = [{"source": s.source, "destination": s.destination} for s in result.planned]
            out.document({"command": "cp", "dryrun": True, "transfers": transfers})
            return EXIT_OK
        failed = failures(result)
        out.document(
            {
                "command": "cp",
                "ok": failed == 0,
                "transfers": [transfer_record(end) for end in result.ended],
                "summary": {"files": len(result.ended), "failed": failed},
            }
        )
        return exit_status(failed == 0)
