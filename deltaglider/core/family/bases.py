"""A DeltaSpace's bases, and the one each upload is encoded against.

With one reference forever, a family that drifts from its first release ends up stored whole. So a
DeltaSpace may hold several bases besides ``reference.bin``:

- a *snapshot* (``reference-<sha>.bin.delta``): an upload whose delta against the base it was given
  passed :data:`DRIFT`, stored as a delta against a full base; the uploaded name gets a zero-diff
  delta against it;
- a file stored whole under its own name (its delta against the full base also passed ``max_ratio``)
  that records a fingerprint: an archive or a large file (core.put.new_bases);
- a further *full reference* (``reference-<sha>.bin``): content kept for the deltas that need it when
  its file was deleted or overwritten, or a base was removed under an upload (core.protocol).

Every base is a full one or one decode away from one, so any file rebuilds with at most two decodes.

Which base an upload uses: the most recent :data:`RECENT` bases (by the listing's dates) and
``reference.bin``, ranked by the estimate their fingerprints (``dg-fingerprint``, see
:mod:`deltaglider.core.family.fingerprint`) give against the file's fingerprint taken on the same form
(a container's decoded stream, or its bytes); a base without one, or whose form the file has none
of, ranks after those whose estimate is below :data:`UNKNOWN_ESTIMATE`. Bases are only ever added
here; removing them is for retention and ``remove_unused_bases``, through :mod:`deltaglider.core.protocol`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from deltaglider.core.context import Context
from deltaglider.core.family import known
from deltaglider.core.family.fingerprint import Fingerprint, Form, estimate_delta_ratio
from deltaglider.core.format.layout import (
    DELTA_SUFFIX,
    REFERENCE_NAME,
    is_base_name,
    is_helper_key,
    is_marker_name,
    join_key,
    reference_key,
    split_key,
)
from deltaglider.core.format.metadata import read_field
from deltaglider.errors import MetadataError
from deltaglider.ports.storage import ObjectHead

#: Past this delta/file ratio against the chosen base, the upload becomes a new base: the value that
#: stored the least, or near it, on the families of bench/RESULTS.md ("Re-baselining").
DRIFT: Final = 0.15
#: How many of the newest bases an upload considers, besides ``reference.bin``.
RECENT: Final = 4
#: How many of the newest candidates an upload asks (HEADs) to find those bases.
HEADS: Final = 2 * RECENT
#: What a base without a fingerprint is assumed to give.
UNKNOWN_ESTIMATE: Final = 0.5


@dataclass(frozen=True)
class Base:
    """A base as its HEAD describes it."""

    key: str
    sha256: str
    metadata: Mapping[str, str]
    fingerprint: Fingerprint | None
    full_key: str | None  # a snapshot's full reference; None for a full reference
    full_sha256: str | None
    etag: str | None = None  # the version the HEAD described

    @property
    def is_snapshot(self) -> bool:
        return self.full_key is not None


def describe(head: ObjectHead) -> Base | None:
    """The base behind ``head``, or None if its metadata does not make it a usable one."""
    sha = read_field(head.metadata, "file_sha256")
    if not sha:
        return None
    text = read_field(head.metadata, "fingerprint")
    try:
        fingerprint = Fingerprint.from_text(text) if text else None
    except MetadataError:
        fingerprint = None
    full_key = read_field(head.metadata, "ref_key")
    full_sha = read_field(head.metadata, "ref_sha256")
    if full_key is not None and (not full_sha or full_key == head.key):
        return None
    if full_key is not None and split_key(full_key)[0] != split_key(head.key)[0]:
        return None  # a snapshot's full base is in its own folder; one naming another is not read
    return Base(
        head.key,
        sha.lower(),
        head.metadata,
        fingerprint,
        full_key,
        full_sha.lower() if full_sha else None,
        head.etag,
    )


def listed(ctx: Context, bucket: str, prefix: str) -> list[ObjectHead]:
    """The DeltaSpace's base objects as a listing gives them (no metadata), ``reference.bin`` included."""
    return [
        obj
        for obj in ctx.storage.list(bucket, join_key(prefix, "reference"), recursive=False)
        if not obj.is_prefix and is_base_name(split_key(obj.key)[1])
    ]


def _may_be_base(name: str) -> bool:
    """From its name alone: a further base, or a file that may be stored whole as one (a delta's
    name is never one)."""
    if name == REFERENCE_NAME or is_marker_name(name):
        return False
    return is_base_name(name) or not name.endswith(DELTA_SUFFIX)


def recent(ctx: Context, bucket: str, prefix: str, reference: ObjectHead) -> list[Base]:
    """``reference.bin`` (as ``reference`` describes it) and the :data:`RECENT` newest other bases:
    further full references, snapshots, and files stored whole that record a fingerprint
    (core.put.new_bases). At most :data:`HEADS` of the newest candidates are asked, so a folder of many
    files stored whole for other reasons costs no more than that. What the client listed less than
    :data:`deltaglider.core.family.known.KNOWN_FOR` ago beside the same ``reference.bin`` is used
    again (:mod:`deltaglider.core.family.known`)."""
    memo = known.known(ctx, bucket, prefix)
    if memo is not None and memo.bases is not None and memo.reference.etag == reference.etag:
        return list(memo.bases)
    found = _recent(ctx, bucket, prefix, reference)
    known.remember(ctx, bucket, prefix, reference, found)
    return found


def reference_of(ctx: Context, bucket: str, prefix: str) -> ObjectHead | None:
    """``reference.bin``'s HEAD, or what the client learned of it less than ``KNOWN_FOR`` ago."""
    memo = known.known(ctx, bucket, prefix)
    if memo is not None:
        return memo.reference
    head = ctx.storage.head(bucket, reference_key(prefix))
    if head is not None:
        known.remember(ctx, bucket, prefix, head)
    return head


def _recent(ctx: Context, bucket: str, prefix: str, reference: ObjectHead) -> list[Base]:
    others = [
        obj
        for obj in ctx.storage.list(bucket, join_key(prefix, ""), recursive=False)
        if not obj.is_prefix and _may_be_base(split_key(obj.key)[1])
    ]
    others.sort(
        key=lambda obj: (obj.last_modified.timestamp() if obj.last_modified else 0.0, obj.key), reverse=True
    )
    newest_first: list[Base] = []
    for obj in others[:HEADS]:
        if len(newest_first) == RECENT:
            break
        head = ctx.storage.head(bucket, obj.key)
        base = describe(head) if head is not None and _is_base(head) else None
        if base is not None:
            newest_first.append(base)
    first = describe(reference)
    # Oldest first, so that in choose() a tie goes to the newer base.
    return ([first] if first is not None else []) + newest_first[::-1]


def _is_base(head: ObjectHead) -> bool:
    """A hidden base, or a file stored whole as one (its fingerprint says so)."""
    if is_base_name(split_key(head.key)[1]):
        return True
    return read_field(head.metadata, "compression") == "none" and bool(
        read_field(head.metadata, "fingerprint")
    )


#: The file's fingerprint taken on a form (None when it has none in that form: a file that is no
#: container has no decoded stream).
Target = Callable[[Form], Fingerprint | None]


def choose(bases: list[Base], target: Target) -> Base:
    """The base whose fingerprint promises the smallest delta, each compared with the file's
    fingerprint in the base's own form; the newest wins a tie."""
    best, best_estimate = bases[0], _estimate(bases[0], target)
    for base in bases[1:]:
        estimate = _estimate(base, target)
        if estimate <= best_estimate:
            best, best_estimate = base, estimate
    return best


def _estimate(base: Base, target: Target) -> float:
    if base.fingerprint is None:
        return UNKNOWN_ESTIMATE
    taken = target(base.fingerprint.form)
    return UNKNOWN_ESTIMATE if taken is None else estimate_delta_ratio(base.fingerprint, taken)


def removal_order(ctx: Context, bucket: str, prefix: str) -> list[str]:
    """The names of the DeltaSpace's bases as a lookup finds them, in an order that removes what
    depends on a base before the base: snapshots, then further full references, ``reference.bin``
    last."""
    found = [split_key(obj.key)[1] for obj in listed(ctx, bucket, prefix)]
    snapshots = sorted(name.removesuffix(DELTA_SUFFIX) for name in found if name.endswith(DELTA_SUFFIX))
    fulls = sorted(name for name in found if not name.endswith(DELTA_SUFFIX) and name != REFERENCE_NAME)
    return snapshots + fulls + ([REFERENCE_NAME] if REFERENCE_NAME in found else [])


def spaces_under(ctx: Context, bucket: str, prefix: str) -> list[str]:
    """The prefixes at or below ``prefix`` that hold a base or a removal marker, in key order: every
    DeltaSpace there, those whose files are all gone included."""
    found = {
        split_key(obj.key)[0]
        for obj in ctx.storage.list(bucket, join_key(prefix, ""), recursive=True)
        if not obj.is_prefix
        and not is_helper_key(obj.key)  # a kept version's key ends in reference.bin, and is no base
        and (is_base_name(split_key(obj.key)[1]) or is_marker_name(split_key(obj.key)[1]))
    }
    return sorted(found)
