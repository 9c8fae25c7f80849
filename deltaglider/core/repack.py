"""Re-packing a DeltaSpace: every file encoded again, oldest first, against the bases the current
scheme picks (:mod:`deltaglider.core.family.bases`), then the bases nothing needs any more removed.

For families stored before bases existed, or by the original DeltaGlider (one reference forever):
files stored whole because their delta against the first release grew too large become deltas of a
newer base. Each file is downloaded and checked against its SHA-256 first; its new form is proven to
rebuild it before it is stored (the upload's self-check). It is written as a rewrite of the version
that was downloaded (:mod:`deltaglider.core.put.write`): if the name was written or deleted since, the
newer state stands and the file is reported as skipped, never undone or brought back. Its recorded
creation and modification dates are kept, so retention by age still sees when it was first stored.
"""

from __future__ import annotations

from deltaglider.core.context import Context
from deltaglider.core.family.retention import collect_bases, facts, needed_bases
from deltaglider.core.format.layout import join_key
from deltaglider.core.get.flow import get
from deltaglider.core.listing import files_with_heads
from deltaglider.core.models import DeltaSpace, ObjectKey, RepackResult, RetentionResult
from deltaglider.core.put.flow import put
from deltaglider.core.put.write import SupersededError
from deltaglider.errors import DeltaGliderError


def _stored_bytes(ctx: Context, bucket: str, prefix: str) -> int:
    return sum(
        obj.size
        for obj in ctx.storage.list(bucket, join_key(prefix, ""), recursive=False)
        if not obj.is_prefix
    )


def repack(ctx: Context, bucket: str, prefix: str, *, dry_run: bool = False) -> RepackResult:
    if ctx.original_compatible:
        raise ValueError(
            "re-packing writes bases the original DeltaGlider cannot read: not in original_compatible mode"
        )
    result = RepackResult(bucket, prefix, dry_run, stored_before=_stored_bytes(ctx, bucket, prefix))
    dated = sorted(
        (
            (facts(entry, head).created, entry, head)
            for entry, head in files_with_heads(ctx, bucket, prefix)
            if head is not None
        ),
        key=lambda item: (item[0] is None, item[0], item[1].name),
    )
    result.files = [entry.name for _, entry, _ in dated]
    if dry_run:
        result.stored_after = result.stored_before
        return result
    space = DeltaSpace(bucket, prefix)
    for when, entry, judged in dated:
        with ctx.scratch() as scratch:
            copy = scratch / "file"
            try:
                fetched = get(ctx, ObjectKey(bucket, join_key(prefix, entry.name)), copy)
                if fetched.key != judged.key:
                    raise SupersededError(f"{entry.name} changed form since it was listed")
                put(
                    ctx,
                    copy,
                    space,
                    max_ratio=ctx.max_ratio,
                    name=entry.name,
                    created_at=when,
                    replaces=judged,
                )
            except SupersededError:
                result.skipped.append(entry.name)  # a newer write or a delete of the name stands
            except DeltaGliderError as exc:
                result.failed[entry.name] = str(exc)  # left as it was: its old form is intact
    collected = RetentionResult(bucket, prefix, dry_run=False)
    collect_bases(ctx, bucket, prefix, needed_bases(files_with_heads(ctx, bucket, prefix)), collected)
    result.bases_removed = collected.bases_removed
    result.stored_after = _stored_bytes(ctx, bucket, prefix)
    return result
