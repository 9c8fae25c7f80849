"""A name's versions as the store holds them: the current one, at the name, and those kept in its
history (:mod:`deltaglider.core.history.keep`), newest first.

A version kept and still at its name (a writer killed between keeping it and replacing it, or
between writing and removing the other form) is one version: the ID is the write stamp, and the same
ID is the same version. Keys under the history folder that do not parse as versions are no versions
of ours, and are neither shown nor read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from deltaglider.core.context import Context
from deltaglider.core.format import forms
from deltaglider.core.format.layout import (
    display_name,
    history_prefix,
    history_root,
    join_key,
    lookup_keys,
    parse_version_key,
    split_key,
)
from deltaglider.core.format.metadata import Kind, parse_created_at, parse_head, read_field
from deltaglider.core.listing import in_order, list_entries
from deltaglider.core.models import VersionInfo
from deltaglider.errors import NotFoundError
from deltaglider.ports.storage import ObjectHead


def _info(name: str, head: ObjectHead, *, current: bool) -> VersionInfo:
    info = parse_head(head)
    created = parse_created_at(read_field(head.metadata, "created_at")) or head.last_modified
    return VersionInfo(
        name=name,
        version_id=forms.version_id(head),
        created_at=created,
        size=info.file_size if info is not None else head.size,
        sha256=info.file_sha256 if info is not None else None,
        stored_size=head.size,
        is_current=current,
        is_delta=info is not None and info.kind is Kind.DELTA,
        key=head.key,
    )


def kept_keys(ctx: Context, bucket: str, folder: str, prefix: str) -> dict[str, list[str]]:
    """The keys of the versions kept under ``folder`` (a name's or the DeltaSpace's history), by name."""
    found: dict[str, list[str]] = defaultdict(list)
    try:
        for obj in ctx.storage.list(bucket, folder, recursive=True):
            parsed = None if obj.is_prefix else parse_version_key(prefix, obj.key)
            if parsed is not None:
                found[parsed[0]].append(obj.key)
    except NotFoundError:
        pass  # no folder yet (a folder store's bucket): no history
    return found


def _heads(ctx: Context, bucket: str, keys: Iterable[str]) -> list[ObjectHead]:
    listed = list(keys)
    return [head for head in in_order(listed, lambda key: ctx.storage.head(bucket, key)) if head is not None]


def _versions(name: str, current: list[ObjectHead], kept: list[ObjectHead]) -> list[VersionInfo]:
    """Newest first; of a name's two forms, the newer is current (the older is a version a writer
    had yet to remove); a version both kept and at the name is shown once, as it is at the name."""
    by_id: dict[str, VersionInfo] = {}
    for head in kept:
        by_id[forms.version_id(head)] = _info(name, head, current=False)
    newest = max(current, key=forms.version_id, default=None)
    for head in current:
        by_id[forms.version_id(head)] = _info(name, head, current=head is newest)
    return sorted(by_id.values(), key=lambda v: v.version_id, reverse=True)


def of_name(ctx: Context, bucket: str, prefix: str, name: str) -> list[VersionInfo]:
    """The versions of ``name`` in the DeltaSpace ``prefix``, newest first (empty: no such name, now
    or before)."""
    current = _heads(ctx, bucket, lookup_keys(join_key(prefix, name)))
    kept = _heads(ctx, bucket, kept_keys(ctx, bucket, history_prefix(prefix, name), prefix).get(name, []))
    return _versions(name, current, kept)


def of_folder(ctx: Context, bucket: str, prefix: str) -> list[VersionInfo]:
    """The versions of every name of the DeltaSpace ``prefix``, those whose current version was
    deleted included: by name, each name's newest first."""
    current: dict[str, list[ObjectHead]] = defaultdict(list)
    files = [entry for entry in list_entries(ctx, bucket, prefix) if not entry.is_prefix]
    for entry, head in zip(files, _heads_or_none(ctx, bucket, [e.key for e in files]), strict=True):
        if head is not None:
            current[split_key(display_name(entry.key) or entry.key)[1]].append(head)
    kept = kept_keys(ctx, bucket, history_root(prefix), prefix)
    found: list[VersionInfo] = []
    for name in sorted(set(current) | set(kept)):
        found += _versions(name, current.get(name, []), _heads(ctx, bucket, kept.get(name, [])))
    return found


def _heads_or_none(ctx: Context, bucket: str, keys: list[str]) -> list[ObjectHead | None]:
    return list(in_order(keys, lambda key: ctx.storage.head(bucket, key)))


def newest_kept(ctx: Context, bucket: str, prefix: str, name: str) -> str | None:
    """The ID of the newest version kept in ``name``'s history (one listing; None: none kept)."""
    keys = kept_keys(ctx, bucket, history_prefix(prefix, name), prefix).get(name, [])
    found = [parsed[1] for key in keys if (parsed := parse_version_key(prefix, key)) is not None]
    return max(found, default=None)


def kept_heads(ctx: Context, bucket: str, prefix: str) -> dict[str, list[ObjectHead]]:
    """The HEADs of the versions kept in the histories of the DeltaSpace ``prefix``, by name."""
    return {
        name: _heads(ctx, bucket, keys)
        for name, keys in kept_keys(ctx, bucket, history_root(prefix), prefix).items()
    }


def bases_needed(kept: Iterable[ObjectHead]) -> set[str]:
    """The SHA-256 of the bases that the kept versions ``kept`` are deltas against."""
    found = set()
    for head in kept:
        info = parse_head(head)
        if info is not None and info.kind is Kind.DELTA and info.ref_sha256:
            found.add(info.ref_sha256)
    return found
