"""Uploading one file into a DeltaSpace: as its reference, as a delta, or whole."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from deltaglider.core.context import Context
from deltaglider.core.layout import (
    delta_key,
    is_delta_candidate,
    other_form_key,
    reference_key,
    whole_key,
)
from deltaglider.core.magic import sniff_file
from deltaglider.core.metadata import delta_metadata, direct_metadata, read_field, reference_metadata
from deltaglider.core.models import DeltaSpace, PutSummary
from deltaglider.core.references import reference_file
from deltaglider.errors import CodecError, InvalidURLError, NotFoundError, StorageError
from deltaglider.ports.storage import ProgressCallback
from deltaglider.urls import check_component, object_url


@dataclass(frozen=True)
class _Upload:
    file: Path
    space: DeltaSpace
    name: str
    size: int
    sha256: str
    max_ratio: float
    progress: ProgressCallback | None


def _check_file(file: Path) -> int:
    try:
        stat = file.stat()
    except FileNotFoundError:
        raise NotFoundError(f"local file {file} does not exist") from None
    if not file.is_file():
        raise NotFoundError(f"{file} is not a regular file")
    return stat.st_size


def put(
    ctx: Context,
    file: Path,
    space: DeltaSpace,
    *,
    max_ratio: float,
    name: str | None = None,
    progress: ProgressCallback | None = None,
) -> PutSummary:
    started = time.monotonic()
    file = Path(file)
    size = _check_file(file)
    name = file.name if name is None else name
    check_component(name, "stored name")
    if "/" in name:
        raise InvalidURLError(f"stored name {name!r} must not contain '/'")
    up = _Upload(file, space, name, size, ctx.hasher.sha256_file(file), max_ratio, progress)
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
    if not is_delta_candidate(up.name):
        return _store_whole(ctx, up, f"{up.name!r} is not a delta candidate by its extension")
    compressor = sniff_file(up.file)
    if compressor is not None:
        return _store_whole(
            ctx,
            up,
            f"content is {compressor}-compressed, so stored whole: the original's xdelta3 would misread a "
            "delta against it",
        )
    if up.size == 0:
        return _store_whole(ctx, up, "empty file")
    ref_key = reference_key(up.space.prefix)
    head = ctx.storage.head(up.space.bucket, ref_key)
    if head is None:
        meta = reference_metadata(
            tool=ctx.tool_version, source_name=up.name, sha256=up.sha256, created_at=ctx.clock.now()
        )
        if ctx.storage.put_file_if_absent(up.space.bucket, ref_key, up.file, meta, up.progress):
            return _first_file(ctx, up, ref_key)
        ctx.logger.info("another writer created the reference first; storing a delta against it", key=ref_key)
        head = ctx.storage.head(up.space.bucket, ref_key)
        if head is None:
            raise StorageError(
                f"{object_url(up.space.bucket, ref_key)} was created by another writer and then vanished"
            )
    ref_sha = read_field(head.metadata, "file_sha256")
    if not ref_sha:
        return _store_whole(ctx, up, f"{ref_key} carries no SHA-256, so it cannot serve as a reference")
    return _against_reference(ctx, up, ref_key, ref_sha.lower())


def _first_file(ctx: Context, up: _Upload, ref_key: str) -> PutSummary:
    """The file became the reference; like the original, also write its zero-diff delta so that the
    file can be fetched (and listed) under its own name."""
    ctx.cache.store(up.sha256, up.file)
    with ctx.scratch() as scratch:
        delta = scratch / "delta"
        delta_size = ctx.diff.encode(up.file, up.file, delta)
        _self_check(ctx, up.file, delta, scratch, up)
        _put_delta(ctx, up, delta, delta_size=delta_size, ref_key=ref_key, ref_sha=up.sha256, zero_diff=True)
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


def _against_reference(ctx: Context, up: _Upload, ref_key: str, ref_sha: str) -> PutSummary:
    with reference_file(ctx, up.space.bucket, [ref_key], ref_sha) as reference:
        compressor = sniff_file(reference)
        if compressor is not None:
            return _store_whole(
                ctx,
                up,
                f"the DeltaSpace's reference is {compressor}-compressed, which the original's xdelta3 "
                "would decompress when decoding: no delta is made against it",
            )
        with ctx.scratch() as scratch:
            delta = scratch / "delta"
            delta_size = ctx.diff.encode(reference, up.file, delta)
            ratio = delta_size / up.size
            if ratio > up.max_ratio:
                return _store_whole(
                    ctx,
                    up,
                    f"delta/file ratio {ratio:.3f} exceeds max_ratio {up.max_ratio:.3f}",
                    delta_ratio=ratio,
                )
            _self_check(ctx, reference, delta, scratch, up)
            delta_hash = ctx.hasher.sha256_file(delta)
            key = _put_delta(
                ctx, up, delta, delta_size=delta_size, ref_key=ref_key, ref_sha=ref_sha, zero_diff=False
            )
    return PutSummary(
        operation="PUT_DELTA",
        bucket=up.space.bucket,
        key=key,
        file_size=up.size,
        file_hash=up.sha256,
        delta_size=delta_size,
        delta_hash=delta_hash,
        delta_ratio=ratio,
        reference_hash=ref_sha,
        stored_size=delta_size,
        reason=f"delta against {ref_key}",
    )


def _self_check(ctx: Context, reference: Path, delta: Path, scratch: Path, up: _Upload) -> None:
    """Decodes the new delta before storing it: an upload that reports success must be recoverable."""
    rebuilt = scratch / "rebuilt"
    ctx.diff.decode(reference, delta, rebuilt, expected_size=up.size)
    if ctx.hasher.sha256_file(rebuilt) != up.sha256:
        raise CodecError(
            f"the delta for {up.file} does not rebuild it; nothing was stored", name="SELF_CHECK"
        )
    rebuilt.unlink()


def _put_delta(
    ctx: Context, up: _Upload, delta: Path, *, delta_size: int, ref_key: str, ref_sha: str, zero_diff: bool
) -> str:
    key = delta_key(up.space.prefix, up.name)
    meta = delta_metadata(
        tool=ctx.tool_version,
        original_name=up.name,
        sha256=up.sha256,
        size=up.size,
        created_at=ctx.clock.now(),
        ref_key=ref_key,
        ref_sha256=ref_sha,
        delta_size=delta_size,
        zero_diff=zero_diff,
    )
    ctx.storage.put_file(up.space.bucket, key, delta, meta, up.progress)
    _remove_stale(ctx, up, stored_whole=False)
    return key


def _store_whole(ctx: Context, up: _Upload, reason: str, *, delta_ratio: float | None = None) -> PutSummary:
    key = whole_key(up.space.prefix, up.name)
    meta = direct_metadata(
        tool=ctx.tool_version,
        original_name=up.name,
        sha256=up.sha256,
        size=up.size,
        created_at=ctx.clock.now(),
    )
    ctx.storage.put_file(up.space.bucket, key, up.file, meta, up.progress)
    _remove_stale(ctx, up, stored_whole=True)
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


def _remove_stale(ctx: Context, up: _Upload, *, stored_whole: bool) -> None:
    """A name lives in one form only: a delta written now makes an earlier whole copy stale and vice
    versa (the reader tries one form first and would serve the old bytes)."""
    stale = other_form_key(up.space.prefix, up.name, stored_whole=stored_whole)
    if stale is not None and ctx.storage.head(up.space.bucket, stale) is not None:
        ctx.storage.delete(up.space.bucket, stale)
        ctx.logger.info("removed the stale other form of the same name", key=stale)
