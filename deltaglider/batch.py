"""Many files at once: include/exclude filters, version order, recursive removal plans and sync
decisions.

Pure functions over names and sizes, shared by the command line and the SDK: whatever must be read
(listings, a local folder's files, SHA-256 digests) is passed in, so every rule here can be tested
without a store.

Names are relative to the folder being copied, synced or removed, with ``/`` between components
(``app-1.1.zip``, ``sub/app-1.1.zip``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Final, Literal

from deltaglider.core.format.layout import REFERENCE_NAME

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


#: A version where it starts a word (``app-1.2``, ``v10``, ``_2.0``; not the ``3`` of ``python3``), with
#: PEP 440's pre-, post- and development parts when they follow it. Epochs and local versions are not
#: read: their characters compare as text.
_VERSION: Final = re.compile(
    r"(?<![^\W_])[vV]?(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?:[-_.]?(?P<pre>alpha|beta|preview|pre|rc|a|b|c)[-_.]?(?P<pre_n>[0-9]*)(?![^\W_]))?"
    r"(?:-(?P<post_implicit>[0-9]+)(?![^\W_])|[-_.]?(?P<post>post|rev|r)[-_.]?(?P<post_n>[0-9]*)(?![^\W_]))?"
    r"(?:[-_.]?(?P<dev>dev)[-_.]?(?P<dev_n>[0-9]*)(?![^\W_]))?",
    re.IGNORECASE,
)
_DIGITS: Final = re.compile(r"[0-9]+")
_PRE_RANK: Final = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
#: Where a version without a pre-release sorts among its pre-releases: after all of them.
_FINAL: Final = (3, 0)

#: One piece of a name: a version (kind 0) or text (kind 1), with PEP 440's order for versions:
#: ``(kind, release, pre-release, post-release, development release, text)``.
_Piece = tuple[int, tuple[int, ...], tuple[int, int], int, tuple[int, int], str]
VersionKey = tuple[tuple[_Piece, ...], str]


def _number(text: str | None) -> int:
    return int(text) if text else 0


def _version_piece(match: re.Match[str]) -> _Piece:
    release = tuple(int(part) for part in match["release"].split("."))
    while release and release[-1] == 0:
        release = release[:-1]  # 1.0 is 1.0.0
    post = (
        _number(match["post_implicit"] or match["post_n"]) if match["post_implicit"] or match["post"] else -1
    )
    if match["pre"]:
        pre = (_PRE_RANK[match["pre"].lower()], _number(match["pre_n"]))
    elif match["dev"] and post < 0:
        pre = (-1, 0)  # 1.0.dev1 comes before 1.0a1
    else:
        pre = _FINAL
    dev = (0, _number(match["dev_n"])) if match["dev"] else (1, 0)
    return (0, release, pre, post, dev, "")


def _text_pieces(text: str) -> list[_Piece]:
    """Text with the digit runs inside words compared as numbers (``x86`` before ``x100``)."""
    pieces: list[_Piece] = []
    at = 0
    for match in _DIGITS.finditer(text):
        if match.start() > at:
            pieces.append((1, (), _FINAL, -1, (1, 0), text[at : match.start()].casefold()))
        pieces.append((0, (int(match[0]),), _FINAL, -1, (1, 0), ""))
        at = match.end()
    if at < len(text):
        pieces.append((1, (), _FINAL, -1, (1, 0), text[at:].casefold()))
    return pieces


def version_key(name: str) -> VersionKey:
    """The sort key of natural version order, the order in which a family's files were released.

    Versions are compared as PEP 440 orders them wherever a name holds one: ``app-1.2.zip`` before
    ``app-1.10.zip``, ``v2`` before ``v10``, and ``1.0.dev1`` < ``1.0a1`` < ``1.0b2`` < ``1.0rc1`` <
    ``1.0`` = ``1.0.0`` < ``1.0.post1`` (``1.0-1``) < ``1.0.1``. A version starts a word: a digit run
    right after a letter (``python3``, ``x86``) is compared as a number, not read as a version. Text is
    compared without regard to case, a version sorts before text at the same place, and names that still
    tie are ordered by their characters.
    """
    pieces: list[_Piece] = []
    at = 0
    for match in _VERSION.finditer(name):
        pieces += _text_pieces(name[at : match.start()])
        pieces.append(_version_piece(match))
        at = match.end()
    pieces += _text_pieces(name[at:])
    return tuple(pieces), name


def in_version_order(names: Iterable[str]) -> list[str]:
    """``names`` sorted by :func:`version_key` (retention's and seeding's order)."""
    return sorted(names, key=version_key)


def seed_indexes(names: Sequence[str | None]) -> tuple[list[int], list[int]]:
    """Which items of a batch of uploads go first: for each folder, the index of the name first in
    version order (its seed, which becomes a new folder's reference); then all the other indexes,
    names in version order, then the items named None (which seed nothing), in their given order."""
    seeds: dict[str, int] = {}
    named = sorted(
        (i for i, name in enumerate(names) if name is not None), key=lambda i: version_key(names[i] or "")
    )
    for index in named:
        seeds.setdefault(folder_of(names[index] or ""), index)
    first = set(seeds.values())
    rest = [i for i in named if i not in first] + [i for i, name in enumerate(names) if name is None]
    return sorted(first, key=lambda i: version_key(names[i] or "")), rest


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
