"""Downloading a file: whole objects are copied, deltas rebuilt against their reference; either way the
bytes reach the destination only after their SHA-256 matched."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Final

from deltaglider.core import legacy
from deltaglider.core.context import Context
from deltaglider.core.layout import DELTA_SUFFIX, display_name, split_key
from deltaglider.core.locate import locate
from deltaglider.core.metadata import Kind, StoredInfo, parse
from deltaglider.core.models import GetSummary, ObjectKey
from deltaglider.core.output import atomic_output, resolve_output
from deltaglider.core.references import candidate_keys, reference_file
from deltaglider.errors import DecodeError, IntegrityError, MetadataError, NotFoundError
from deltaglider.ports.storage import ObjectHead, ProgressCallback

_VCDIFF_MAGIC: Final = b"\xd6\xc3\xc4"


class _VanishedError(NotFoundError):
    """The object itself went between its lookup and its download (not its reference)."""


def _download(ctx: Context, bucket: str, key: str, dest: Path, progress: ProgressCallback | None) -> None:
    try:
        ctx.storage.get_file(bucket, key, dest, progress)
    except NotFoundError as exc:
        raise _VanishedError(str(exc)) from exc


def _refuse_bare_delta(url: str, key: str, path: Path | None) -> None:
    """An object without a SHA-256 is served as it is, unless it is a delta that lost its metadata:
    its own bytes are not the file, and nothing could tell."""
    if key.endswith(DELTA_SUFFIX):
        reason = "its name ends in .delta"
    elif path is not None:
        with open(path, "rb") as f:
            if f.read(len(_VCDIFF_MAGIC)) != _VCDIFF_MAGIC:
                return
        reason = "its content is a VCDIFF delta"
    else:
        return
    raise MetadataError(
        f"{url}: {reason} but it has no deltaglider metadata (no SHA-256, no reference): it is a delta "
        "whose metadata was lost, and its bytes are not the file; nothing written"
    )


def fetch(
    ctx: Context,
    bucket: str,
    key: str,
    info: StoredInfo,
    dest: Path,
    *,
    progress: ProgressCallback | None = None,
    use_cache: bool = True,
) -> str:
    """Writes the file stored at ``key`` into ``dest`` (a scratch path) and returns its SHA-256.
    Does not compare it with the recorded one: callers decide what a mismatch means. Without
    ``use_cache``, a delta's reference is downloaded and checked rather than taken from the cache."""
    url = ctx.storage.url(bucket, key)
    if info.kind is Kind.PLAIN:
        _refuse_bare_delta(url, key, None)
    if info.kind is not Kind.DELTA:
        _download(ctx, bucket, key, dest, progress)
        if info.kind is Kind.PLAIN:
            _refuse_bare_delta(url, key, dest)
        return ctx.hasher.sha256_file(dest)
    if info.ref_sha256 is None:
        raise MetadataError(f"{url}: delta without the SHA-256 of its reference (dg-ref-sha256)")
    assert info.file_sha256 is not None  # a DELTA always has one (see metadata.parse)
    with ctx.scratch() as scratch:
        delta = scratch / "delta"
        _download(ctx, bucket, key, delta, progress)
        keys = candidate_keys(key, info.ref_key)
        try:
            header = ctx.diff.inspect(delta)
            with reference_file(ctx, bucket, keys, info.ref_sha256, use_cache=use_cache) as reference:
                if header.external is None:
                    ctx.diff.decode(reference, delta, dest, expected_size=info.file_size)
                else:
                    ctx.logger.info("rebuilding a delta made over externally compressed data", key=key)
                    legacy.rebuild(
                        ctx,
                        reference,
                        delta,
                        dest,
                        expected_sha256=info.file_sha256,
                        expected_size=info.file_size,
                        ref_sha256=info.ref_sha256,
                        external=header.external,
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
    try:
        head, info, dest, actual = _get_once(ctx, obj, Path(output_path), progress)
    except _VanishedError:
        # The object found a moment ago is gone: an upload changed the name's form (whole <-> delta)
        # in between, writing the new form first. A second lookup finds that.
        head, info, dest, actual = _get_once(ctx, obj, Path(output_path), progress)
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


def _get_once(
    ctx: Context, obj: ObjectKey, output_path: Path, progress: ProgressCallback | None
) -> tuple[ObjectHead, StoredInfo, Path, str]:
    head = locate(ctx, obj)
    info = parse(head.metadata, head.key)
    # Into a folder, the file goes under the name it was stored as (app.zip, not app.zip.delta).
    _, stored_name = split_key(display_name(head.key) or head.key)
    dest = resolve_output(output_path, stored_name)
    url = ctx.storage.url(obj.bucket, head.key)
    with atomic_output(dest) as tmp:
        actual = fetch(ctx, obj.bucket, head.key, info, tmp, progress=progress)
        if info.kind is Kind.PLAIN:
            ctx.logger.warning("object has no SHA-256 recorded; served unverified", key=head.key)
        elif actual != info.file_sha256:
            raise IntegrityError(
                f"{url}: SHA-256 mismatch: expected {info.file_sha256}, got {actual}; nothing written"
            )
    return head, info, dest, actual
