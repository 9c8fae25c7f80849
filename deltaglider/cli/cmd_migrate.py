"""``deltaglider migrate``: one store's folder into another (the SDK's ``migrate``), as the original
DeltaGlider's command: the source folder's name kept under the destination unless
``--no-preserve-prefix``, what is already there skipped, and a confirmation asked before anything is
written unless ``--yes``."""

from __future__ import annotations

import sys
from typing import Any

import click

from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import EXIT_OK, cluster, dask_option, exit_status, filter_options, store_place
from deltaglider.cli.output import human_size
from deltaglider.cli.report import Report, dry_line, transfer_record
from deltaglider.cli.session import Session
from deltaglider.trees import Done, TreeResult


def _summary(plan: TreeResult) -> str:
    total = sum(step.size or 0 for step in plan.planned)
    already = f"; {len(plan.skipped)} already there, skipped" if plan.skipped else ""
    return f"{len(plan.planned)} files to migrate ({human_size(total)}){already}"


@click.command(cls=FilteredCommand)
@click.argument("source")
@click.argument("destination")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before migrating.")
@click.option("--dry-run", "--dryrun", "dry_run", is_flag=True, help="Show the plan; change nothing.")
@click.option(
    "--no-preserve-prefix",
    is_flag=True,
    help="Put the files in DESTINATION itself, not in DESTINATION/<source folder's name>/.",
)
@filter_options
@dask_option
@click.pass_context
def migrate(
    ctx: click.Context,
    *,
    source: str,
    destination: str,
    yes: bool,
    dry_run: bool,
    no_preserve_prefix: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    dask_scheduler: str | None,
) -> int:
    """Copy a store folder into another (S3 or file:// stores), resumably.

    s3://old/data/ into s3://new/ lands in s3://new/data/ (--no-preserve-prefix: in s3://new/). A file
    already there with the same SHA-256 is skipped, so a second run finishes an interrupted one.
    Files the source holds whole are copied inside the store; the others are stored as uploads are.
    """
    session: Session = ctx.obj
    out = session.out
    src, dst = store_place(source), store_place(destination)

    cancelled = False

    def confirm(plan: TreeResult) -> bool:
        nonlocal cancelled
        if yes:
            return True
        if not sys.stdin.isatty():
            raise click.UsageError(
                f"{_summary(plan)}: confirm on a terminal, or pass --yes to migrate without asking"
            )
        cancelled = not click.confirm(f"{_summary(plan)}. Migrate?", err=True)
        return not cancelled

    with cluster(dask_scheduler) as executor, Report(out, "migrate") as report:
        result = session.client.migrate(
            src,
            dst,
            preserve_prefix=not no_preserve_prefix,
            dry_run=dry_run,
            confirm=confirm,
            rules=filters(ctx),
            workers=session.workers,
            max_ratio=session.upload_ratio,
            on_event=report,
            executor=executor,
        )
    skips = [{"action": "skip", "name": s.name, "reason": s.reason} for s in result.skipped]
    if dry_run or cancelled:
        for step in result.planned:
            out.line(dry_line(step, reason=True))
        out.line(_summary(result) if dry_run else "migration cancelled: nothing was copied")
        actions = [{"action": "copy", "name": s.name, "reason": s.reason} for s in result.planned]
        out.document(
            {
                "command": "migrate",
                "dryrun": dry_run,
                "cancelled": cancelled,
                "ok": True,
                "actions": actions + skips,
            }
        )
        return EXIT_OK
    records: list[dict[str, Any]] = [
        {"action": "copy", "name": end.step.name, **transfer_record(end)} for end in result.ended
    ]
    failed = sum(1 for record in records if record["status"] != "ok")
    copied = sum(1 for end in result.ended if isinstance(end, Done))
    out.line(f"migrated {copied} files, {len(skips)} already there, {failed} failed")
    out.document(
        {
            "command": "migrate",
            "dryrun": False,
            "ok": failed == 0,
            "actions": records + skips,
            "summary": {"copied": copied, "unchanged": len(skips), "failed": failed},
        }
    )
    return exit_status(failed == 0)
