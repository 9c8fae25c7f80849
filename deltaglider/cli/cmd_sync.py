"""``deltaglider sync``: make a folder (local or stored) hold what another holds, moving only what
differs (the SDK's ``sync``). A file is unchanged when its SHA-256 equals the one recorded for the
stored object."""

from __future__ import annotations

from typing import Any

import click

from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import EXIT_OK, cluster, dask_option, exit_status, filter_options
from deltaglider.cli.report import Report, dry_line, removal_record, transfer_record
from deltaglider.cli.session import Session
from deltaglider.errors import InvalidURLError
from deltaglider.trees import Done
from deltaglider.urls import Place


@click.command(cls=FilteredCommand)
@click.argument("source")
@click.argument("destination")
@click.option("--delete", is_flag=True, help="Remove files that only the destination has.")
@click.option("--dryrun", is_flag=True, help="Show what would change; change nothing.")
@click.option("--size-only", is_flag=True, help="Compare sizes only (no SHA-256 of local files).")
@filter_options
@dask_option
@click.pass_context
def sync(
    ctx: click.Context,
    *,
    source: str,
    destination: str,
    delete: bool,
    dryrun: bool,
    size_only: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    dask_scheduler: str | None,
) -> int:
    """Make DESTINATION hold what SOURCE holds (both folders; at least one a store).

    A file whose size and SHA-256 already match the stored object's is not transferred again.
    """
    session: Session = ctx.obj
    out = session.out
    with cluster(dask_scheduler) as executor, Report(out, "sync") as report:
        try:
            result = session.client.sync(
                Place.of(source),
                Place.of(destination),
                delete=delete,
                size_only=size_only,
                rules=filters(ctx),
                dry_run=dryrun,
                workers=session.workers,
                max_ratio=session.upload_ratio,
                on_event=report,
                executor=executor,
            )
        except InvalidURLError:
            raise
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    skips = [{"action": "skip", "name": s.name, "reason": s.reason} for s in result.skipped]
    if dryrun:
        for step in result.planned:
            out.line(dry_line(step, reason=True))
        actions = [
            {"action": "delete" if s.action == "delete" else "copy", "name": s.name, "reason": s.reason}
            for s in result.planned
        ]
        out.document({"command": "sync", "dryrun": True, "actions": actions + skips})
        return EXIT_OK
    records: list[dict[str, Any]] = [
        {"action": "copy", "name": end.step.name, "reason": end.step.reason, **transfer_record(end)}
        if end.step.action != "delete"
        else removal_record(end)
        for end in result.ended
    ]
    failed = sum(1 for r in records if r["status"] != "ok")
    copied = sum(1 for end in result.ended if isinstance(end, Done) and end.step.action != "delete")
    deleted = sum(1 for end in result.ended if isinstance(end, Done) and end.step.action == "delete")
    for warning in result.warnings:
        out.warn(warning)
    out.document(
        {
            "command": "sync",
            "dryrun": False,
            "ok": failed == 0,
            "actions": records + skips,
            "summary": {"copied": copied, "deleted": deleted, "unchanged": len(skips), "failed": failed},
        }
    )
    return exit_status(failed == 0)
