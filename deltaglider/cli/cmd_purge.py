"""``deltaglider purge``: remove the expired whole copies that presigned links to delta-stored files
left under a bucket's ``.deltaglider/tmp/`` (the SDK's ``purge_temp_files``)."""

from __future__ import annotations

from typing import Any

import click

from deltaglider.cli.buckets import bucket_argument
from deltaglider.cli.common import exit_status
from deltaglider.cli.session import Session

#: Lines of files or errors a human-readable report shows before it summarises the rest.
_SHOWN = 10


def _report_dry_run(session: Session, result: dict[str, Any]) -> None:
    out, files = session.out, result["expired_files"]
    out.line(f"Dry run: Would delete {result['would_delete_count']} expired file(s)")
    out.line(f"Total space to free: {result['total_size_to_free']:,} bytes")
    if files:
        out.line(f"\nFiles that would be deleted (first {_SHOWN}):")
        for found in files[:_SHOWN]:
            out.line(f"  {found['key']} (expires: {found['expires_at']})")
        if len(files) > _SHOWN:
            out.line(f"  ... and {len(files) - _SHOWN} more")


def _report_purge(session: Session, result: dict[str, Any]) -> None:
    out = session.out
    out.line(f"Purge Statistics for bucket: {result['bucket']}")
    out.line("=" * 60)
    out.line(f"Expired files found:  {result['expired_count']}")
    out.line(f"Files deleted:        {result['deleted_count']}")
    out.line(f"Errors:               {result['error_count']}")
    out.line(f"Space freed:          {result['total_size_freed']:,} bytes")
    out.line(f"Duration:             {result['duration_seconds']:.2f} seconds")


@click.command()
@click.argument("bucket")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted without deleting.")
@click.pass_obj
def purge(session: Session, bucket: str, dry_run: bool) -> int:
    """Remove expired temporary copies from BUCKET's .deltaglider/tmp/.

    Presigned links to files stored as deltas point at whole copies written there, each with an
    expiry (dg-expires-at); this removes those whose expiry has passed, and nothing else.
    BUCKET: name, or s3://name.
    """
    result = session.client.purge_temp_files(bucket_argument(bucket), dry_run=dry_run)
    if dry_run:
        _report_dry_run(session, result)
    else:
        _report_purge(session, result)
    for error in result["errors"]:
        session.out.error_line(f"error: {error}")
    session.out.document({"command": "purge", **result})
    return exit_status(not result["errors"])
