"""``deltaglider sync``: make a folder (local or stored) hold what another holds, moving only what
differs. A file is unchanged when its SHA-256 equals the one recorded for the stored object."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

from deltaglider.batch import (
    DigestOf,
    Item,
    SyncAction,
    SyncDecision,
    digest_candidates,
    folder_of,
    plan_sync,
)
from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import EXIT_FAILED, EXIT_OK, filter_options
from deltaglider.cli.places import Place, place, store_items
from deltaglider.cli.removal import Removal, remove_seen, remove_unused_bases
from deltaglider.cli.runner import Job, record, run_jobs
from deltaglider.cli.session import Session
from deltaglider.cli.transfers import copy_job, download_into_job, upload_job
from deltaglider.errors import DeltaGliderError, NotFoundError
from deltaglider.sync import local_items, sha256_file, stored_sha256
from deltaglider.urls import safe_join


def _items(session: Session, side: Place, *, missing_ok: bool) -> list[Item]:
    if not side.is_store:
        folder = Path(side.text)
        if not folder.is_dir():
            if missing_ok:
                return []
            raise FileNotFoundError(f"{side.text}: no such folder")
        return local_items(folder)
    try:
        return store_items(session.client, side)
    except NotFoundError:
        # A folder store not created yet is an empty destination; a missing bucket is not.
        if missing_ok and side.text.lower().startswith("file:"):
            return []
        raise


def _digest(session: Session, side: Place) -> DigestOf:
    if side.is_store:
        return lambda name: stored_sha256(session.client, side.child(name))
    folder = Path(side.text)
    return lambda name: sha256_file(safe_join(folder, name))


def _prefetched(digest: DigestOf, names: list[str], workers: int) -> DigestOf:
    """``digest`` with the answers for ``names`` fetched ahead on ``workers`` threads: one HEAD or one
    file hash each, which in a row would cost a round trip or a read per file."""
    if len(names) < 2 or workers < 2:
        return digest
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deltaglider-digest") as pool:
        known = dict(zip(names, pool.map(digest, names), strict=True))
    return lambda name: known[name] if name in known else digest(name)


def _job(session: Session, src: Place, dst: Place, decision: SyncDecision) -> Job:
    name, size = decision.name, decision.size
    if not src.is_store:
        return upload_job(session, safe_join(Path(src.text), name), dst.child(name), size)
    if not dst.is_store:
        return download_into_job(session, src.child(name), Path(dst.text), name, size)
    return copy_job(session, src.child(name), dst.child(name), size)


def _delete_local(dst: Place, name: str) -> list[str]:
    path = safe_join(Path(dst.text), name)
    path.unlink()
    return [str(path)]


def _delete_stored(session: Session, dst: Place, name: str, removal: Removal) -> list[str]:
    before = len(removal.shown)
    remove_seen(session, dst.child(name), removal)
    return removal.shown[before:]


def _delete_all(session: Session, dst: Place, decisions: list[SyncDecision]) -> list[dict[str, Any]]:
    # One at a time, after the copies; then the references of folders left without deltas.
    records: list[dict[str, Any]] = []
    removal = Removal()
    for decision in decisions:
        url = dst.child(decision.name)
        try:
            if dst.is_store:
                removed = _delete_stored(session, dst, decision.name, removal)
            else:
                removed = _delete_local(dst, decision.name)
        except (DeltaGliderError, OSError) as exc:
            session.out.error_line(f"failed: delete {url}: {exc}")
            records.append({"action": "delete", "name": decision.name, "status": "failed", "error": str(exc)})
            continue
        for shown in removed:
            session.out.line(f"delete: {shown}")
        records.append({"action": "delete", "name": decision.name, "status": "ok", "removed": removed})
    if dst.is_store and records and all(r["status"] == "ok" for r in records):
        for folder in sorted({folder_of(d.name) for d in decisions}):
            place = Place(dst.child(folder + "/" if folder else ""), True)
            for shown in remove_unused_bases(session, place, removal):
                session.out.line(f"delete: {shown}")
                name = f"{folder}/{shown.rpartition('/')[2]}" if folder else shown.rpartition("/")[2]
                records.append({"action": "delete", "name": name, "status": "ok", "removed": [shown]})
    for warning in removal.warnings_left():
        session.out.warn(warning)
    return records


@click.command(cls=FilteredCommand)
@click.argument("source")
@click.argument("destination")
@click.option("--delete", is_flag=True, help="Remove files that only the destination has.")
@click.option("--dryrun", is_flag=True, help="Show what would change; change nothing.")
@click.option("--size-only", is_flag=True, help="Compare sizes only (no SHA-256 of local files).")
@filter_options
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
) -> int:
    """Make DESTINATION hold what SOURCE holds (both folders; at least one a store).

    A file whose size and SHA-256 already match the stored object's is not transferred again.
    """
    session: Session = ctx.obj
    src, dst = place(source).as_folder(), place(destination).as_folder()
    if not src.is_store and not dst.is_store:
        raise click.UsageError("one of SOURCE and DESTINATION must be a store (s3://... or file://...)")
    rules = filters(ctx)
    sources = _items(session, src, missing_ok=False)
    dests = _items(session, dst, missing_ok=True)
    compared = digest_candidates(sources, dests, rules=rules, size_only=size_only)
    decisions = plan_sync(
        sources,
        dests,
        rules=rules,
        delete=delete,
        size_only=size_only,
        source_sha256=_prefetched(_digest(session, src), compared, session.workers),
        dest_sha256=_prefetched(_digest(session, dst), compared, session.workers),
    )
    copies = [d for d in decisions if d.action is SyncAction.COPY]
    deletions = [d for d in decisions if d.action is SyncAction.DELETE]
    skipped = [d for d in decisions if d.action is SyncAction.SKIP]
    out = session.out
    skip_records = [{"action": "skip", "name": d.name, "reason": d.reason} for d in skipped]
    if dryrun:
        for d in copies:
            out.line(f"(dryrun) copy: {src.child(d.name)} to {dst.child(d.name)}  ({d.reason})")
        for d in deletions:
            out.line(f"(dryrun) delete: {dst.child(d.name)}")
        actions = [{"action": d.action.value, "name": d.name, "reason": d.reason} for d in copies + deletions]
        out.document({"command": "sync", "dryrun": True, "actions": actions + skip_records})
        return EXIT_OK
    outcomes = run_jobs(
        [_job(session, src, dst, d) for d in copies], workers=session.workers, out=out, label="sync"
    )
    copy_records = [
        {"action": "copy", "name": d.name, "reason": d.reason, **record(o)}
        for d, o in zip(copies, outcomes, strict=True)
    ]
    delete_records = _delete_all(session, dst, deletions)
    failed = sum(1 for r in copy_records + delete_records if r["status"] != "ok")
    out.document(
        {
            "command": "sync",
            "dryrun": False,
            "ok": failed == 0,
            "actions": copy_records + delete_records + skip_records,
            "summary": {
                "copied": len(copies) - sum(1 for o in outcomes if not o.ok),
                "deleted": sum(1 for r in delete_records if r["status"] == "ok"),
                "unchanged": len(skipped),
                "failed": failed,
            },
        }
    )
    return EXIT_FAILED if failed else EXIT_OK
