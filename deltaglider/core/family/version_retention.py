"""Removing versions from the histories of a DeltaSpace's names: all of a name's (a delete that does
not keep history, ``rm --all-versions``), or those that retention's per-name rules drop.

A kept version is a leaf: nothing is ever rebuilt against it. So it goes as the version judged
(:func:`deltaglider.core.protocol.remove_kept_version`, by the ETag its HEAD gave), and the bases it
needed go afterwards, through retention's own collection, once no kept file or version needs them.
A version kept after the listing that judged the others is not this pass's to remove.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from deltaglider.core import protocol
from deltaglider.core.context import Context
from deltaglider.core.format import forms
from deltaglider.core.format.layout import history_prefix, is_version_key, join_key, parse_version_key
from deltaglider.core.history.versions import kept_heads, kept_keys, of_name
from deltaglider.core.models import RetentionResult, VersionInfo
from deltaglider.errors import NotFoundError
from deltaglider.ports.storage import ObjectHead


def forget(ctx: Context, bucket: str, prefix: str, name: str) -> list[str]:
    """Removes every version kept in ``name``'s history; the keys removed."""
    removed = []
    for key in kept_keys(ctx, bucket, history_prefix(prefix, name), prefix).get(name, []):
        head = ctx.storage.head(bucket, key)
        if head is not None and protocol.remove_kept_version(ctx, bucket, head):
            removed.append(key)
    return removed


def forget_all(ctx: Context, bucket: str, prefix: str) -> list[str]:
    """Removes every version kept in the histories at or below the folder ``prefix``; the keys removed."""
    removed = []
    try:
        keys = [
            obj.key
            for obj in ctx.storage.list(bucket, join_key(prefix, ""), recursive=True)
            if not obj.is_prefix and is_version_key(obj.key)
        ]
    except NotFoundError:
        return []
    for key in keys:
        head = ctx.storage.head(bucket, key)
        if head is not None and protocol.remove_kept_version(ctx, bucket, head):
            removed.append(key)
    return removed


def _dropped(
    prefix: str,
    versions: list[VersionInfo],
    now: datetime,
    keep_versions: int | None,
    keep_within: timedelta | None,
) -> set[str]:
    """The IDs of the kept versions (never the current one) that neither rule keeps; with neither
    rule, none."""
    if keep_versions is None and keep_within is None:
        return set()
    keep = {v.version_id for v in versions[:keep_versions]} if keep_versions is not None else set()
    if keep_within is not None:
        keep |= {
            v.version_id
            for v in versions
            if v.created_at is None or now - _aware(v.created_at, now) <= keep_within
        }
    # A version still at its name (the older of two forms, which a writer under way has yet to
    # remove) is not retention's to drop: that writer keeps it again before it removes the form, so
    # it would outlive the removal reported. A later pass judges it once the history alone holds it.
    return {
        v.version_id
        for v in versions
        if not v.is_current and v.version_id not in keep and parse_version_key(prefix, v.key) is not None
    }


def _aware(when: datetime, now: datetime) -> datetime:
    return when if when.tzinfo is not None or now.tzinfo is None else when.replace(tzinfo=now.tzinfo)


def retain_versions(
    ctx: Context,
    bucket: str,
    prefix: str,
    result: RetentionResult,
    *,
    keep_versions: int | None,
    keep_within: timedelta | None,
    names_removed: Collection[str],
) -> list[ObjectHead]:
    """Applies the per-name rules to every name's history: ``keep_versions`` newest versions of each
    name (the current one counting as one), and/or those uploaded within ``keep_within`` (either
    rule keeps a version). A name retention removed loses its history with it. Returns the HEADs of
    the versions kept, whose bases stay."""
    now = ctx.clock.now()
    left: list[ObjectHead] = []
    for name, heads in kept_heads(ctx, bucket, prefix).items():
        if name in names_removed:
            dropped = {forms.version_id(head) for head in heads}
        else:
            dropped = _dropped(prefix, of_name(ctx, bucket, prefix, name), now, keep_versions, keep_within)
        for head in heads:
            vid = forms.version_id(head)
            if vid not in dropped:
                left.append(head)
                continue
            if result.dry_run or protocol.remove_kept_version(ctx, bucket, head):
                result.versions_removed.append(f"{name}@{vid}")
                result.bytes_freed += head.size
    return left
