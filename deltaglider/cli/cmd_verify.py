"""``deltaglider verify``: rebuild stored files and check them against their recorded SHA-256 (the SDK's
``verify_tree``)."""

from __future__ import annotations

from typing import Any

import click

from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import cluster, dask_option, exit_status, filter_options, store_place
from deltaglider.cli.report import Report
from deltaglider.cli.session import Session
from deltaglider.trees import Done, Ended


def _result(end: Ended) -> dict[str, Any]:
    url = end.step.source
    if not isinstance(end, Done):
        return {"url": url, "status": "error", "detail": end.message}
    if end.valid is None:
        return {"url": url, "status": "unverifiable", "detail": end.detail}
    return {"url": url, "status": "ok" if end.valid else "mismatch"}


@click.command(cls=FilteredCommand)
@click.argument("url")
@filter_options
@dask_option
@click.pass_context
def verify(
    ctx: click.Context,
    url: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    dask_scheduler: str | None,
) -> int:
    """Check a stored file, or every file under a folder (URL ending in '/'), against its SHA-256.

    Exits with 1 if any file does not rebuild to its recorded SHA-256.
    """
    session: Session = ctx.obj
    target = store_place(url)
    out = session.out
    with cluster(dask_scheduler) as executor, Report(out, "verify") as report:
        checked = session.client.verify_tree(
            target, rules=filters(ctx), workers=session.workers, on_event=report, executor=executor
        )
    results = [_result(end) for end in checked.ended]
    bad = [r for r in results if r["status"] in ("mismatch", "error")]
    # A single file that cannot be verified is a failure: the user asked about that file.
    if not target.is_folder and results and results[0]["status"] == "unverifiable":
        bad = results
    if target.is_folder:
        out.line(f"verified {len(results)} file(s): {len(bad)} failed")
    out.document({"command": "verify", "url": target.text, "ok": not bad, "results": results})
    return exit_status(not bad)
