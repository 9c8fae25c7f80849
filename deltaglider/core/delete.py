"""Deleting a file, with the reference protocol: a reference that deltas depend on is kept unless
forced, and a reference left without deltas goes with the last of them."""

from __future__ import annotations

from deltaglider.core.context import Context
from deltaglider.core.layout import DELTA_SUFFIX, REFERENCE_NAME, join_key, reference_key, split_key
from deltaglider.core.locate import locate
from deltaglider.core.metadata import Kind, parse, read_field
from deltaglider.core.models import DeleteResult, ObjectKey
from deltaglider.errors import MetadataError, ReferenceInUseError
from deltaglider.urls import object_url


def dependents(ctx: Context, bucket: str, prefix: str, ref_sha256: str | None) -> list[str]:
    """Keys of the deltas in ``prefix`` made against the reference with ``ref_sha256`` (any delta there
    when the reference records no SHA-256)."""
    found = []
    for obj in ctx.storage.list(bucket, join_key(prefix, ""), recursive=False):
        if not obj.key.endswith(DELTA_SUFFIX):
            continue
        head = ctx.storage.head(bucket, obj.key)
        if head is None:
            continue
        try:
            info = parse(head.metadata, obj.key)
        except MetadataError:
            continue
        if info.kind is Kind.DELTA and (ref_sha256 is None or info.ref_sha256 == ref_sha256):
            found.append(obj.key)
    return found


def delete(ctx: Context, obj: ObjectKey, *, force: bool = False) -> DeleteResult:
    head = locate(ctx, obj)
    key = head.key
    result = DeleteResult(bucket=obj.bucket, key=key)
    prefix, name = split_key(key)
    info = parse(head.metadata, key)
    if name == REFERENCE_NAME:
        ref_sha = (read_field(head.metadata, "file_sha256") or "").lower() or None
        deps = dependents(ctx, obj.bucket, prefix, ref_sha)
        if deps and not force:
            shown = ", ".join(deps[:5]) + (", ..." if len(deps) > 5 else "")
            raise ReferenceInUseError(
                f"{object_url(obj.bucket, key)} is the reference of {len(deps)} delta(s) ({shown}); "
                "deleting it makes them unreadable. Delete those first, or pass force=True"
            )
        ctx.storage.delete(obj.bucket, key)
        result.deleted.append(key)
        if deps:
            result.warnings.append(f"{len(deps)} delta(s) depended on {key} and can no longer be rebuilt")
            ctx.logger.warning("forced deletion of a reference in use", key=key, dependents=len(deps))
        return result
    ctx.storage.delete(obj.bucket, key)
    result.deleted.append(key)
    if info.kind is Kind.DELTA:
        _remove_orphaned_reference(ctx, obj.bucket, prefix, info.ref_sha256, result)
    return result


def _remove_orphaned_reference(
    ctx: Context, bucket: str, prefix: str, ref_sha256: str | None, result: DeleteResult
) -> None:
    ref_key = reference_key(prefix)
    ref_head = ctx.storage.head(bucket, ref_key)
    if ref_head is None:
        return
    ref_sha = (read_field(ref_head.metadata, "file_sha256") or "").lower() or None
    if ref_sha is not None and ref_sha256 is not None and ref_sha != ref_sha256:
        return  # that delta was made against another reference; this one is not ours to judge
    if dependents(ctx, bucket, prefix, ref_sha):
        return
    ctx.storage.delete(bucket, ref_key)
    result.deleted.append(ref_key)
    ctx.logger.info("removed the reference with its last delta", key=ref_key)
