"""Uploading one file into a DeltaSpace: as its reference, as a delta, or whole.

The upload works on a private copy of the file (:mod:`deltaglider.core.snapshot`), so the SHA-256 it
records is that of the bytes it stores.

The reference protocol, shared with :mod:`deltaglider.core.delete`: deleting a delta never removes the
reference; a reference is removed only when asked for by name. To close the window in which a
reference is removed while an upload encodes against it, each side re-checks after its own write:

- the upload, after storing its delta, heads the reference; if it vanished, it puts back the copy it
  encoded against (``put_file_if_absent``, with the metadata it read); if another reference took its
  place, the delta cannot be rebuilt, so the file is stored whole instead;
- the remover, after removing the reference, lists the deltas made against it again and, if one
  appeared, puts the reference back from the copy it kept.

Whichever of the delta's write and the remover's second listing comes first, one of the two sees the
other. A name's two forms (whole, delta) are settled by :mod:`deltaglider.core.forms`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from deltaglider.core import bases, forms, snapshot, transformed
from deltaglider.core.context import Context
from deltaglider.core.fingerprint import Fingerprint, fingerprint
from deltaglider.core.get import snapshot_rebuilder
from deltaglider.core.layout import (
    REFERENCE_NAME,
    base_key,
    delta_key,
    is_base_name,
    is_delta_candidate,
    other_form_key,
    reference_key,
    whole_key,
)
from deltaglider.core.magic import sniff_file
from deltaglider.core.metadata import (
    Transform,
    delta_metadata,
    read_field,
    reference_metadata,
    whole_metadata,
)
from deltaglider.core.models import DeltaSpace, PutSummary
from deltaglider.core.references import reference_file
from deltaglider.errors import CodecError, InvalidURLError, StorageError
from deltaglider.ports.storage import ObjectHead, ProgressCallback
from deltaglider.transforms.container import CONTAINERS
from deltaglider.transforms.sniff import detect
from deltaglider.urls import check_component

#: A delta of decoded content is stored only when at most this share of the plain delta's size.
TRANSFORM_GAIN: Final = 0.75

#: Below this, a file that is no archive is stored whole rather than start a reference: the most a
#: delta could save on it is small, and a poor reference costs every later upload.
FOUNDING_MIN_SIZE: Final = 1 << 20


@dataclass(frozen=True)
class _Upload:
    file: Path  # the private copy; ``source`` is the user's file, named in messages
    source: Path
    space: DeltaSpace
    name: str
    size: int
    sha256: str
    max_ratio: float
    progress: ProgressCallback | None
    created_at: datetime  # recorded as dg-created-at: now, or what re-packing carries over


@dataclass(frozen=True)
class _Reference:
    key: str
    sha256: str
    metadata: Mapping[str, str]


def put(
    ctx: Context,
    file: Path,
    space: DeltaSpace,
    *,
    max_ratio: float,
    name: str | None = None,
    progress: ProgressCallback | None = None,
    created_at: datetime | None = None,
) -> PutSummary:
    started = time.monotonic()
    file = Path(file)
    name = file.name if name is None else name
    check_component(name, "stored name")
    if "/" in name:
        raise InvalidURLError(f"stored name {name!r} must not contain '/'")
    if is_base_name(name) and name != REFERENCE_NAME:
        raise InvalidURLError(f"stored name {name!r} is reserved for the DeltaSpace's bases")
    with ctx.scratch() as scratch:
        copy = scratch / "file"
        size, sha256 = snapshot.take(file, copy, ctx.hasher)
        when = ctx.clock.now() if created_at is None else created_at
        up = _Upload(copy, file, space, name, size, sha256, max_ratio, progress, when)
        summary = _decide(ctx, up)
    ctx.metrics.timing("put.seconds", time.monotonic() - started, operation=summary.operation)
    ctx.metrics.increment("put", operation=summary.operation)
    ctx.logger.info(
        "stored",
        operation=summary.operation,
        key=f"{space.bucket}/{summary.key}",
        size=size,
        stored=summary.stored_size,
        reason=summary.reason,
    )
    return summary


def _decide(ctx: Context, up: _Upload) -> PutSummary:
    whole_reason = _whole_by_content(ctx, up)
    if whole_reason is not None:
        return _store_whole(ctx, up, whole_reason)
    if up.size == 0:
        return _store_whole(ctx, up, "empty file")
    if up.max_ratio == 0:
        # No delta can be smaller than 0 bytes: deltas are off, so the file does not start a reference.
        return _store_whole(ctx, up, "max_ratio is 0: deltas are off")
    ref_key = reference_key(up.space.prefix)
    head = ctx.storage.head(up.space.bucket, ref_key)
    if head is None and not _may_found(ctx, up):
        return _store_whole(
            ctx, up, "a small file that is no archive does not start a DeltaSpace's reference"
        )
    if head is None:
        first = _try_first_file(ctx, up, ref_key)
        if first is not None:
            return first
        ctx.logger.info("another writer created the reference first; storing a delta against it", key=ref_key)
        head = ctx.storage.head(up.space.bucket, ref_key)
        if head is None:
            raise StorageError(
                f"{ctx.storage.url(up.space.bucket, ref_key)} was created by another writer and then vanished"
            )
    ref_sha = read_field(head.metadata, "file_sha256")
    if not ref_sha:
        return _store_whole(ctx, up, f"{ref_key} carries no SHA-256, so it cannot serve as a reference")
    if ctx.original_compatible:
        return _against_reference(ctx, up, _Reference(ref_key, ref_sha.lower(), head.metadata))
    return _against_bases(ctx, up, head)


def _whole_by_content(ctx: Context, up: _Upload) -> str | None:
    """Why the file is stored whole whatever the DeltaSpace holds, or None if it may make a delta.

    The original picks by extension and stores compressed content whole (its xdelta3 would misread a
    delta against it). With archive transforms on, content decides: gzip and zip are decoded, and
    anything else a delta does not pay for is stored whole by the ratio cap.
    """
    compressor = sniff_file(up.file)
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


def _may_found(ctx: Context, up: _Upload) -> bool:
    """Whether the file may become the reference of a DeltaSpace that has none. With transforms on,
    any uncompressed file may be diffed against a reference, but only an archive (by name or content)
    or a large file starts one: a README that came first would serve none of the releases after it."""
    if ctx.original_compatible or is_delta_candidate(up.name):
        return True
    return detect(up.file) is not None or up.size >= FOUNDING_MIN_SIZE


def _try_first_file(ctx: Context, up: _Upload, ref_key: str) -> PutSummary | None:
    """Makes the file the reference, unless another writer's reference got there first (None). Like
    the original, also writes its zero-diff delta so that the file can be fetched (and listed) under
    its own name; that delta is made and checked before anything is stored."""
    with ctx.scratch() as scratch:
        delta = scratch / "delta"
        delta_size = ctx.encode(up.file, up.file, delta)
        _self_check(ctx, up.file, delta, scratch, up)
        meta = reference_metadata(
            tool=ctx.tool_version,
            source_name=up.name,
            sha256=up.sha256,
            created_at=up.created_at,
            fingerprint=None if ctx.original_compatible else fingerprint(up.file).to_text(),
        )
        if not ctx.storage.put_file_if_absent(up.space.bucket, ref_key, up.file, meta, up.progress):
            return None
        ref = _Reference(ref_key, up.sha256, meta)
        ctx.cache.store(up.sha256, up.file)
        _put_delta(ctx, up, delta, delta_size=delta_size, ref=ref, zero_diff=True)
        if not _keep_reference(ctx, up, ref, up.file):
            return _store_whole(ctx, up, "the reference this file became was replaced by another one")
    return PutSummary(
        operation="PUT",
        bucket=up.space.bucket,
        key=ref_key,
        file_size=up.size,
        file_hash=up.sha256,
        delta_size=delta_size,
        delta_hash=None,
        delta_ratio=None,
        reference_hash=up.sha256,
        stored_size=up.size + delta_size,
        reason="first file of the DeltaSpace: became its reference",
    )


def _against_reference(ctx: Context, up: _Upload, ref: _Reference) -> PutSummary:
    """The original's scheme: a delta against ``reference.bin``, or the file whole."""
    with reference_file(ctx, up.space.bucket, [ref.key], ref.sha256) as reference:
        compressor = sniff_file(reference)
        if compressor is not None and ctx.original_compatible:
            return _store_whole(
                ctx,
                up,
                f"the DeltaSpace's reference is {compressor}-compressed, which the original's xdelta3 "
                "would decompress when decoding: no delta is made against it",
            )
        with ctx.scratch() as scratch:
            made = _choose_delta(ctx, up, ref, reference, scratch)
            if isinstance(made, float):
                return _store_whole(
                    ctx,
                    up,
                    f"delta/file ratio {made:.3f} exceeds max_ratio {up.max_ratio:.3f}",
                    delta_ratio=made,
                )
            return _store_delta(ctx, up, ref, made, restore=reference)


def _store_delta(
    ctx: Context, up: _Upload, ref: _Reference, made: _Delta, *, restore: Path | None
) -> PutSummary:
    """Stores ``made`` (a delta against ``ref``) under the file's name. ``restore``: the bytes to put
    ``ref`` back from if it vanishes meanwhile (None for a base stored as a delta)."""
    key = _put_delta(
        ctx, up, made.path, delta_size=made.size, ref=ref, zero_diff=False, transform=made.transform
    )
    ratio = made.size / up.size
    if not _keep_reference(ctx, up, ref, restore):
        return _store_whole(
            ctx, up, f"{ref.key} was replaced while this file was encoded against it", delta_ratio=ratio
        )
    container = made.transform.container if made.transform else None
    return PutSummary(
        operation="PUT_DELTA",
        bucket=up.space.bucket,
        key=key,
        file_size=up.size,
        file_hash=up.sha256,
        delta_size=made.size,
        delta_hash=made.sha256,
        delta_ratio=ratio,
        reference_hash=ref.sha256,
        stored_size=made.size,
        reason=f"delta of the decoded {container} content against {ref.key}"
        if container
        else f"delta against {ref.key}",
        transform=container,
    )


def _against_bases(ctx: Context, up: _Upload, reference: ObjectHead) -> PutSummary:
    """Issue 13's scheme (core.bases): a delta against the most promising base while it stays under
    ``DRIFT``; past it, the file becomes a new snapshot, or a new full reference."""
    target = fingerprint(up.file)
    candidates = bases.recent(ctx, up.space.bucket, up.space.prefix, reference)
    chosen = bases.choose(candidates, target)
    ref = _Reference(chosen.key, chosen.sha256, chosen.metadata)
    drift = min(bases.DRIFT, up.max_ratio)
    rebuild = snapshot_rebuilder(ctx, up.space.bucket, use_cache=True)
    with (
        reference_file(ctx, up.space.bucket, [ref.key], ref.sha256, rebuild=rebuild) as local,
        ctx.scratch() as scratch,
    ):
        made = _choose_delta(ctx, up, ref, local, scratch)
        if not isinstance(made, float) and made.size / up.size <= drift:
            return _store_delta(ctx, up, ref, made, restore=None if chosen.is_snapshot else local)
        ratio = made if isinstance(made, float) else made.size / up.size
        if not chosen.is_snapshot:
            return _new_base(ctx, up, ref, made, target, ratio=ratio)
    assert chosen.full_key is not None and chosen.full_sha256 is not None  # a snapshot names its full
    full = ctx.storage.head(up.space.bucket, chosen.full_key)
    if full is None:
        raise StorageError(
            f"{ctx.storage.url(up.space.bucket, chosen.full_key)}: a snapshot's reference is gone"
        )
    full_ref = _Reference(chosen.full_key, chosen.full_sha256, full.metadata)
    with (
        reference_file(ctx, up.space.bucket, [full_ref.key], full_ref.sha256) as local,
        ctx.scratch() as scratch,
    ):
        against_full = _choose_delta(ctx, up, full_ref, local, scratch)
        return _new_base(ctx, up, full_ref, against_full, target, ratio=ratio)


def _new_base(
    ctx: Context, up: _Upload, full: _Reference, made: _Delta | float, target: Fingerprint, *, ratio: float
) -> PutSummary:
    """The file becomes a base: a snapshot (``made``, its delta against ``full``) when that fits
    ``max_ratio``, else a full reference; its name gets a zero-diff delta against the new base."""
    bucket, prefix = up.space.bucket, up.space.prefix
    # A further full reference must be worth keeping: an archive by its content, or a large file (a
    # small one-off named .zip would otherwise become a base that later uploads weigh).
    if isinstance(made, float) and detect(up.file) is None and up.size < FOUNDING_MIN_SIZE:
        return _store_whole(
            ctx, up, f"delta/file ratio {made:.3f} exceeds max_ratio {up.max_ratio:.3f}", delta_ratio=made
        )
    snapshot = not isinstance(made, float)
    key = base_key(prefix, up.sha256, snapshot=snapshot)
    now = up.created_at
    if isinstance(made, float):
        meta = reference_metadata(
            tool=ctx.tool_version,
            source_name=up.name,
            sha256=up.sha256,
            created_at=now,
            fingerprint=target.to_text(),
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
            snapshot_fingerprint=target.to_text(),
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
    base = _Reference(key, up.sha256, stored_meta)
    ctx.cache.store(up.sha256, up.file)
    with ctx.scratch() as scratch:
        zero = scratch / "zero-diff"
        zero_size = ctx.encode(up.file, up.file, zero)
        _self_check(ctx, up.file, zero, scratch, up)
        name_key = _put_delta(ctx, up, zero, delta_size=zero_size, ref=base, zero_diff=True)
    if not _keep_reference(ctx, up, base, None):
        return _store_whole(ctx, up, f"{key} vanished while this file was stored against it")
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


@dataclass(frozen=True)
class _Delta:
    """A delta checked to rebuild the file, ready to store."""

    path: Path
    size: int
    sha256: str
    transform: Transform | None = None


def _choose_delta(
    ctx: Context, up: _Upload, ref: _Reference, reference: Path, scratch: Path
) -> _Delta | float:
    """The smaller of the plain delta and the delta of the decoded content, checked to rebuild the
    file; the plain delta's ratio when neither fits ``max_ratio``. The decoded one must be clearly
    smaller (:data:`TRANSFORM_GAIN`): every download of it pays a recompression."""
    plain = scratch / "delta"
    plain_size = ctx.encode(reference, up.file, plain)
    decoded = None if ctx.original_compatible else _transformed_delta(ctx, up, ref, reference, scratch)
    if decoded is not None and decoded.size <= TRANSFORM_GAIN * plain_size:
        return decoded
    ratio = plain_size / up.size
    if ratio > up.max_ratio:
        return decoded if decoded is not None else ratio
    _self_check(ctx, reference, plain, scratch, up)
    return _Delta(plain, plain_size, ctx.hasher.sha256_file(plain))


def _transformed_delta(
    ctx: Context, up: _Upload, ref: _Reference, reference: Path, scratch: Path
) -> _Delta | None:
    """The delta of the decoded content when the file is a container that reproduces and the delta
    pays; None means try the plain delta."""
    if detect(up.file) not in CONTAINERS:
        return None
    room = scratch / "transformed"
    room.mkdir()
    made = transformed.encode(ctx, reference, up.file, ref_sha256=ref.sha256, sha256=up.sha256, scratch=room)
    if made is None:
        ctx.logger.info("container not reproducible; trying a plain delta", name=up.name)
        return None
    if made.size / up.size > up.max_ratio:
        return None
    return _Delta(made.path, made.size, ctx.hasher.sha256_file(made.path), made.transform)


def _self_check(ctx: Context, reference: Path, delta: Path, scratch: Path, up: _Upload) -> None:
    """Decodes the new delta before storing it: an upload that reports success must be recoverable."""
    rebuilt = scratch / "rebuilt"
    ctx.diff.decode(reference, delta, rebuilt, expected_size=up.size)
    if ctx.hasher.sha256_file(rebuilt) != up.sha256:
        raise CodecError(
            f"the delta for {up.source} does not rebuild it; it was not stored", name="SELF_CHECK"
        )
    rebuilt.unlink()


def _keep_reference(ctx: Context, up: _Upload, ref: _Reference, local: Path | None) -> bool:
    """After a delta against ``ref`` was stored: True once the stored reference is ``ref`` again (put
    back from ``local`` if it vanished), False if another reference took its place (or it vanished
    and there is nothing to put back: a base stored as a delta)."""
    bucket = up.space.bucket
    head = ctx.storage.head(bucket, ref.key)
    if head is None:
        if local is None:
            return False
        if ctx.storage.put_file_if_absent(bucket, ref.key, local, ref.metadata):
            ctx.logger.warning(
                "the reference was removed while a delta was made against it; put it back", key=ref.key
            )
            return True
        head = ctx.storage.head(bucket, ref.key)
        if head is None:
            raise StorageError(
                f"{ctx.storage.url(bucket, ref.key)} keeps vanishing while a delta is stored against it"
            )
    return (read_field(head.metadata, "file_sha256") or "").lower() == ref.sha256


def _put_delta(
    ctx: Context,
    up: _Upload,
    delta: Path,
    *,
    delta_size: int,
    ref: _Reference,
    zero_diff: bool,
    transform: Transform | None = None,
) -> str:
    key = delta_key(up.space.prefix, up.name)
    other = other_form_key(up.space.prefix, up.name, stored_whole=False)
    stamp = forms.new_stamp(ctx, up.space.bucket, other)
    meta = delta_metadata(
        tool=ctx.tool_version,
        original_name=up.name,
        sha256=up.sha256,
        size=up.size,
        created_at=up.created_at,
        ref_key=ref.key,
        ref_sha256=ref.sha256,
        delta_size=delta_size,
        write_stamp=stamp,
        zero_diff=zero_diff,
        transform=transform,
    )

    _write_settled(ctx, up, key, delta, meta, other=other, stamp=stamp)
    return key


def _write_settled(
    ctx: Context,
    up: _Upload,
    key: str,
    src: Path,
    meta: Mapping[str, str],
    *,
    other: str | None,
    stamp: str,
) -> None:
    """Stores ``src`` under ``key``, then settles which form of the name survives (``core.forms``)."""

    def write() -> None:
        ctx.storage.put_file(up.space.bucket, key, src, meta, up.progress)

    write()
    forms.settle(ctx, up.space.bucket, key, other=other, stamp=stamp, rewrite=write)


def _store_whole(ctx: Context, up: _Upload, reason: str, *, delta_ratio: float | None = None) -> PutSummary:
    key = whole_key(up.space.prefix, up.name)
    other = other_form_key(up.space.prefix, up.name, stored_whole=True)
    stamp = forms.new_stamp(ctx, up.space.bucket, other)
    meta = whole_metadata(
        tool=ctx.tool_version,
        original_name=up.name,
        sha256=up.sha256,
        size=up.size,
        created_at=up.created_at,
        write_stamp=stamp,
    )

    _write_settled(ctx, up, key, up.file, meta, other=other, stamp=stamp)
    return PutSummary(
        operation="PUT",
        bucket=up.space.bucket,
        key=key,
        file_size=up.size,
        file_hash=up.sha256,
        delta_ratio=delta_ratio,
        stored_size=up.size,
        reason=reason,
    )
