"""Deleting a file by name, through the protocol of :mod:`deltaglider.core.protocol`.

Deleting a delta never removes its base: an upload may be encoding against it at that moment. A base
goes only when deleted by name, refused while deltas depend on it unless forced. A user's delete
removes whatever version the name holds when it acts: one written between its look-up and its removal
is looked up again and removed, never left half-deleted.
"""

from __future__ import annotations

from deltaglider.core import protocol
from deltaglider.core.context import Context
from deltaglider.core.family import version_retention
from deltaglider.core.format.layout import is_base_name, reference_key, split_key
from deltaglider.core.format.locate import locate
from deltaglider.core.format.metadata import Kind, parse
from deltaglider.core.history import keep
from deltaglider.core.models import DeleteResult, ObjectKey
from deltaglider.errors import MetadataError, NotFoundError, StorageError

#: How often a delete looks the name up again when it changed between the look-up and the removal.
_ROUNDS = 5


def delete(ctx: Context, obj: ObjectKey, *, force: bool = False, all_versions: bool = False) -> DeleteResult:
    """A user's delete of a name. A client that keeps history keeps the version deleted in the name's
    history, unless ``all_versions``; otherwise the name's history goes with it (core.history)."""
    keeping = ctx.keep_history and not all_versions
    for _ in range(_ROUNDS):
        try:
            head = locate(ctx, obj)
        except NotFoundError:
            # A name whose history outlived it: the history is all there is to delete.
            if keeping or not (forgotten := _forget(ctx, obj)):
                raise
            return DeleteResult(bucket=obj.bucket, key=obj.key, deleted=forgotten)
        prefix, name = split_key(head.key)
        if is_base_name(name):
            # reference.bin, and the further bases of family.bases: what deltas are rebuilt from.
            removed = protocol.remove_base(ctx, obj.bucket, head, force=force)
            if removed is not None:
                return removed
            continue
        home, kept_name = keep.home_of(head.key)
        if keeping:
            keep.keep_name(ctx, obj.bucket, home, kept_name, hold=protocol.base_holder(ctx, obj.bucket))
        done = protocol.remove_version(ctx, obj.bucket, head, entire=True, keeping=keeping)
        if done is None:
            continue
        if not keeping:
            done += version_retention.forget(ctx, obj.bucket, home, kept_name)
        result = DeleteResult(bucket=obj.bucket, key=head.key, deleted=done)
        try:
            info = parse(head.metadata, head.key)
        except MetadataError:
            return result
        if info.kind is Kind.DELTA:
            _note_unused_reference(ctx, obj.bucket, prefix, info.ref_sha256, result)
        return result
    raise StorageError(f"{ctx.storage.url(obj.bucket, obj.key)} kept changing while it was deleted")


def remove_seen(ctx: Context, obj: ObjectKey) -> DeleteResult | None:
    """A maintenance flow's removal of a name (``sync --delete``): the version a HEAD finds now, and
    no later one; kept in the name's history by a client that keeps history, else with it."""
    head = locate(ctx, obj)
    if is_base_name(split_key(head.key)[1]):
        return protocol.remove_base(ctx, obj.bucket, head, force=False)
    if ctx.keep_history and not keep.keep(ctx, obj.bucket, head, hold=protocol.base_holder(ctx, obj.bucket)):
        return None  # written since it was judged
    done = protocol.remove_version(ctx, obj.bucket, head, keeping=ctx.keep_history)
    if done is not None and not ctx.keep_history:
        done += version_retention.forget(ctx, obj.bucket, *keep.home_of(head.key))
    return None if done is None else DeleteResult(bucket=obj.bucket, key=head.key, deleted=done)


def _forget(ctx: Context, obj: ObjectKey) -> list[str]:
    prefix, name = split_key(obj.key)
    return version_retention.forget(ctx, obj.bucket, prefix, name)


def _note_unused_reference(
    ctx: Context, bucket: str, prefix: str, ref_sha256: str | None, result: DeleteResult
) -> None:
    ref_key = reference_key(prefix)
    ref_head = ctx.storage.head(bucket, ref_key)
    if ref_head is None:
        return
    ref_sha = protocol.sha_of(ref_head)
    if ref_sha is not None and ref_sha256 is not None and ref_sha != ref_sha256:
        return  # that delta was made against another reference
    if not protocol.dependents(ctx, bucket, prefix, ref_sha, first=True):
        result.warnings.append(
            f"{ref_key} is kept although no delta depends on it any more (an upload may be using it); "
            "delete it by name to remove it"
        )
