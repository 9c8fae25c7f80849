"""Uploading against a DeltaSpace's several bases (issue 13, :mod:`deltaglider.core.bases`): a delta
against the base the file's fingerprint matches best while it stays under ``DRIFT``; past it the file
becomes a new snapshot, or a new full reference, and its name a zero-diff delta against it.
"""

from __future__ import annotations

from collections.abc import Mapping

from deltaglider.core import bases, forms
from deltaglider.core.context import Context
from deltaglider.core.fingerprint import Fingerprint, fingerprint
from deltaglider.core.get import snapshot_rebuilder
from deltaglider.core.layout import base_key
from deltaglider.core.metadata import (
    delta_metadata,
    read_field,
    reference_metadata,
)
from deltaglider.core.models import PutSummary
from deltaglider.core.references import reference_file
from deltaglider.core.upload import (
    FOUNDING_MIN_SIZE,
    Delta,
    Reference,
    Upload,
    choose_delta,
    keep_reference,
    put_delta,
    store_delta,
    store_whole,
    zero_diff,
)
from deltaglider.errors import StorageError
from deltaglider.ports.storage import ObjectHead


def against_bases(ctx: Context, up: Upload, reference: ObjectHead) -> PutSummary:
    """Issue 13's scheme (core.bases): a delta against the most promising base while it stays under
    ``DRIFT``; past it, the file becomes a new snapshot, or a new full reference."""
    candidates = bases.recent(ctx, up.space.bucket, up.space.prefix, reference)
    # The fingerprint is needed to choose among bases, or to record one: not for a lone reference.bin.
    target = fingerprint(up.file) if len(candidates) > 1 else None
    chosen = bases.choose(candidates, target) if target is not None else candidates[0]
    ref = Reference(chosen.key, chosen.sha256, chosen.metadata)
    drift = min(bases.DRIFT, up.max_ratio)
    rebuild = snapshot_rebuilder(ctx, up.space.bucket, use_cache=True)
    with (
        reference_file(ctx, up.space.bucket, [ref.key], ref.sha256, rebuild=rebuild) as local,
        ctx.scratch() as scratch,
    ):
        made = choose_delta(ctx, up, ref, local, scratch)
        if not isinstance(made, float) and made.size / up.size <= drift:
            return store_delta(ctx, up, ref, made, restore=None if chosen.is_snapshot else local)
        ratio = made if isinstance(made, float) else made.size / up.size
        if not chosen.is_snapshot:
            return new_base(ctx, up, ref, made, target, ratio=ratio)
    assert chosen.full_key is not None and chosen.full_sha256 is not None  # a snapshot names its full
    full = ctx.storage.head(up.space.bucket, chosen.full_key)
    if full is None:
        raise StorageError(
            f"{ctx.storage.url(up.space.bucket, chosen.full_key)}: a snapshot's reference is gone"
        )
    full_ref = Reference(chosen.full_key, chosen.full_sha256, full.metadata)
    with (
        reference_file(ctx, up.space.bucket, [full_ref.key], full_ref.sha256) as local,
        ctx.scratch() as scratch,
    ):
        against_full = choose_delta(ctx, up, full_ref, local, scratch)
        return new_base(ctx, up, full_ref, against_full, target, ratio=ratio)


def new_base(
    ctx: Context,
    up: Upload,
    full: Reference,
    made: Delta | float,
    target: Fingerprint | None,
    *,
    ratio: float,
) -> PutSummary:
    """The file becomes a base: a snapshot (``made``, its delta against ``full``) when that fits
    ``max_ratio``, else a full reference; its name gets a zero-diff delta against the new base."""
    bucket, prefix = up.space.bucket, up.space.prefix
    # A further full reference must be worth keeping: an archive by its content, or a large file (a
    # small one-off named .zip would otherwise become a base that later uploads weigh).
    if isinstance(made, float) and up.container is None and up.size < FOUNDING_MIN_SIZE:
        return store_whole(
            ctx, up, f"delta/file ratio {made:.3f} exceeds max_ratio {up.max_ratio:.3f}", delta_ratio=made
        )
    snapshot = not isinstance(made, float)
    recorded = (target or fingerprint(up.file)).to_text()
    key = base_key(prefix, up.sha256, snapshot=snapshot)
    now = up.created_at
    if isinstance(made, float):
        meta = reference_metadata(
            tool=ctx.tool_version,
            source_name=up.name,
            sha256=up.sha256,
            created_at=now,
            fingerprint=recorded,
        )
        body, body_size = up.file, up.size
        reason = f"drifted from its base (delta/file {ratio:.3f}): became a new full reference"
    else:
        meta = delta_metadata(
            tool=ctx.tool_version,
            original_name=up.name,
            sha256=up.sha256,
            size=up.size,
            created_at=now,
            ref_key=full.key,
            ref_sha256=full.sha256,
            delta_size=made.size,
            write_stamp=forms.new_stamp(ctx, bucket, None),
            transform=made.transform,
            snapshot_fingerprint=recorded,
        )
        body, body_size = made.path, made.size
        reason = (
            f"drifted from its base (delta/file {ratio:.3f}): became a snapshot, a delta against {full.key}"
        )
    stored_meta: Mapping[str, str] = meta
    if not ctx.storage.put_file_if_absent(bucket, key, body, meta, up.progress):
        existing = ctx.storage.head(bucket, key)
        if existing is None or (read_field(existing.metadata, "file_sha256") or "").lower() != up.sha256:
            raise StorageError(f"{ctx.storage.url(bucket, key)} holds another base than this file")
        body_size = 0  # the same base was stored by another upload of the same content
        stored_meta = existing.metadata
    base = Reference(key, up.sha256, stored_meta)
    ctx.cache.store(up.sha256, up.file, origin=ctx.storage.url(bucket, key))
    with ctx.scratch() as scratch:
        zero, zero_size = zero_diff(ctx, up, scratch)
        name_key = put_delta(ctx, up, zero, delta_size=zero_size, ref=base, zero_diff=True)
    if not keep_reference(ctx, up, base, None):
        return store_whole(ctx, up, f"{key} vanished while this file was stored against it")
    return PutSummary(
        operation="PUT" if not snapshot else "PUT_DELTA",
        bucket=bucket,
        key=key if not snapshot else name_key,
        file_size=up.size,
        file_hash=up.sha256,
        delta_size=zero_size if not snapshot else body_size + zero_size,
        delta_ratio=ratio if not snapshot else (body_size + zero_size) / up.size,
        reference_hash=up.sha256 if not snapshot else full.sha256,
        stored_size=body_size + zero_size,
        reason=reason,
        transform=made.transform.container if not isinstance(made, float) and made.transform else None,
    )
