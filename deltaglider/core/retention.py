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
from typing import Final

from deltaglider.core import bases
from deltaglider.core.context import Context
from deltaglider.core.delete import delete
from deltaglider.core.layout import DELTA_SUFFIX, is_base_name, join_key, split_key
from deltaglider.core.listing import list_entries
from deltaglider.core.metadata import Kind, parse, read_field
from deltaglider.core.models import ListEntry, ObjectKey, RetentionResult
from deltaglider.errors import MetadataError, NotFoundError, ReferenceInUseError

_CREATED_FORMATS: Final = ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ")


def check_rules(keep_last: int | None, keep_within: timedelta | None) -> None:
    if keep_last is None and keep_within is None:
        raise ValueError("say what to keep: keep_last, keep_within, or both")
    if keep_last is not None and (isinstance(keep_last, bool) or keep_last < 0):
        raise ValueError(f"keep_last must be 0 or more, not {keep_last!r}")
    if keep_within is not None and keep_within < timedelta(0):
        raise ValueError(f"keep_within must not be negative, not {keep_within!r}")


def created(ctx: Context, entry: ListEntry) -> datetime | None:
    """When the file was stored: its ``dg-created-at`` (kept by re-packing), else the store's date."""
    head = ctx.storage.head(entry.bucket, entry.key)
    raw = read_field(head.metadata, "created_at") if head is not None else None
    for fmt in _CREATED_FORMATS:
        if raw:
            try:
                return datetime.strptime(raw, fmt).replace(tzinfo=ctx.clock.now().tzinfo)
            except ValueError:
                continue
    return entry.last_modified


def _to_keep(
    ctx: Context, entries: list[ListEntry], keep_last: int | None, keep_within: timedelta | None
) -> set[str]:
    now = ctx.clock.now()
    dated = [(created(ctx, entry), entry.name) for entry in entries]
    # Newest first; a file without a date counts as new (never removed by its age alone).
    dated.sort(key=lambda item: (_aware(item[0], now) if item[0] else now, item[1]), reverse=True)
    keep = {name for _, name in dated[:keep_last]} if keep_last is not None else set()
    if keep_within is not None:
        keep |= {name for when, name in dated if when is None or now - _aware(when, now) <= keep_within}
    return keep


def _aware(when: datetime, now: datetime) -> datetime:
    return when if when.tzinfo is not None or now.tzinfo is None else when.replace(tzinfo=now.tzinfo)


def needed_bases(ctx: Context, bucket: str, keys: Iterable[str]) -> set[str]:
    """The SHA-256 of every base that the deltas stored at ``keys`` need, snapshots' fulls included."""
    needed: set[str] = set()
    for key in keys:
        if not key.endswith(DELTA_SUFFIX):
            continue
        head = ctx.storage.head(bucket, key)
        if head is None:
            continue
        try:
            info = parse(head.metadata, key)
        except MetadataError:
            continue
        if info.kind is Kind.DELTA and info.ref_sha256:
            needed.add(info.ref_sha256)
    return needed


@dataclass(frozen=True)
class _StoredBase:
    name: str  # as a lookup finds it
    key: str
    size: int
    sha256: str | None
    full_sha256: str | None  # a snapshot's full reference


def _bases(ctx: Context, bucket: str, prefix: str) -> list[_StoredBase]:
    found = []
    for obj in ctx.storage.list(bucket, join_key(prefix, "reference"), recursive=False):
        name = split_key(obj.key)[1]
        if obj.is_prefix or not is_base_name(name):
            continue
        head = ctx.storage.head(bucket, obj.key)
        if head is None:
            continue
        base = bases.describe(head)
        found.append(
            _StoredBase(
                name.removesuffix(DELTA_SUFFIX),
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
    entries = [e for e in list_entries(ctx, bucket, prefix) if not e.is_prefix]
    keep = _to_keep(ctx, entries, keep_last, keep_within)
    for entry in entries:
        if entry.name in keep:
            result.kept.append(entry.name)
            continue
        result.removed.append(entry.name)
        result.bytes_freed += entry.stored_size
        if not dry_run:
            with suppress(NotFoundError):  # removed meanwhile by someone else
                delete(ctx, ObjectKey(bucket, join_key(prefix, entry.name)))
    collect_bases(ctx, bucket, prefix, [e.key for e in entries if e.name in keep], result)
    return result


def collect_bases(
    ctx: Context, bucket: str, prefix: str, kept_keys: list[str], result: RetentionResult
) -> None:
    """Removes (or with ``result.dry_run`` lists) the DeltaSpace's bases that none of the deltas at
    ``kept_keys`` needs, directly or through a snapshot."""
    needed = needed_bases(ctx, bucket, kept_keys)
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
