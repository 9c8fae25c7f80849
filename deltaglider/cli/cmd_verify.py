"""``deltaglider verify``: rebuild stored files and check them against their recorded SHA-256."""

from __future__ import annotations

from typing import Any

import click

from deltaglider.batch import select
from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import EXIT_FAILED, EXIT_OK, filter_options, store_place
from deltaglider.cli.places import store_items
from deltaglider.cli.runner import Job, Outcome, Tick, run_jobs
from deltaglider.cli.session import Session
from deltaglider.errors import NotVerifiableError


def _job(session: Session, url: str, size: int | None) -> Job:
    def work(_tick: Tick) -> tuple[str, dict[str, Any]]:
        try:
            valid = session.client.verify(url)
        except NotVerifiableError as exc:
            return f"unverifiable: {url} ({exc})", {"url": url, "status": "unverifiable", "detail": str(exc)}
        if valid:
            return f"ok: {url}", {"url": url, "status": "ok"}
        return f"MISMATCH: {url}", {"url": url, "status": "mismatch"}

    return Job(url, url, size, work)


def _result(outcome: Outcome) -> dict[str, Any]:
    if not outcome.ok:
        return {"url": outcome.job.source, "status": "error", "detail": outcome.error}
    return {k: v for k, v in outcome.record.items() if k in ("url", "status", "detail")}


@click.command(cls=FilteredCommand)
@click.argument("url")
@filter_options
@click.pass_context
def verify(ctx: click.Context, url: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> int:
    """Check a stored file, or every file under a folder (URL ending in '/'), against its SHA-256.

    Exits with 1 if any file does not rebuild to its recorded SHA-256.
    """
    session: Session = ctx.obj
    target = store_place(url)
    if target.is_folder:
        items = select(store_items(session.client, target), filters(ctx))
        jobs = [_job(session, target.child(i.name), i.size) for i in items]
    else:
        jobs = [_job(session, target.text, None)]
    out = session.out
    outcomes = run_jobs(jobs, workers=session.workers, out=out, label="verify")
    results = [_result(outcome) for outcome in outcomes]
    bad = [r for r in results if r["status"] in ("mismatch", "error")]
    # A single file that cannot be verified is a failure: the user asked about that file.
    if not target.is_folder and results and results[0]["status"] == "unverifiable":
        bad = results
    if target.is_folder:
        out.line(f"verified {len(results)} file(s): {len(bad)} failed")
    out.document({"command": "verify", "url": target.text, "ok": not bad, "results": results})
    return EXIT_FAILED if bad else EXIT_OK
