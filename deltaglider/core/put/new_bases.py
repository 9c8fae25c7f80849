"""Uploading against a DeltaSpace's several bases (:mod:`deltaglider.core.family.bases`): a delta against
the base the file's fingerprint matches best while it stays under ``DRIFT``; past it the file becomes
a new snapshot (a delta against a full base, hidden, its name a zero-diff delta against it) while that
delta fits ``max_ratio``; past ``max_ratio`` too, it is stored whole under its own name, readable by
any tool, and recorded as a base (its fingerprint) that later uploads may use: a new base that costs
no second copy of the file.

The fingerprints compared are taken on what the delta is made of: a container's decoded stream
(:class:`deltaglider.core.put.private_copy.PrivateCopy`), and every base records the form its own
fingerprint was taken on.
"""

from __future__ import annotations

from deltaglider.core.context import Context
from deltaglider.core.family import bases, known
from deltaglider.core.format import forms
from deltaglider.core.format.layout import base_key
from deltaglider.core.format.metadata import (
    read_field,
)
from deltaglider.core.models import PutSummary
from deltaglider.core.protocol import Pinned
from deltaglider.core.put.encode import encode, ratio_of, zero_diff
from deltaglider.core.put.policy import Role
from deltaglider.core.put.values import Candidate, Encoded, Reference, TooLarge, Upload
from deltaglider.core.put.write import (
    FOUNDING_MIN_SIZE,
    metadata_of,
    put_delta,
    put_file,
    store_delta,
    store_whole,
    summary,
)
from deltaglider.core.rebuild import sources
from deltaglider.core.rebuild.sources import BaseNotFoundError
from deltaglider.errors import StorageError
from deltaglider.ports.storage import ObjectHead


def against_bases(ctx: Context, up: Upload, reference: ObjectHead) -> PutSummary:
    """A delta against the most promising base while it stays under ``DRIFT``; past it, a new base
    (module doc)."""
    candidates = bases.recent(ctx, up.space.bucket, up.space.prefix, reference)
    # Fingerprints are needed to choose among bases, or to record one: not for a lone reference.bin.
    chosen = bases.choose(candidates, up.copy.fingerprint) if len(candidates) > 1 else candidates[0]
    ref = Reference(chosen.key, chosen.sha256, chosen.metadata, chosen.etag)
    drift = min(bases.DRIFT, up.max_ratio)
    with (
        sources.open(ctx, sources.Base(up.space.bucket, (ref.key,), ref.sha256)) as (local, _),
        ctx.scratch() as scratch,
    ):
        made = encode(ctx, up, ref, local, scratch)
        ratio = ratio_of(made, up.size)
        if isinstance(made, Candidate) and ratio <= drift:
            return store_delta(ctx, up, ref, made, chain=[Pinned(ref.key, ref.sha256, ref.metadata, local)])
        if not chosen.is_snapshot:
            return new_base(ctx, up, Pinned(ref.key, ref.sha256, ref.metadata, local), made, ratio=ratio)
    assert chosen.full_key is not None and chosen.full_sha256 is not None  # a snapshot names its full
    full = _full_base(ctx, up.space.bucket, chosen.full_key, chosen.full_sha256)
    if full is None:
        raise BaseNotFoundError(
            f"{ctx.storage.url(up.space.bucket, chosen.full_key)}: a snapshot's reference is gone"
        )
    full_ref = Reference(full.key, chosen.full_sha256, full.metadata, full.etag)
    with (
        sources.open(ctx, sources.Base(up.space.bucket, (full_ref.key,), full_ref.sha256)) as (local, _),
        ctx.scratch() as scratch,
    ):
        against_full = encode(ctx, up, full_ref, local, scratch)
        full_pin = Pinned(full_ref.key, full_ref.sha256, full_ref.metadata, local)
        return new_base(ctx, up, full_pin, against_full, ratio=ratio)


def _full_base(ctx: Context, bucket: str, key: str, sha256: str) -> ObjectHead | None:
    """Where a snapshot's full base is now, looked for where a rebuild looks
    (:func:`~deltaglider.core.rebuild.sources.lookup_order`): under the name the snapshot records or,
    that name having been deleted or uploaded again since, where the protocol kept its content. Only
    a whole object holding that very content counts: a snapshot of a snapshot would be three decodes
    away."""
    for candidate in sources.lookup_order(sources.candidate_keys(key, key), sha256):
        head = ctx.storage.head(bucket, candidate)
        if head is None or read_field(head.metadata, "ref_key"):
            continue
        if (read_field(head.metadata, "file_sha256") or "").lower() == sha256:
            return head
    return None


def new_base(ctx: Context, up: Upload, full: Pinned, made: Encoded, *, ratio: float) -> PutSummary:
    """The file becomes a base: a snapshot (``made``, its delta against the full base ``full``) when
    that fits ``max_ratio``; else it is stored whole, as a base when it is worth one (module doc).
    ``ratio``: the delta/file ratio against the base it drifted from."""
    if isinstance(made, TooLarge):
        reason = f"delta/file ratio {made.ratio:.3f} exceeds max_ratio {up.max_ratio:.3f} against every base"
        # A base must be worth keeping: an archive by its content, or a large file (a small one-off
        # named .zip would otherwise become a base that later uploads weigh).
        worth = up.container is not None or up.size >= FOUNDING_MIN_SIZE
        recorded = up.copy.recorded_fingerprint().to_text() if worth else None
        if recorded is not None:
            known.forget(ctx, up.space.bucket, up.space.prefix)  # the file becomes a base
        return store_whole(ctx, up, reason, delta_ratio=made.ratio, fingerprint=recorded)
    return _snapshot(ctx, up, full, made, ratio=ratio)


def _snapshot(ctx: Context, up: Upload, full: Pinned, made: Candidate, *, ratio: float) -> PutSummary:
    bucket, prefix = up.space.bucket, up.space.prefix
    key = base_key(prefix, up.sha256, snapshot=True)
    meta = metadata_of(
        ctx,
        up,
        Reference(full.key, full.sha256, full.metadata),
        made.size,
        forms.new_stamp(ctx, bucket, None),
        transform=made.transform,
        snapshot_fingerprint=up.copy.recorded_fingerprint().to_text(),
    )
    body_size = made.size
    stored_meta = meta
    known.forget(ctx, bucket, prefix)  # a new base
    if not put_file(ctx, up, key, made.path, meta, role=Role.BASE, if_absent=True):
        existing = ctx.storage.head(bucket, key)
        if existing is None or (read_field(existing.metadata, "file_sha256") or "").lower() != up.sha256:
            raise StorageError(f"{ctx.storage.url(bucket, key)} holds another base than this file")
        body_size = 0  # the same base was stored by another upload of the same content
        stored_meta = dict(existing.metadata)
    base = Reference(key, up.sha256, stored_meta)
    ctx.cache.store(up.sha256, up.file, origin=ctx.storage.url(bucket, key))
    # Nearest first: the snapshot (its content is the file itself), then the full base it was made
    # against (core.protocol).
    chain = [
        Pinned(key, up.sha256, stored_meta, up.file),
        full,
    ]
    with ctx.scratch() as scratch:
        zero = zero_diff(ctx, up, scratch)
        name_key = put_delta(ctx, up, zero, ref=base, zero_diff=True, chain=chain)
    if name_key is None:
        return store_whole(ctx, up, f"{full.key} was replaced while this file was stored against it")
    added = body_size + zero.size
    return summary(
        up,
        name_key,
        f"drifted from its base (delta/file {ratio:.3f}): became a snapshot, a delta against {full.key}",
        stored_size=added,
        delta_size=added,
        delta_ratio=added / up.size,
        reference_hash=full.sha256,
        transform=made.transform,
    )
