"""``deltaglider ls`` and ``deltaglider stats``: what is stored, at what size, and what it saves."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import click

from deltaglider.cli.common import EXIT_OK, cluster, dask_option, store_place
from deltaglider.cli.output import human_size, percent
from deltaglider.cli.session import Session
from deltaglider.urls import Place

if TYPE_CHECKING:
    from deltaglider.boto_api.stats import StatsMode

_DATE_WIDTH = 19  # "2026-01-02 03:04:05"


def _size(size: int | None, human: bool) -> str:
    if size is None:
        return "-"
    return human_size(size) if human else str(size)


def _when(moment: object) -> str:
    if not isinstance(moment, datetime):
        return " " * _DATE_WIDTH
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _folder_and_stem(target: Place) -> tuple[str, str]:
    """The folder to list and the start of the names to show: as in ``aws s3 ls``, a URL not ending in
    ``/`` is a prefix (``s3://b/app/app-1`` shows ``app-1.0.zip``, ``app-1.1.zip``...)."""
    if target.is_folder or (target.text.lower().startswith("s3://") and "/" not in target.text[5:]):
        return target.as_folder().text, ""
    folder, _, stem = target.text.rpartition("/")
    return folder + "/", stem


def _list_buckets(session: Session) -> int:
    buckets = session.client.service.storage.list_buckets()
    for bucket in buckets:
        session.out.data(f"{_when(bucket.created)} {bucket.name}")
    records = [{"name": b.name, "created": b.created.isoformat() if b.created else None} for b in buckets]
    session.out.document({"command": "ls", "buckets": records})
    return EXIT_OK


@click.command()
@click.argument("url", required=False)
@click.option("--recursive", "-r", is_flag=True, help="List every file under URL, sub-folders included.")
@click.option(
    "--human-readable",
    "-h",
    is_flag=True,
    help="Sizes in KiB, MiB, GiB... (-h here, as in aws s3 ls; --help for help).",
)
@click.option("--summarize", is_flag=True, help="End with the totals: files, original and stored size.")
@click.option(
    "--versions",
    is_flag=True,
    help="List a file's versions (or those of every file of a folder): the current one and those "
    "its history keeps, newest first, with their IDs for cp --version.",
)
@click.pass_obj
def ls(
    session: Session,
    url: str | None,
    *,
    recursive: bool,
    human_readable: bool,
    summarize: bool,
    versions: bool,
) -> int:
    """List stored files with their original size, stored size and savings (no URL: the buckets).

    Sub-folders show as 'PRE name/'.
    """
    if url is None:
        if versions:
            raise click.UsageError("--versions lists a file's or a folder's versions: give its URL")
        return _list_buckets(session)
    target = store_place(url)
    if versions:
        if recursive or summarize:
            raise click.UsageError(
                "--versions lists one file or one folder: not with --recursive or --summarize"
            )
        return _list_versions(session, target, human_readable)
    folder, stem = _folder_and_stem(target)
    out = session.out
    entries: list[dict[str, Any]] = []
    files = original = stored = own_bases = 0
    # The totals count the bases no line shows: they come from the same listing as the lines.
    wanted = (summarize or session.json) and not stem
    if wanted:
        listed, totalled = session.client.list_with_stats(folder, recursive=recursive)
        base_bytes = totalled.reference_bytes
    else:
        listed, base_bytes = list(session.client.list(folder, recursive=recursive)), 0
    for entry in listed:
        if not entry.name.startswith(stem):
            continue
        if getattr(entry, "is_prefix", False):
            out.data(f"{'PRE':>{_DATE_WIDTH + 27}} {entry.name}")
            entries.append({"name": entry.name, "is_prefix": True})
            continue
        # What the file costs: its own object, and the bases that exist for it alone.
        cost = entry.stored_size + entry.base_size
        saved = percent(entry.original_size, cost)
        files += 1
        original += entry.original_size if entry.original_size is not None else entry.stored_size
        stored += cost
        own_bases += entry.base_size
        saved_text = f"{saved:5.1f}%" if saved is not None else "     -"
        out.data(
            f"{_when(entry.last_modified)} {_size(entry.original_size, human_readable):>12} "
            f"{_size(cost, human_readable):>12} {saved_text}  {entry.name}"
        )
        entries.append(
            {
                "name": entry.name,
                "is_prefix": False,
                "original_size": entry.original_size,
                "stored_size": cost,
                "base_size": entry.base_size,
                "is_delta": entry.is_delta,
                "is_reference": entry.is_reference,
                "savings_percent": saved,
                "last_modified": entry.last_modified.isoformat() if entry.last_modified else None,
            }
        )
    # The bases no line counted: those several files depend on, and those no file does.
    references = base_bytes - own_bases if wanted else 0
    stored += references
    totals = {
        "files": files,
        "original_bytes": original,
        "stored_bytes": stored,
        "reference_bytes": references,
        "savings_percent": percent(original, stored),
    }
    if summarize:
        out.data("")
        out.data(f"Total Objects: {files}")
        out.data(f"   Total Size: {_size(original, human_readable)}")
        of_which = f" (references: {_size(references, human_readable)})"
        out.data(f"  Stored Size: {_size(stored, human_readable)}{of_which}")
        saved_total = totals["savings_percent"]
        out.data(f"      Savings: {saved_total if saved_total is not None else 0.0:.1f}%")
    out.document({"command": "ls", "url": target.text, "entries": entries, "summary": totals})
    return EXIT_OK


def _list_versions(session: Session, target: Place, human_readable: bool) -> int:
    """One line a version: upload time, size, stored size, ID, whether current, name."""
    found = session.client.list_versions(target.text)
    records = []
    for version in found:
        current = "current" if version.is_current else "       "
        session.out.data(
            f"{_when(version.created_at)} {_size(version.size, human_readable):>12} "
            f"{_size(version.stored_size, human_readable):>12}  {version.version_id}  {current}  "
            f"{version.name}"
        )
        records.append(
            {
                "name": version.name,
                "version_id": version.version_id,
                "created_at": version.created_at.isoformat() if version.created_at else None,
                "size": version.size,
                "sha256": version.sha256,
                "stored_size": version.stored_size,
                "is_current": version.is_current,
                "is_delta": version.is_delta,
            }
        )
    session.out.document({"command": "ls", "url": target.text, "versions": records})
    return EXIT_OK


def _stats_target(text: str) -> tuple[Place, str | None]:
    """Where ``stats`` looks, and the bucket when it is a whole bucket of the client's store: a bare
    name (``releases``, as the original's README writes it) or ``s3://releases[/]``."""
    if "://" not in text and "/" not in text and text not in (".", ".."):
        text = f"s3://{text}/"
    target = store_place(text)
    folder = target.as_folder().text
    if folder.lower().startswith("s3://") and folder[5:].count("/") == 1:
        return target, folder[5:-1]
    return target, None


@click.command()
@click.argument("url", metavar="BUCKET|URL")
@click.option("--human-readable", is_flag=True, help="Sizes in KiB, MiB, GiB...")
@click.option("--quick", is_flag=True, help="Bucket: one listing, no HEAD (deltas count as stored).")
@click.option("--sampled", is_flag=True, help="Bucket: one HEAD per folder of deltas, as estimate.")
@click.option("--detailed", is_flag=True, help="Bucket: a HEAD of every delta, exact (the default).")
@click.option("--refresh", is_flag=True, help="Bucket: compute afresh, ignoring the cached totals.")
@click.option("--no-cache", is_flag=True, help="Bucket: neither read nor write the cached totals.")
@dask_option
@click.pass_obj
def stats(
    session: Session,
    *,
    url: str,
    human_readable: bool,
    quick: bool,
    sampled: bool,
    detailed: bool,
    refresh: bool,
    no_cache: bool,
    dask_scheduler: str | None,
) -> int:
    """Totals for a bucket or folder: files, original bytes, stored bytes (references included), savings.

    BUCKET|URL: a bucket's name, s3://bucket/, s3://bucket/prefix/ or file:///folder/. A folder's
    totals are always exact. A whole bucket's are kept in it (.deltaglider/stats_native.json) and
    reused while nothing in it was written or removed since.
    """
    from deltaglider.boto_api.stats import bucket_summary, to_bucket_stats  # the service: not at start-up

    if refresh and no_cache:
        raise click.UsageError("--refresh and --no-cache cannot be used together")
    modes = [
        name for name, given in (("quick", quick), ("sampled", sampled), ("detailed", detailed)) if given
    ]
    if len(modes) > 1:
        raise click.UsageError(f"--{modes[0]} and --{modes[1]} cannot be used together")
    target, bucket = _stats_target(url)
    where = target.as_folder().text
    chosen = cast("StatsMode", modes[0] if modes else "detailed")
    if dask_scheduler and (quick or sampled):
        raise click.UsageError("--dask-scheduler counts exactly (--detailed): not with --quick or --sampled")
    if dask_scheduler:
        # Each sub-folder counted on a worker, afresh: the bucket's cached totals are not used.
        with cluster(dask_scheduler) as executor:
            summary = session.client.stats(where, executor=executor)
    elif bucket is not None:
        summary = bucket_summary(
            session.client.service, bucket, chosen, use_cache=not no_cache, refresh_cache=refresh
        )
    else:
        summary = session.client.stats(where)
    totals = to_bucket_stats(summary)
    doc = {
        "command": "stats",
        "url": where,
        "mode": chosen if bucket is not None else "detailed",
        "files": summary.file_count,
        "deltas": summary.delta_count,
        "whole": summary.whole_count,
        "stored_as_references": summary.reference_file_count,
        "references": summary.reference_count,
        "original_bytes": summary.original_bytes,
        "stored_bytes": summary.stored_bytes,
        "saved_bytes": summary.saved_bytes,
        "savings_percent": round(summary.savings_percent, 1),
        "history_versions": summary.history_count,
        "history_bytes": summary.history_bytes,
        # The original's names, for scripts written against its `stats --json`.
        **{key: value for key, value in asdict(totals).items() if key != "object_limit_reached"},
    }
    out = session.out
    out.data(f"{doc['url']}")
    out.data(
        f"  files:      {summary.file_count} ({summary.delta_count} deltas, "
        f"{summary.reference_file_count} stored as references, {summary.whole_count} whole)"
    )
    out.data(f"  references: {summary.reference_count}")
    out.data(f"  original:   {_size(summary.original_bytes, human_readable)}")
    out.data(f"  stored:     {_size(summary.stored_bytes, human_readable)}")
    out.data(f"  saved:      {_size(summary.saved_bytes, human_readable)} ({summary.savings_percent:.1f}%)")
    if summary.history_count:
        out.data(
            f"  history:    {summary.history_count} kept versions, "
            f"{_size(summary.history_bytes, human_readable)} stored"
        )
    out.document(doc)
    return EXIT_OK
