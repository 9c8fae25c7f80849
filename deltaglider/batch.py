"""Many files at once: include/exclude filters, recursive removal plans and sync decisions.

Pure functions over names and sizes, shared by the command line and the SDK: whatever must be read
(listings, a local folder's files, SHA-256 digests) is passed in, so every rule here can be tested
without a store.

Names are relative to the folder being copied, synced or removed, with ``/`` between components
(``app-1.1.zip``, ``sub/app-1.1.zip``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from deltaglider.core.layout import REFERENCE_NAME

FilterAction = Literal["include", "exclude"]


@dataclass(frozen=True)
class FilterRule:
    """One ``--include`` or ``--exclude``. The pattern is matched against the whole relative name, and
    ``*`` also crosses ``/``, as in ``aws s3``."""

    action: FilterAction
    pattern: str


def is_included(name: str, rules: Sequence[FilterRule]) -> bool:
    """Every name is included until a rule says otherwise; when several rules match, the last one given
    wins (``--exclude '*' --include '*.zip'`` keeps only zips; the reverse order keeps nothing)."""
    included = True
    for rule in rules:
        if fnmatchcase(name, rule.pattern):
            included = rule.action == "include"
    return included


@dataclass(frozen=True)
class Item:
    """A file on one side of a batch: a local file, or a stored object as listed (``size`` is the
    original size; None when the store recorded none)."""

    name: str
    size: int | None
    is_delta: bool = False


def select(items: Iterable[Item], rules: Sequence[FilterRule]) -> list[Item]:
    """The items the rules let through, by name."""
    return sorted((item for item in items if is_included(item.name, rules)), key=lambda item: item.name)


def folder_of(name: str) -> str:
    """The folder part of a relative name ("" for a name at the top)."""
    return name.rpartition("/")[0]


@dataclass(frozen=True)
class RemovalPlan:
    """What ``rm --recursive`` removes: the files, then the folders whose reference goes with them."""

    names: list[str]
    reference_folders: list[str]


def plan_removal(items: Iterable[Item], rules: Sequence[FilterRule]) -> RemovalPlan:
    """Files come first, deltas after whole files (each delta's reference must outlive it). A folder's
    reference goes only when every delta of that folder is removed: ``items`` must be the whole
    listing, not only what the rules select, or a reference other deltas still need would be planned
    for removal."""
    all_items = list(items)
    chosen = select(all_items, rules)
    chosen_names = {item.name for item in chosen}
    names = [item.name for item in chosen if not item.is_delta] + [
        item.name for item in chosen if item.is_delta
    ]
    delta_folders = {folder_of(item.name) for item in all_items if item.is_delta}
    kept = [item for item in all_items if item.name not in chosen_names]
    kept_delta_folders = {folder_of(item.name) for item in kept if item.is_delta}
    # A kept user file named reference.bin is what a lookup of "<folder>/reference.bin" finds first:
    # removing "the reference" by that name would remove the user's file instead.
    shadowed = {folder_of(item.name) for item in kept if item.name.rpartition("/")[2] == REFERENCE_NAME}
    return RemovalPlan(names=names, reference_folders=sorted(delta_folders - kept_delta_folders - shadowed))


class SyncAction(enum.Enum):
    COPY = "copy"  # the destination lacks the file or holds other bytes
    SKIP = "skip"  # the destination already holds these bytes
    DELETE = "delete"  # only the destination has it, and --delete was given


@dataclass(frozen=True)
class SyncDecision:
    name: str
    action: SyncAction
    reason: str
    size: int | None = None  # the source's size for a copy, the destination's for a delete


#: The SHA-256 of a named file on one side, or None when that side does not know it (an object stored
#: with no SHA-256 recorded). Only called when the sizes cannot tell the files apart.
DigestOf = Callable[[str], str | None]


def digest_candidates(
    source: Iterable[Item], dest: Iterable[Item], *, rules: Sequence[FilterRule] = (), size_only: bool = False
) -> list[str]:
    """The names whose SHA-256 ``plan_sync`` will ask for on both sides: on both sides, with sizes that
    do not tell them apart. A caller may fetch these ahead, in parallel."""
    if size_only:
        return []
    dests = {item.name: item for item in select(dest, rules)}
    return [
        item.name
        for item in select(source, rules)
        if item.name in dests and not _sizes_differ(item, dests[item.name])
    ]


def _sizes_differ(src: Item, dst: Item) -> bool:
    return src.size is not None and dst.size is not None and src.size != dst.size


def _compare(
    name: str,
    src: Item,
    dst: Item,
    *,
    size_only: bool,
    source_sha256: DigestOf,
    dest_sha256: DigestOf,
) -> SyncDecision:
    if _sizes_differ(src, dst):
        return SyncDecision(name, SyncAction.COPY, "size differs", src.size)
    if size_only:
        if src.size is None or dst.size is None:
            return SyncDecision(name, SyncAction.COPY, "size unknown", src.size)
        return SyncDecision(name, SyncAction.SKIP, "same size", src.size)
    # Equal sizes tell nothing: the recorded SHA-256 decides, so an identical file transfers nothing.
    dst_digest = dest_sha256(name)
    if dst_digest is None:
        return SyncDecision(name, SyncAction.COPY, "no SHA-256 recorded at the destination", src.size)
    src_digest = source_sha256(name)
    if src_digest is None:
        return SyncDecision(name, SyncAction.COPY, "no SHA-256 recorded at the source", src.size)
    if src_digest.lower() == dst_digest.lower():
        return SyncDecision(name, SyncAction.SKIP, "same SHA-256", src.size)
    return SyncDecision(name, SyncAction.COPY, "content differs", src.size)


def plan_sync(
    source: Iterable[Item],
    dest: Iterable[Item],
    *,
    rules: Sequence[FilterRule] = (),
    delete: bool = False,
    size_only: bool = False,
    source_sha256: DigestOf,
    dest_sha256: DigestOf,
) -> list[SyncDecision]:
    """One decision per name on either side that the rules let through, in name order.

    A name only the source has is copied; one on both sides is copied unless it is the same file (same
    size and same SHA-256; with ``size_only``, the same size). A name only the destination has is
    deleted with ``delete``, else left alone (and not reported). Excluded names are neither copied nor
    deleted, as in ``aws s3 sync``.
    """
    sources: Mapping[str, Item] = {item.name: item for item in select(source, rules)}
    dests: Mapping[str, Item] = {item.name: item for item in select(dest, rules)}
    decisions = []
    for name in sorted(set(sources) | set(dests)):
        src = sources.get(name)
        dst = dests.get(name)
        if src is None:
            assert dst is not None
            if delete:
                decisions.append(SyncDecision(name, SyncAction.DELETE, "not in the source", dst.size))
            continue
        if dst is None:
            decisions.append(SyncDecision(name, SyncAction.COPY, "new", src.size))
            continue
        decisions.append(
            _compare(
                name, src, dst, size_only=size_only, source_sha256=source_sha256, dest_sha256=dest_sha256
            )
        )
    return decisions
