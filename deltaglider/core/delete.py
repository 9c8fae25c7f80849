"""Deleting a file, with the reference protocol (described in :mod:`deltaglider.core.put`).

Deleting a delta never removes its reference: an upload may be encoding against it at that moment.
A reference goes only when deleted by name, refused while deltas depend on it unless forced; an
unforced removal keeps a copy, lists the dependents again afterwards and puts the reference back if
one appeared meanwhile.
"""

from __future__ import annotations

from deltaglider.core.context import Context
from deltaglider.core.layout import (
    DELTA_SUFFIX,
    display_name,
    is_base_name,
    join_key,
    other_form_key,
    reference_key,
    split_key,
)
from deltaglider.core.locate import locate
from deltaglider.core.metadata import Kind, parse, read_field
from deltaglider.core.models import DeleteResult, ObjectKey
from deltaglider.errors import MetadataError, ReferenceInUseError
from deltaglider.ports.storage import ObjectHead


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


def _sha_of(head: ObjectHead) -> str | None:
    return (read_field(head.metadata, "file_sha256") or "").lower() or None


def delete(ctx: Context, obj: ObjectKey, *, force: bool = False) -> DeleteResult:
    head = locate(ctx, obj)
    prefix, name = split_key(head.key)
    if is_base_name(name):
        # reference.bin, and the further bases of core.bases: what deltas are rebuilt from.
        return _delete_reference(ctx, obj.bucket, head, force=force)
    info = parse(head.metadata, head.key)
    ctx.storage.delete(obj.bucket, head.key)
    result = DeleteResult(bucket=obj.bucket, key=head.key, deleted=[head.key])
    # An upload that failed between writing a name's new form and removing the old one leaves both:
    # deleting the name removes both, or the name would stay readable with the other form's bytes.
    stale = _other_form(head.key, info.kind is Kind.DELTA)
    if stale is not None and _is_other_form(ctx, obj.bucket, stale, of_delta=info.kind is Kind.DELTA):
        ctx.storage.delete(obj.bucket, stale)
        result.deleted.append(stale)
    if info.kind is Kind.DELTA:
        _note_unused_reference(ctx, obj.bucket, prefix, info.ref_sha256, result)
    return result


def _other_form(key: str, is_delta: bool) -> str | None:
    """The key of the other form of the name stored at ``key`` (None for names that have one form)."""
    if key.endswith(DELTA_SUFFIX) and not is_delta:
        return None  # a whole file under a .delta key (a reserved name, or the original's): one form
    prefix, _ = split_key(key)
    name = split_key(display_name(key) or key)[1]
    return other_form_key(prefix, name, stored_whole=not is_delta)


def _is_other_form(ctx: Context, bucket: str, key: str, *, of_delta: bool) -> bool:
    """Whether ``key`` holds the same name in the other form: a whole file beside a delta, or a delta
    (by its metadata) beside a whole file; never an unrelated file whose name ends in .delta."""
    head = ctx.storage.head(bucket, key)
    if head is None:
        return False
    if of_delta:
        return True
    try:
        return parse(head.metadata, key).kind is Kind.DELTA
    except MetadataError:
        return False


def _note_unused_reference(
    ctx: Context, bucket: str, prefix: str, ref_sha256: str | None, result: DeleteResult
) -> None:
    ref_key = reference_key(prefix)
    ref_head = ctx.storage.head(bucket, ref_key)
    if ref_head is None:
        return
    ref_sha = _sha_of(ref_head)
    if ref_sha is not None and ref_sha256 is not None and ref_sha != ref_sha256:
        return  # that delta was made against another reference
    if not dependents(ctx, bucket, prefix, ref_sha):
        result.warnings.append(
            f"{ref_key} is kept although no delta depends on it any more (an upload may be using it); "
            "delete it by name to remove it"
        )


def _delete_reference(ctx: Context, bucket: str, head: ObjectHead, *, force: bool) -> DeleteResult:
    key = head.key
    prefix, _ = split_key(key)
    url = ctx.storage.url(bucket, key)
    ref_sha = _sha_of(head)
    deps = dependents(ctx, bucket, prefix, ref_sha)
    result = DeleteResult(bucket=bucket, key=key)
    if deps and not force:
        raise _in_use(url, deps)
    if force:
        ctx.storage.delete(bucket, key)
        result.deleted.append(key)
        if deps:
            result.warnings.append(f"{len(deps)} delta(s) depended on {key} and can no longer be rebuilt")
            ctx.logger.warning("forced deletion of a reference in use", key=key, dependents=len(deps))
        return result
    with ctx.scratch() as scratch:
        kept = scratch / "reference"
        ctx.storage.get_file(bucket, key, kept)
        ctx.storage.delete(bucket, key)
        appeared = dependents(ctx, bucket, prefix, ref_sha)
        if appeared:
            ctx.storage.put_file_if_absent(bucket, key, kept, head.metadata)
            ctx.logger.warning(
                "a delta was stored against the reference while it was deleted; put it back", key=key
            )
            raise _in_use(url, appeared)
    result.deleted.append(key)
    return result


def _in_use(url: str, deps: list[str]) -> ReferenceInUseError:
    shown = ", ".join(deps[:5]) + (", ..." if len(deps) > 5 else "")
    return ReferenceInUseError(
        f"{url} is the reference of {len(deps)} delta(s) ({shown}); deleting it makes them unreadable. "
        "Delete those first, or pass force=True"
    )
