"""Retention for a DeltaSpace: keep the newest files, remove the rest, and the bases nothing needs.

Files go by age (``keep_last`` newest, and/or those created within ``keep_within``; a file kept by
either rule stays). A base stays exactly as long as a kept file needs it: directly (a delta made
against it) or through a snapshot that a kept file needs (a snapshot is a delta against its full
reference). Bases are removed dependents first and by name, through the reference protocol of
:mod:`deltaglider.core.delete`: a base that an upload has just chosen is refused (its new delta shows
up as a dependent) or put back by that upload (:mod:`deltaglider.core.put`), never lost under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from deltaglider.core import bases
from deltaglider.core.context import Context
from deltaglider.core.delete import delete
from deltaglider.core.layout import DELTA_SUFFIX, join_key, split_key
from deltaglider.core.listing import files_with_heads
from deltaglider.core.metadata import Kind, parse, parse_created_at, read_field
from deltaglider.core.models import ListEntry, ObjectKey, RetentionResult
from deltaglider.errors import MetadataError, NotFoundError, ReferenceInUseError
from deltaglider.ports.storage import ObjectHead


def check_rules(keep_last: int | None, keep_within: timedelta | None) -> None:
    if keep_last is None and keep_within is None:
        raise ValueError("say what to keep: keep_last, keep_within, or both")
    if keep_last is not None and (isinstance(keep_last, bool) or keep_last < 0):
        raise ValueError(f"keep_last must be 0 or more, not {keep_last!r}")
    if keep_within is not None and keep_within < timedelta(0):
        raise ValueError(f"keep_within must not be negative, not {keep_within!r}")


@dataclass(frozen=True)
class _Facts:
    """What one HEAD of a stored file says that retention needs."""

    created: datetime | None  # its dg-created-at (kept by re-packing), else the store's date
    base_sha256: str | None  # the base a delta needs


def facts(entry: ListEntry, head: ObjectHead | None) -> _Facts:
    """What the file's HEAD (None: it vanished) says; the listing's date where it records none."""
    if head is None:
        return _Facts(entry.last_modified, None)
    created = parse_created_at(read_field(head.metadata, "created_at")) or entry.last_modified
    try:
        info = parse(head.metadata, entry.key)
    except MetadataError:
        return _Facts(created, None)
    return _Facts(created, info.ref_sha256 if info.kind is Kind.DELTA else None)


def _to_keep(
    ctx: Context, dated: dict[str, datetime | None], keep_last: int | None, keep_within: timedelta | None
) -> set[str]:
    now = ctx.clock.now()
    # A file without a date counts as stored now: never removed by its age alone.
    when = {name: _aware(date, now) if date is not None else now for name, date in dated.items()}
    newest_first = sorted(when, key=lambda name: (when[name], name), reverse=True)
    keep = set(newest_first[:keep_last]) if keep_last is not None else set()
    if keep_within is not None:
        keep |= {name for name in newest_first if now - when[name] <= keep_within}
    return keep


def _aware(when: datetime, now: datetime) -> datetime:
    return when if when.tzinfo is not None or now.tzinfo is None else when.replace(tzinfo=now.tzinfo)


@dataclass(frozen=True)
class _StoredBase:
    name: str  # as a lookup finds it
    key: str
    size: int
    sha256: str | None
    full_sha256: str | None  # a snapshot's full reference


def _bases(ctx: Context, bucket: str, prefix: str) -> list[_StoredBase]:
    found = []
    for obj in bases.listed(ctx, bucket, prefix):
        head = ctx.storage.head(bucket, obj.key)
        if head is None:
            continue
        base = bases.describe(head)
        found.append(
            _StoredBase(
                split_key(obj.key)[1].removesuffix(DELTA_SUFFIX),
                obj.key,
                obj.size,
                base.sha256 if base else None,
                base.full_sha256 if base else None,
            )
        )
    return found


def retain(
    ctx: Context,
    bucket: str,
    prefix: str,
    *,
    keep_last: int | None = None,
    keep_within: timedelta | None = None,
    dry_run: bool = False,
) -> RetentionResult:
    check_rules(keep_last, keep_within)
    result = RetentionResult(bucket, prefix, dry_run)
    listed = list(files_with_heads(ctx, bucket, prefix))
    entries = [entry for entry, _ in listed]
    known = {entry.name: facts(entry, head) for entry, head in listed}
    keep = _to_keep(ctx, {name: f.created for name, f in known.items()}, keep_last, keep_within)
    for entry in entries:
        if entry.name in keep:
            result.kept.append(entry.name)
            continue
        result.removed.append(entry.name)
        result.bytes_freed += entry.stored_size
        if not dry_run:
            with suppress(NotFoundError):  # removed meanwhile by someone else
                delete(ctx, ObjectKey(bucket, join_key(prefix, entry.name)))
    needed = {f.base_sha256 for name, f in known.items() if name in keep and f.base_sha256}
    collect_bases(ctx, bucket, prefix, needed, result)
    return result


def needed_bases(listed: Iterable[tuple[ListEntry, ObjectHead | None]]) -> set[str]:
    """The SHA-256 of every base that the files listed (with their HEADs) need directly."""
    return {sha for entry, head in listed if (sha := facts(entry, head).base_sha256)}


def collect_bases(ctx: Context, bucket: str, prefix: str, needed: set[str], result: RetentionResult) -> None:
    """Removes (or with ``result.dry_run`` lists) the DeltaSpace's bases that no delta needs: neither
    directly (``needed``, the SHA-256 of the kept files' bases) nor through a snapshot."""
    needed = set(needed)
    found = _bases(ctx, bucket, prefix)
    needed |= {b.full_sha256 for b in found if b.full_sha256 and b.sha256 in needed}
    # Snapshots first, then full references: each goes only once nothing left depends on it.
    for base in sorted(found, key=lambda b: b.full_sha256 is None):
        if base.sha256 is None or base.sha256 in needed:
            continue  # needed, or not one of ours to judge (no SHA-256 recorded)
        if result.dry_run:
            result.bases_removed.append(base.key)
            result.bytes_freed += base.size
            continue
        try:
            done = delete(ctx, ObjectKey(bucket, join_key(prefix, base.name)))
        except ReferenceInUseError as exc:
            result.warnings.append(f"kept {base.key}: {exc}")  # an upload chose it meanwhile
            continue
        except NotFoundError:
            continue
        result.bases_removed.extend(done.deleted)
        result.bytes_freed += base.size
