"""Listing a prefix as the user sees it (references hidden, ``.delta`` stripped, names relative to the
folder listed, sub-folders as ``PRE``-style entries) and totting it up."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Final, TypeVar

from deltaglider.core.context import Context
from deltaglider.core.layout import DELTA_SUFFIX, display_name, is_base_name, split_key
from deltaglider.core.locate import likely_keys
from deltaglider.core.metadata import Kind, parse
from deltaglider.core.models import ListEntry, StatsSummary
from deltaglider.errors import MetadataError
from deltaglider.ports.storage import ObjectHead

#: The original's helper objects (rehydrated copies, stats files): not user files.
HELPER_PREFIX = ".deltaglider/"
#: HEADs in flight at once while listing: one after the other, thousands of deltas are thousands of
#: round trips (S3 answers a HEAD in tens of ms; a LIST page holds 1,000 keys).
HEADS_AT_ONCE: Final = 16
#: Objects looked at per round, so that a long listing streams and an abandoned one stops soon.
_ROUND: Final = 256

T = TypeVar("T")
R = TypeVar("R")


def _in_order(items: Iterable[T], work: Callable[[T], R]) -> Iterator[R]:
    """``work`` on each item, up to :data:`HEADS_AT_ONCE` at once, the results in input order."""
    source = iter(items)
    batch = list(islice(source, _ROUND))
    if len(batch) <= 1:
        yield from map(work, batch)
        return
    with ThreadPoolExecutor(HEADS_AT_ONCE, thread_name_prefix="deltaglider-list") as pool:
        while batch:
            yield from pool.map(work, batch)
            batch = list(islice(source, _ROUND))


def _folder(prefix: str) -> str:
    return prefix.rstrip("/") + "/" if prefix.strip("/") else ""


def _is_helper(key: str, folder: str) -> bool:
    return key[len(folder) :].startswith(HELPER_PREFIX) or f"/{HELPER_PREFIX}" in key


def _entry(ctx: Context, obj: ObjectHead, name: str) -> ListEntry:
    # Only a HEAD tells a delta's original size (listings carry no metadata).
    head = ctx.storage.head(obj.bucket, obj.key) if obj.key.endswith(DELTA_SUFFIX) else None
    return _described(ctx, obj, name, head)


def _described(ctx: Context, obj: ObjectHead, name: str, head: ObjectHead | None) -> ListEntry:
    """The entry for ``obj`` as listed, with its HEAD (None: not headed, or gone) for a delta."""
    original: int | None = obj.size
    is_delta = False
    if obj.key.endswith(DELTA_SUFFIX):
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


def files_with_heads(ctx: Context, bucket: str, prefix: str) -> Iterator[tuple[ListEntry, ObjectHead | None]]:
    """The folder's own files as :func:`list_entries` gives them, each with its HEAD (None if it
    vanished meanwhile): one HEAD per file, for callers that need every file's metadata."""
    folder = _folder(prefix)

    def headed(item: tuple[str, ObjectHead]) -> tuple[ListEntry, ObjectHead | None]:
        name, obj = item
        head = ctx.storage.head(bucket, obj.key)
        return _described(ctx, obj, name, head), head

    files = (item for item in _visible(ctx, bucket, folder, False) if not item[1].is_prefix)
    return _in_order(files, headed)


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

    def entry(item: tuple[str, ObjectHead]) -> ListEntry:
        name, obj = item
        if obj.is_prefix:
            url = ctx.storage.url(bucket, obj.key)
            return ListEntry(bucket, name, obj.key, None, 0, False, None, is_prefix=True, url=url)
        return _entry(ctx, obj, name)

    return _in_order(_visible(ctx, bucket, folder, recursive), entry)


def stats(ctx: Context, bucket: str, prefix: str, *, recursive: bool = True) -> StatsSummary:
    folder = _folder(prefix)
    summary = StatsSummary(bucket=bucket, prefix=folder.rstrip("/"))

    def files() -> Iterator[ObjectHead]:
        for obj in ctx.storage.list(bucket, folder, recursive=recursive):
            if obj.is_prefix or _is_helper(obj.key, folder):
                continue
            summary.stored_bytes += obj.size
            if is_base_name(split_key(obj.key)[1]):
                summary.reference_count += 1
                summary.reference_bytes += obj.size
            else:
                yield obj

    for entry in _in_order(files(), lambda obj: _entry(ctx, obj, display_name(obj.key) or obj.key)):
        summary.file_count += 1
        original = entry.original_size
        summary.original_bytes += original if original is not None else entry.stored_size
        if entry.is_delta:
            summary.delta_count += 1
        else:
            summary.whole_count += 1
    return summary
