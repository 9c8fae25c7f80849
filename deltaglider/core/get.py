"""Downloading a file: whole objects are copied, deltas rebuilt against their reference; either way the
bytes reach the destination only after their SHA-256 matched."""

from __future__ import annotations

import time
from pathlib import Path

from deltaglider.core import legacy
from deltaglider.core.context import Context
from deltaglider.core.layout import display_name, split_key
from deltaglider.core.locate import locate
from deltaglider.core.metadata import Kind, StoredInfo, parse
from deltaglider.core.models import GetSummary, ObjectKey
from deltaglider.core.output import atomic_output, resolve_output
from deltaglider.core.references import candidate_keys, reference_file
from deltaglider.errors import DecodeError, IntegrityError, MetadataError, UnsupportedDeltaError
from deltaglider.ports.storage import ProgressCallback
from deltaglider.urls import object_url


def fetch(
    ctx: Context,
    bucket: str,
    key: str,
    info: StoredInfo,
    dest: Path,
    *,
    progress: ProgressCallback | None = None,
) -> str:
    """Writes the file stored at ``key`` into ``dest`` (a scratch path) and returns its SHA-256.
    Does not compare it with the recorded one: callers decide what a mismatch means."""
    url = object_url(bucket, key)
    if info.kind is not Kind.DELTA:
        ctx.storage.get_file(bucket, key, dest, progress)
        return ctx.hasher.sha256_file(dest)
    if info.ref_sha256 is None:
        raise MetadataError(f"{url}: delta without the SHA-256 of its reference (dg-ref-sha256)")
    assert info.file_sha256 is not None  # a DELTA always has one (see metadata.parse)
    with ctx.scratch() as scratch:
        delta = scratch / "delta"
        ctx.storage.get_file(bucket, key, delta, progress)
        with reference_file(ctx, bucket, candidate_keys(key, info.ref_key), info.ref_sha256) as reference:
            try:
                ctx.diff.decode(reference, delta, dest, expected_size=info.file_size)
            except UnsupportedDeltaError as exc:
                ctx.logger.info("rebuilding a delta made over externally compressed data", key=key)
                legacy.rebuild(
                    ctx,
                    reference,
                    delta,
                    dest,
                    expected_sha256=info.file_sha256,
                    ref_sha256=info.ref_sha256,
                    error=exc,
                )
            except DecodeError as exc:
                raise IntegrityError(
                    f"{url}: the stored delta does not decode against its reference: {exc}"
                ) from exc
    return ctx.hasher.sha256_file(dest)


def get(
    ctx: Context, obj: ObjectKey, output_path: Path, progress: ProgressCallback | None = None
) -> GetSummary:
    started = time.monotonic()
    head = locate(ctx, obj)
    info = parse(head.metadata, head.key)
    # Into a folder, the file goes under the name it was stored as (app.zip, not app.zip.delta).
    _, stored_name = split_key(display_name(head.key) or head.key)
    dest = resolve_output(Path(output_path), stored_name)
    url = object_url(obj.bucket, head.key)
    with atomic_output(dest) as tmp:
        actual = fetch(ctx, obj.bucket, head.key, info, tmp, progress=progress)
        if info.kind is Kind.PLAIN:
            ctx.logger.warning("object has no SHA-256 recorded; served unverified", key=head.key)
        elif actual != info.file_sha256:
            raise IntegrityError(
                f"{url}: SHA-256 mismatch: expected {info.file_sha256}, got {actual}; nothing written"
            )
    reconstructed = info.kind is Kind.DELTA
    size = dest.stat().st_size
    ctx.metrics.timing("get.seconds", time.monotonic() - started, delta=str(reconstructed))
    ctx.logger.info("fetched", key=head.key, size=size, reconstructed=reconstructed)
    return GetSummary(
        operation="GET_DELTA" if reconstructed else "GET",
        bucket=obj.bucket,
        key=head.key,
        size=size,
        hash=actual,
        reconstructed=reconstructed,
        path=str(dest),
    )
