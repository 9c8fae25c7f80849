"""Uploading one file into a DeltaSpace: as its reference, as a delta, or whole.

The upload works on a private copy of the file (:mod:`deltaglider.core.put.private_copy`), so the
SHA-256 it records is that of the bytes it stores; its head is sniffed once, for container and
compressor alike. The upload carries its own options (tags, storage class...), which every write
applies by the object's role (:mod:`deltaglider.core.put.policy`).

Deleting a delta never removes its base, and every write that depends on a base re-checks it
afterwards: :mod:`deltaglider.core.protocol` is the one protocol for every removal or rewrite,
uploads' included.
"""

from __future__ import annotations

import os
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

from deltaglider.core.context import Context
from deltaglider.core.family import bases, known
from deltaglider.core.format.layout import (
    REFERENCE_NAME,
    REMOVING_INFIX,
    is_base_name,
    is_delta_candidate,
    is_marker_name,
    reference_key,
)
from deltaglider.core.format.metadata import (
    parse_created_at,
    read_field,
    reference_metadata,
)
from deltaglider.core.models import DeltaSpace, PutSummary
from deltaglider.core.protocol import Pinned
from deltaglider.core.put import private_copy
from deltaglider.core.put.encode import encode, zero_diff
from deltaglider.core.put.new_bases import against_bases
from deltaglider.core.put.policy import Role
from deltaglider.core.put.values import Reference, TooLarge, Upload
from deltaglider.core.put.write import (
    FOUNDING_MIN_SIZE,
    put_delta,
    put_file,
    store_delta,
    store_whole,
    summary,
)
from deltaglider.core.rebuild import sources
from deltaglider.core.rebuild.sources import BaseUnavailableError
from deltaglider.errors import InvalidURLError
from deltaglider.ports.storage import ObjectHead, ProgressCallback, PutOptions
from deltaglider.transforms.container import CONTAINERS
from deltaglider.transforms.sniff import sniff_file
from deltaglider.urls import check_component


def put(
    ctx: Context,
    file: Path,
    space: DeltaSpace,
    *,
    max_ratio: float,
    name: str | None = None,
    progress: ProgressCallback | None = None,
    created_at: datetime | None = None,
    replaces: ObjectHead | None = None,
    options: PutOptions | None = None,
) -> PutSummary:
    """Stores ``file`` under ``name`` in ``space``. A user's upload replaces whatever the name holds;
    with ``replaces`` (re-packing) the upload is a rewrite of that version, which raises
    :class:`deltaglider.core.put.write.SupersededError` when the name was written or deleted since.
    ``options``: how the upload's objects are stored, by role (:mod:`deltaglider.core.put.policy`)."""
    started = time.monotonic()
    file = Path(file)
    name = file.name if name is None else name
    check_component(name, "stored name")
    if "/" in name:
        raise InvalidURLError(f"stored name {name!r} must not contain '/'")
    if is_base_name(name) and name != REFERENCE_NAME:
        raise InvalidURLError(f"stored name {name!r} is reserved for the DeltaSpace's bases")
    if is_marker_name(name):
        raise InvalidURLError(f"stored name {name!r} is reserved: {REMOVING_INFIX!r} marks removals")
    with ctx.scratch() as scratch:
        path = scratch / "file"
        size, sha256 = private_copy.take(file, path, ctx.hasher, progress)
        copy = private_copy.PrivateCopy(path, size, sha256, decodes=not ctx.original_compatible)
        when = ctx.clock.now() if created_at is None else created_at
        made = (
            _source_mtime(file)
            if replaces is None
            else parse_created_at(read_field(replaces.metadata, "source_mtime"))
        )
        up = Upload(
            copy,
            file,
            space,
            name,
            max_ratio,
            # The file's bytes were counted as they were read; the store's writes still report
            # each block (a cancelled batch stops there: core.transfer), counting nothing more.
            None if progress is None else _blocks_only(progress),
            when,
            source_mtime=made,
            replaces=replaces,
            options=options or PutOptions(),
        )
        stored = _decide_again_if_gone(ctx, up)
    _count_put(ctx, stored, size, time.monotonic() - started)
    ctx.logger.info(
        "stored",
        operation=stored.operation,
        key=f"{space.bucket}/{stored.key}",
        size=size,
        stored=stored.stored_size,
        reason=stored.reason,
    )
    return stored


def _count_put(ctx: Context, stored: PutSummary, size: int, seconds: float) -> None:
    """The upload's metrics (the names are listed in :mod:`deltaglider.ports.metrics`)."""
    operation = stored.operation
    ctx.metrics.increment("put", operation=operation)
    ctx.metrics.increment("put.bytes", size, operation=operation)
    ctx.metrics.increment("put.stored_bytes", stored.stored_size, operation=operation)
    # A counter never goes down: the base a first file founds can add more than the file.
    ctx.metrics.increment("put.saved_bytes", max(0, size - stored.stored_size), operation=operation)
    ctx.metrics.timing("put.seconds", seconds, operation=operation)


def _blocks_only(progress: ProgressCallback) -> ProgressCallback:
    return lambda count: progress(0)


def _source_mtime(file: Path) -> datetime | None:
    """When the user's file was last modified (None for a pipe or a device: they record no such time)."""
    try:
        st = os.stat(file)
    except OSError:
        return None
    return datetime.fromtimestamp(st.st_mtime, UTC) if stat.S_ISREG(st.st_mode) else None


#: How often an upload chooses its base again when the one it chose was removed before it was read.
_DECIDE_ROUNDS = 3


def _decide_again_if_gone(ctx: Context, up: Upload) -> PutSummary:
    for attempt in range(1, _DECIDE_ROUNDS + 1):
        try:
            return _decide(ctx, up)
        except BaseUnavailableError:
            known.forget(ctx, up.space.bucket, up.space.prefix)
            if attempt == _DECIDE_ROUNDS:
                raise
            ctx.logger.info("the base chosen was removed or replaced before it was read; choosing again")
    raise AssertionError("unreachable")  # pragma: no cover


def _decide(ctx: Context, up: Upload) -> PutSummary:
    whole_reason = _whole_by_content(ctx, up)
    if whole_reason is not None:
        return store_whole(ctx, up, whole_reason)
    if up.size == 0:
        return store_whole(ctx, up, "empty file")
    if up.max_ratio == 0:
        # No delta can be smaller than 0 bytes: deltas are off, so the file does not start a reference.
        return store_whole(ctx, up, "max_ratio is 0: deltas are off")
    ref_key = reference_key(up.space.prefix)
    head = bases.reference_of(ctx, up.space.bucket, up.space.prefix)
    if head is None and not _may_found(ctx, up):
        return store_whole(ctx, up, "a small file that is no archive does not start a DeltaSpace's reference")
    if head is None:
        first = _try_first_file(ctx, up, ref_key)
        if first is not None:
            return first
        ctx.logger.info("another writer created the reference first; storing a delta against it", key=ref_key)
        head = ctx.storage.head(up.space.bucket, ref_key)
        if head is None:  # and removed since: the upload chooses again
            raise BaseUnavailableError(
                f"{ctx.storage.url(up.space.bucket, ref_key)} was created by another writer and then vanished"
            )
    ref_sha = read_field(head.metadata, "file_sha256")
    if not ref_sha:
        return store_whole(ctx, up, f"{ref_key} carries no SHA-256, so it cannot serve as a reference")
    if ctx.original_compatible:
        return _against_reference(ctx, up, Reference(ref_key, ref_sha.lower(), head.metadata, head.etag))
    return against_bases(ctx, up, head)


def _whole_by_content(ctx: Context, up: Upload) -> str | None:
    """Why the file is stored whole whatever the DeltaSpace holds, or None if it may make a delta.

    The original picks by extension and stores compressed content whole (its xdelta3 would misread a
    delta against it). Otherwise content decides: gzip, zip, xz, ar and bzip2 are decoded, and anything
    else a delta does not pay for is stored whole by the ratio cap.
    """
    compressor = up.copy.head.compressor
    if ctx.original_compatible:
        if not is_delta_candidate(up.name):
            return f"{up.name!r} is not a delta candidate by its extension"
        if compressor is not None:
            return (
                f"content is {compressor}-compressed, so stored whole: the original's xdelta3 would misread "
                "a delta against it"
            )
    elif compressor is not None and compressor not in CONTAINERS:
        return f"content is {compressor}-compressed, which no delta can see into"
    return None


def _may_found(ctx: Context, up: Upload) -> bool:
    """Whether the file may become the reference of a DeltaSpace that has none. With transforms on,
    any uncompressed file may be diffed against a reference, but only an archive (by name or content)
    or a large file starts one: a README that came first would serve none of the releases after it."""
    if ctx.original_compatible or is_delta_candidate(up.name):
        return True
    return up.container is not None or up.size >= FOUNDING_MIN_SIZE


def _try_first_file(ctx: Context, up: Upload, ref_key: str) -> PutSummary | None:
    """Makes the file the reference, unless another writer's reference got there first (None). Like
    the original, also writes its zero-diff delta so that the file can be fetched (and listed) under
    its own name; that delta is made and checked before anything is stored."""
    with ctx.scratch() as scratch:
        zero = zero_diff(ctx, up, scratch)
        meta = reference_metadata(
            tool=ctx.tool_version,
            source_name=up.name,
            sha256=up.sha256,
            created_at=up.created_at,
            fingerprint=None if ctx.original_compatible else up.copy.recorded_fingerprint().to_text(),
        )
        known.forget(ctx, up.space.bucket, up.space.prefix)
        if not put_file(ctx, up, ref_key, up.file, meta, role=Role.BASE, if_absent=True):
            return None
        ref = Reference(ref_key, up.sha256, meta)
        ctx.cache.store(up.sha256, up.file, origin=ctx.storage.url(up.space.bucket, ref_key))
        chain = [Pinned(ref_key, up.sha256, meta, up.file)]
        if put_delta(ctx, up, zero, ref=ref, zero_diff=True, chain=chain) is None:
            return store_whole(ctx, up, "the reference this file became was replaced by another one")
    return summary(
        up,
        ref_key,
        "first file of the DeltaSpace: became its reference",
        stored_size=up.size + zero.size,
        delta_size=zero.size,
        reference_hash=up.sha256,
        whole=True,
    )


def _against_reference(ctx: Context, up: Upload, ref: Reference) -> PutSummary:
    """The original's scheme: a delta against ``reference.bin``, or the file whole."""
    with sources.open(ctx, sources.Base(up.space.bucket, (ref.key,), ref.sha256)) as (reference, _):
        compressor = sniff_file(reference)
        if compressor is not None:  # only the original's scheme comes here
            return store_whole(
                ctx,
                up,
                f"the DeltaSpace's reference is {compressor}-compressed, which the original's xdelta3 "
                "would decompress when decoding: no delta is made against it",
            )
        with ctx.scratch() as scratch:
            made = encode(ctx, up, ref, reference, scratch)
            if isinstance(made, TooLarge):
                return store_whole(
                    ctx,
                    up,
                    f"delta/file ratio {made.ratio:.3f} exceeds max_ratio {up.max_ratio:.3f}",
                    delta_ratio=made.ratio,
                )
            return store_delta(
                ctx, up, ref, made, chain=[Pinned(ref.key, ref.sha256, ref.metadata, reference)]
            )
