"""Retention for a DeltaSpace: keep the newest files, remove the rest, and the bases nothing needs.

Files go by age (``keep_last`` newest, and/or those stored within ``keep_within``; a file kept by
either rule stays). The newest are those whose user's file was modified last before its upload
(``dg-source-mtime``), the upload time breaking ties, so that a parallel upload of releases does not
make the first one stored the newest; a ``name_order`` ranks by the names' version order instead.

Every removal goes through :mod:`deltaglider.core.protocol`: a file goes only as the version that was
judged (one written since the listing stays), and a base stays exactly as long as a file needs it:
directly (a delta made against it) or through a snapshot that a kept file needs (a snapshot is a delta
against its full reference). Bases are removed dependents first: a base that an upload has just chosen
is refused (its new delta shows up as a dependent) or put back by that upload, never lost under it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from deltaglider.core import protocol
from deltaglider.core.context import Context
from deltaglider.core.family import bases, version_retention
from deltaglider.core.format.layout import join_key, split_key
from deltaglider.core.format.metadata import Kind, parse, parse_created_at, read_field
from deltaglider.core.history import versions
from deltaglider.core.listing import files_with_heads
from deltaglider.core.models import ListEntry, RetentionResult
from deltaglider.errors import MetadataError, ReferenceInUseError
from deltaglider.ports.storage import ObjectHead

#: How names rank in ``order="version"``: a key function, oldest version first (``batch.version_key``).
NameOrder = Callable[[str], Any]


def check_rules(
    keep_last: int | None, keep_within: timedelta | None, keep_versions: int | None = None
) -> None:
    if keep_last is None and keep_within is None and keep_versions is None:
        raise ValueError("say what to keep: keep_last, keep_within, keep_versions, or several")
    for label, count in (("keep_last", keep_last), ("keep_versions", keep_versions)):
        if count is not None and (isinstance(count, bool) or count < 0):
            raise ValueError(f"{label} must be 0 or more, not {count!r}")
    if keep_within is not None and keep_within < timedelta(0):
        raise ValueError(f"keep_within must not be negative, not {keep_within!r}")


@dataclass(frozen=True)
class _Facts:
    """What one HEAD of a stored file says that retention needs."""

    created: datetime | None  # its dg-created-at (kept by re-packing), else the store's date
    base_sha256: str | None  # the base a delta needs
    made: datetime | None = None  # the user's file's modification time at upload (dg-source-mtime)


def facts(entry: ListEntry, head: ObjectHead | None) -> _Facts:
    """What the file's HEAD (None: it vanished) says; the listing's date where it records none."""
    if head is None:
        return _Facts(entry.last_modified, None)
    created = parse_created_at(read_field(head.metadata, "created_at")) or entry.last_modified
    made = parse_created_at(read_field(head.metadata, "source_mtime"))
    try:
        info = parse(head.metadata, entry.key)
    except MetadataError:
        return _Facts(created, None, made)
    return _Facts(created, info.ref_sha256 if info.kind is Kind.DELTA else None, made)


def _to_keep(
    ctx: Context,
    known: dict[str, _Facts],
    keep_last: int | None,
    keep_within: timedelta | None,
    name_order: NameOrder | None,
) -> set[str]:
    now = ctx.clock.now()
    # A file without a date counts as made now: never removed by its age alone.
    created = {name: _aware(f.created, now) if f.created is not None else now for name, f in known.items()}
    made = {name: _aware(f.made, now) if f.made is not None else created[name] for name, f in known.items()}
    if name_order is None:
        newest_first = sorted(known, key=lambda name: (made[name], created[name], name), reverse=True)
    else:
        newest_first = sorted(known, key=name_order, reverse=True)
    keep = set(newest_first[:keep_last]) if keep_last is not None else set()
    if keep_within is not None:
        # Stored within: when the file was uploaded, however old the user's file was then.
        keep |= {name for name in newest_first if now - created[name] <= keep_within}
    return keep


def _aware(when: datetime, now: datetime) -> datetime:
    return when if when.tzinfo is not None or now.tzinfo is None else when.replace(tzinfo=now.tzinfo)


@dataclass(frozen=True)
class _StoredBase:
    head: ObjectHead  # as judged: the version that may be removed
    sha256: str | None
    full_sha256: str | None  # a snapshot's full reference


def _bases(ctx: Context, bucket: str, prefix: str) -> list[_StoredBase]:
    found = []
    for obj in bases.listed(ctx, bucket, prefix):
        head = ctx.storage.head(bucket, obj.key)
        if head is None:
            continue
        base = bases.describe(head)
        found.append(_StoredBase(head, base.sha256 if base else None, base.full_sha256 if base else None))
    return found


def retain(
    ctx: Context,
    bucket: str,
    prefix: str,
    *,
    keep_last: int | None = None,
    keep_within: timedelta | None = None,
    dry_run: bool = False,
    name_order: NameOrder | None = None,
    keep_versions: int | None = None,
) -> RetentionResult:
    """``name_order``: rank by the names' version order (a key function) instead of by age.
    ``keep_versions`` and ``keep_within`` apply to each name's history too (core.family.version_retention);
    the folder's rules (``keep_last``, ``keep_within``) to its files, and a file removed takes its
    history with it. With ``keep_versions`` alone, every file stays."""
    check_rules(keep_last, keep_within, keep_versions)
    result = RetentionResult(bucket, prefix, dry_run)
    listed = list(files_with_heads(ctx, bucket, prefix))
    known = {entry.name: facts(entry, head) for entry, head in listed}
    if keep_last is None and keep_within is None:
        keep = set(known)
    else:
        keep = _to_keep(ctx, known, keep_last, keep_within, name_order)
    needed = {f.base_sha256 for name, f in known.items() if name in keep and f.base_sha256}
    for entry, head in listed:
        if entry.name in keep:
            result.kept.append(entry.name)
            continue
        if head is None:
            continue  # removed meanwhile by someone else
        if not dry_run and protocol.remove_version(ctx, bucket, head) is None:
            # Written (or removed) since it was judged: the newer version is not this rule's to remove.
            result.kept.append(entry.name)
            result.warnings.append(f"kept {entry.name}: it was written or removed since it was listed")
            keep.add(entry.name)
            continue
        result.removed.append(entry.name)
        if not (protocol.serves_as_base(head) and protocol.sha_of(head) in needed):
            # (A whole file that a kept delta needs stays as a hidden base: its bytes are not freed.)
            result.bytes_freed += entry.stored_size
    kept = version_retention.retain_versions(
        ctx,
        bucket,
        prefix,
        result,
        keep_versions=keep_versions,
        keep_within=keep_within,
        names_removed=set(result.removed) if not dry_run else set(known) - keep,
    )
    needed = {f.base_sha256 for name, f in known.items() if name in keep and f.base_sha256}
    collect_bases(ctx, bucket, prefix, needed, result, history=kept)
    return result


def needed_bases(listed: Iterable[tuple[ListEntry, ObjectHead | None]]) -> set[str]:
    """The SHA-256 of every base that the files listed (with their HEADs) need directly."""
    return {sha for entry, head in listed if (sha := facts(entry, head).base_sha256)}


def collect_bases(
    ctx: Context,
    bucket: str,
    prefix: str,
    needed: set[str],
    result: RetentionResult,
    *,
    history: list[ObjectHead] | None = None,
) -> None:
    """Removes (or with ``result.dry_run`` lists) the DeltaSpace's bases that no delta needs: neither
    directly (``needed``, the SHA-256 of the kept files' bases, and of the versions kept in the
    names' histories: ``history``, their HEADs, else looked up) nor through a snapshot."""
    if history is None:
        history = [head for heads in versions.kept_heads(ctx, bucket, prefix).values() for head in heads]
    needed = set(needed) | versions.bases_needed(history)
    found = _bases(ctx, bucket, prefix)
    needed |= {b.full_sha256 for b in found if b.full_sha256 and b.sha256 in needed}
    # Snapshots first, then full references: each goes only once nothing left depends on it.
    for base in sorted(found, key=lambda b: b.full_sha256 is None):
        if base.sha256 is None or base.sha256 in needed:
            continue  # needed, or not one of ours to judge (no SHA-256 recorded)
        if result.dry_run:
            result.bases_removed.append(base.head.key)
            result.bytes_freed += base.head.size
            continue
        try:
            done = protocol.remove_base(ctx, bucket, base.head, force=False)
        except ReferenceInUseError as exc:
            result.warnings.append(f"kept {base.head.key}: {exc}")  # an upload chose it meanwhile
            continue
        if done is None:
            continue  # replaced since it was judged
        result.bases_removed.extend(done.deleted)
        result.bytes_freed += base.head.size


def collect_unused(ctx: Context, bucket: str, prefix: str, *, dry_run: bool = False) -> RetentionResult:
    """Removes the DeltaSpace's bases that no stored file needs any more (after files were removed
    by name, by ``rm`` or ``sync --delete``), and the markers of removals that died."""
    result = RetentionResult(bucket, prefix, dry_run)
    collect_bases(ctx, bucket, prefix, needed_bases(files_with_heads(ctx, bucket, prefix)), result)
    for key in protocol.expired_markers(ctx, bucket, join_key(prefix, "")):
        if split_key(key)[0] == prefix:
            if not dry_run:
                ctx.storage.delete(bucket, key)
            result.bases_removed.append(key)
    return result
