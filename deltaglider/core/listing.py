"""Listing a prefix as the user sees it (references hidden, ``.delta`` stripped, names relative to the
folder listed, sub-folders as ``PRE``-style entries) and totting it up.

A listing hides the bases, yet a base that exists for one file only (a full reference or a snapshot
made of that file, which no other file depends on) is part of what that file costs: the file's entry
carries it in ``base_size``. That needs every delta's base, so a listing is complete before its first
entry comes out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import chain as chained
from itertools import islice
from typing import Final, TypeVar

from deltaglider.core.context import Context
from deltaglider.core.format.layout import (
    DELTA_SUFFIX,
    REFERENCE_NAME,
    base_key,
    display_name,
    history_root,
    is_base_name,
    is_helper_key,
    is_version_key,
    join_key,
    split_key,
)
from deltaglider.core.format.locate import likely_keys
from deltaglider.core.format.metadata import ZERO_DIFF_NOTE, Kind, StoredInfo, parse_head
from deltaglider.core.models import ListEntry, StatsSummary
from deltaglider.errors import NotFoundError
from deltaglider.ports.storage import ObjectHead

#: HEADs in flight at once while listing: one after the other, thousands of deltas are thousands of
#: round trips (S3 answers a HEAD in tens of ms; a LIST page holds 1,000 keys).
HEADS_AT_ONCE: Final = 16
#: Objects looked at per round, so that a long walk over a folder's files streams and an abandoned
#: one stops soon.
_ROUND: Final = 256
#: Who depends on a base that a snapshot nobody uses depends on: not one file alone.
_ORPHAN: Final = ""

T = TypeVar("T")
R = TypeVar("R")


def in_order(items: Iterable[T], work: Callable[[T], R]) -> Iterator[R]:
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


def _entry(ctx: Context, obj: ObjectHead, name: str) -> tuple[ListEntry, str | None]:
    """The entry for ``obj`` as listed, and the key of the base it depends on (None for a whole file)."""
    # Only a HEAD tells a delta's original size (listings carry no metadata).
    head = ctx.storage.head(obj.bucket, obj.key) if obj.key.endswith(DELTA_SUFFIX) else None
    return _describe(ctx, obj, name, head)


def _base_of(info: StoredInfo | None, key: str) -> str | None:
    """The hidden base a delta depends on: the one it names, else its folder's ``reference.bin`` (as
    the original wrote deltas). A delta made against a user's file stored whole depends on that file
    while it is there, and on its content's own base key once it was deleted or overwritten (the key
    the protocol keeps it under: core.protocol), which only then is a hidden base of the listing."""
    if info is None or info.kind is not Kind.DELTA:
        return None
    if info.ref_key and info.ref_sha256 and not is_base_name(split_key(info.ref_key)[1]):
        return base_key(split_key(key)[0], info.ref_sha256, snapshot=False)
    return info.ref_key or join_key(split_key(key)[0], REFERENCE_NAME)


def _described(ctx: Context, obj: ObjectHead, name: str, head: ObjectHead | None) -> ListEntry:
    """The entry for ``obj`` as listed, with its HEAD (None: not headed, or gone) for a delta."""
    return _describe(ctx, obj, name, head)[0]


def _describe(
    ctx: Context, obj: ObjectHead, name: str, head: ObjectHead | None
) -> tuple[ListEntry, str | None]:
    original: int | None = obj.size
    info = parse_head(head) if obj.key.endswith(DELTA_SUFFIX) else None
    base = _base_of(info, obj.key)
    is_delta = base is not None
    if info is not None and info.file_size is not None:
        original = info.file_size
    elif obj.key.endswith(DELTA_SUFFIX) and (is_delta or info is None):
        original = None
    # The zero-diff delta of the file a full base was made of holds nothing: the base is the file (a
    # snapshot, itself a delta, leaves the file a delta; a later copy of the same bytes is a delta too).
    is_reference = (
        base is not None
        and info is not None
        and info.note == ZERO_DIFF_NOTE
        and bool(info.file_sha256)
        and (info.ref_sha256 or "").lower() == (info.file_sha256 or "").lower()
        and is_base_name(split_key(base)[1])
        and not base.endswith(DELTA_SUFFIX)
    )
    # The URL the user downloads it by: the name, not the stored .delta key.
    url = ctx.storage.url(obj.bucket, display_name(obj.key) or obj.key)
    entry = ListEntry(
        obj.bucket,
        name,
        obj.key,
        original,
        obj.size,
        is_delta,
        obj.last_modified,
        url=url,
        is_reference=is_reference,
    )
    return entry, base


def files_with_heads(ctx: Context, bucket: str, prefix: str) -> Iterator[tuple[ListEntry, ObjectHead | None]]:
    """The folder's own files as :func:`list_entries` gives them, each with its HEAD (None if it
    vanished meanwhile): one HEAD per file, for callers that need every file's metadata."""
    folder = _folder(prefix)

    def headed(item: tuple[str, ObjectHead]) -> tuple[ListEntry, ObjectHead | None]:
        name, obj = item
        head = ctx.storage.head(bucket, obj.key)
        return _described(ctx, obj, name, head), head

    files = (item for item in _visible(ctx, bucket, folder, False) if not item[1].is_prefix)
    return in_order(files, headed)


def _visible(ctx: Context, bucket: str, folder: str, recursive: bool) -> list[tuple[str, ObjectHead]]:
    """(name relative to ``folder``, object) for what a listing shows, sorted by name."""
    return _listing(ctx, bucket, folder, recursive)[0]


def _listing(
    ctx: Context, bucket: str, folder: str, recursive: bool
) -> tuple[list[tuple[str, ObjectHead]], dict[str, int]]:
    """What :func:`_visible` gives, and the sizes of the hidden bases by key, from one listing."""
    shown: list[tuple[str, ObjectHead]] = []
    bases: dict[str, int] = {}
    for obj in ctx.storage.list(bucket, folder, recursive=recursive):
        relative = obj.key[len(folder) :]
        # An S3 "folder marker" (a key ending in /) is not a file; the prefix entry stands for it.
        if not relative or is_helper_key(obj.key) or (relative.endswith("/") and not obj.is_prefix):
            continue
        name = relative if obj.is_prefix else display_name(relative)
        if name is not None:
            shown.append((name, obj))
        elif not obj.is_prefix:
            bases[obj.key] = obj.size
    # Stripping .delta can move a name before keys that sorted ahead of its stored key.
    shown.sort(key=lambda item: item[0])
    return _one_per_name(shown, original_compatible=ctx.original_compatible), bases


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
    shown, bases = _listing(ctx, bucket, folder, recursive)

    def entry(item: tuple[str, ObjectHead]) -> tuple[ListEntry, str | None]:
        name, obj = item
        if obj.is_prefix:
            url = ctx.storage.url(bucket, obj.key)
            return ListEntry(bucket, name, obj.key, None, 0, False, None, is_prefix=True, url=url), None
        return _entry(ctx, obj, name)

    described = list(in_order(shown, entry))
    own = _own_bases(ctx, bucket, described, bases)
    return (replace(e, base_size=own[e.key]) if own.get(e.key) else e for e, _ in described)


def _own_bases(
    ctx: Context, bucket: str, described: list[tuple[ListEntry, str | None]], bases: Mapping[str, int]
) -> dict[str, int]:
    """For each file (by stored key) depending on a hidden base, the bytes of the bases along its chain
    (its base, and a snapshot's full reference) that no other file and no other snapshot depends on."""
    if not bases:
        return {}
    # A snapshot depends on its full reference, which only its HEAD names.
    snapshots = [key for key in bases if key.endswith(DELTA_SUFFIX)]
    heads = in_order(snapshots, lambda key: ctx.storage.head(bucket, key))
    base_of = {key: _base_of(parse_head(head), key) for key, head in zip(snapshots, heads, strict=True)}
    users: defaultdict[str, set[str]] = defaultdict(set)
    chains: dict[str, list[str]] = {}
    for entry, base in described:
        chain = _chain(base, bases, base_of)
        chains[entry.key] = chain
        for key in chain:
            users[key].add(entry.key)
    for snapshot in snapshots:
        if not users[snapshot]:  # nobody's, yet it holds on to its full reference
            for key in _chain(snapshot, bases, base_of):
                users[key].add(_ORPHAN)
    return {
        file: sum(bases[key] for key in chain if users[key] == {file})
        for file, chain in chains.items()
        if chain
    }


def _chain(base: str | None, bases: Mapping[str, int], base_of: Mapping[str, str | None]) -> list[str]:
    """``base`` and what it depends on in turn, among the listed bases."""
    chain: list[str] = []
    while base is not None and base in bases and base not in chain:
        chain.append(base)
        base = base_of.get(base)
    return chain


def _history_of(ctx: Context, bucket: str, prefix: str) -> Iterator[ObjectHead]:
    """What the histories of the DeltaSpace ``prefix`` hold (nothing when it has no folder yet)."""
    try:
        yield from ctx.storage.list(bucket, history_root(prefix), recursive=True)
    except NotFoundError:
        return


def stats(ctx: Context, bucket: str, prefix: str, *, recursive: bool = True) -> StatsSummary:
    folder = _folder(prefix)
    summary = StatsSummary(bucket=bucket, prefix=folder.rstrip("/"))

    def files() -> Iterator[ObjectHead]:
        listed = ctx.storage.list(bucket, folder, recursive=recursive)
        if not recursive:
            # The folder's own histories are in a sub-folder: counted too.
            listed = chained(listed, _history_of(ctx, bucket, prefix))
        for obj in listed:
            if not obj.is_prefix and is_version_key(obj.key):
                summary.history_count += 1
                summary.history_bytes += obj.size
            if obj.is_prefix or is_helper_key(obj.key):
                continue
            summary.stored_bytes += obj.size
            if is_base_name(split_key(obj.key)[1]):
                summary.reference_count += 1
                summary.reference_bytes += obj.size
            else:
                yield obj

    for entry, _ in in_order(files(), lambda obj: _entry(ctx, obj, display_name(obj.key) or obj.key)):
        summary.file_count += 1
        original = entry.original_size
        summary.original_bytes += original if original is not None else entry.stored_size
        if entry.is_reference:
            summary.reference_file_count += 1
        elif entry.is_delta:
            summary.delta_count += 1
        else:
            summary.whole_count += 1
    return summary
