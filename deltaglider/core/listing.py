"""Listing a prefix as the user sees it (references hidden, ``.delta`` stripped, names relative to the
folder listed, sub-folders as ``PRE``-style entries) and totting it up."""

from __future__ import annotations

from collections.abc import Iterator

from deltaglider.core.context import Context
from deltaglider.core.layout import DELTA_SUFFIX, display_name, is_base_name, split_key
from deltaglider.core.locate import likely_keys
from deltaglider.core.metadata import Kind, parse
from deltaglider.core.models import ListEntry, StatsSummary
from deltaglider.errors import MetadataError
from deltaglider.ports.storage import ObjectHead

#: The original's helper objects (rehydrated copies, stats files): not user files.
HELPER_PREFIX = ".deltaglider/"


def _folder(prefix: str) -> str:
    return prefix.rstrip("/") + "/" if prefix.strip("/") else ""


def _is_helper(key: str, folder: str) -> bool:
    return key[len(folder) :].startswith(HELPER_PREFIX) or f"/{HELPER_PREFIX}" in key


def _entry(ctx: Context, obj: ObjectHead, name: str) -> ListEntry:
    original: int | None = obj.size
    is_delta = False
    if obj.key.endswith(DELTA_SUFFIX):
        # Only a HEAD tells a delta's original size (listings carry no metadata).
        head = ctx.storage.head(obj.bucket, obj.key)
        try:
            info = parse(head.metadata, obj.key) if head is not None else None
        except MetadataError:
            info = None
        is_delta = info is not None and info.kind is Kind.DELTA
        if info is not None and info.file_size is not None:
            original = info.file_size
        elif is_delta or info is None:
            original = None
    # The URL the user downloads it by: the name, not the stored .delta key.
    url = ctx.storage.url(obj.bucket, display_name(obj.key) or obj.key)
    return ListEntry(obj.bucket, name, obj.key, original, obj.size, is_delta, obj.last_modified, url=url)


def _visible(ctx: Context, bucket: str, folder: str, recursive: bool) -> list[tuple[str, ObjectHead]]:
    """(name relative to ``folder``, object) for what a listing shows, sorted by name."""
    shown: list[tuple[str, ObjectHead]] = []
    for obj in ctx.storage.list(bucket, folder, recursive=recursive):
        relative = obj.key[len(folder) :]
        # An S3 "folder marker" (a key ending in /) is not a file; the prefix entry stands for it.
        if not relative or _is_helper(obj.key, folder) or (relative.endswith("/") and not obj.is_prefix):
            continue
        name = relative if obj.is_prefix else display_name(relative)
        if name is not None:
            shown.append((name, obj))
    # Stripping .delta can move a name before keys that sorted ahead of its stored key.
    shown.sort(key=lambda item: item[0])
    return _one_per_name(shown, original_compatible=ctx.original_compatible)


def _one_per_name(
    shown: list[tuple[str, ObjectHead]], *, original_compatible: bool
) -> list[tuple[str, ObjectHead]]:
    """A name left in both forms (an upload that died between writing one and removing the other) is
    listed once, as the form a download of it reads first."""
    kept: list[tuple[str, ObjectHead]] = []
    for name, obj in shown:
        if kept and kept[-1][0] == name and not obj.is_prefix:
            first = likely_keys(obj.key.removesuffix(DELTA_SUFFIX), original_compatible=original_compatible)[
                0
            ]
            if obj.key == first:
                kept[-1] = (name, obj)
            continue
        kept.append((name, obj))
    return kept


def list_entries(ctx: Context, bucket: str, prefix: str, *, recursive: bool = False) -> Iterator[ListEntry]:
    folder = _folder(prefix)
    for name, obj in _visible(ctx, bucket, folder, recursive):
        if obj.is_prefix:
            url = ctx.storage.url(bucket, obj.key)
            yield ListEntry(bucket, name, obj.key, None, 0, False, None, is_prefix=True, url=url)
        else:
            yield _entry(ctx, obj, name)


def stats(ctx: Context, bucket: str, prefix: str) -> StatsSummary:
    folder = _folder(prefix)
    summary = StatsSummary(bucket=bucket, prefix=folder.rstrip("/"))
    for obj in ctx.storage.list(bucket, folder, recursive=True):
        if _is_helper(obj.key, folder):
            continue
        summary.stored_bytes += obj.size
        if is_base_name(split_key(obj.key)[1]):
            summary.reference_count += 1
            summary.reference_bytes += obj.size
            continue
        entry = _entry(ctx, obj, display_name(obj.key) or obj.key)
        summary.file_count += 1
        summary.original_bytes += entry.original_size if entry.original_size is not None else obj.size
        if entry.is_delta:
            summary.delta_count += 1
        else:
            summary.whole_count += 1
    return summary
