"""Keeping a version of a name in its history, before anything replaces or removes it.

A version is kept as a copy of the very object that held it: a delta stays a delta against the same
base of its DeltaSpace (so it rebuilds within the same two decodes), a file stored whole stays whole,
unless the folder keeps its content as a full base already (a file later uploads were made against):
then it is a zero-diff delta against that base, not a second copy. Its metadata comes along, with its
upload time, size, SHA-256 and write stamp, which is its ID.

The copy is made from one GET, whose metadata proves it is the version asked for, and is created only
where nothing is (``put_file_if_absent``): a version's key holds that version or nothing, whoever
keeps it and however often. So the writers and removers of a name keep a version first and replace or
remove it only afterwards, and a kill between the two leaves it in the history and at its name: a
duplicate that :mod:`deltaglider.core.history.versions` shows once.
"""

from __future__ import annotations

from pathlib import Path

from deltaglider.core.context import Context
from deltaglider.core.format import forms
from deltaglider.core.format.layout import (
    base_key,
    delta_key,
    display_name,
    history_root,
    parse_version_key,
    split_key,
    version_key,
    whole_key,
)
from deltaglider.core.format.metadata import (
    Kind,
    delta_metadata,
    parse_created_at,
    parse_head,
    read_field,
)
from deltaglider.errors import NotFoundError, StorageError
from deltaglider.ports.storage import ObjectHead


def home_of(key: str) -> tuple[str, str]:
    """``(prefix, name)`` of the name whose object is at ``key`` (either form)."""
    prefix, _ = split_key(key)
    return prefix, split_key(display_name(key) or key)[1]


def keep(ctx: Context, bucket: str, version: ObjectHead) -> bool:
    """Keeps the version that ``version`` (a HEAD of a name's object) names in the name's history.
    True once it is kept, now or before; False when the object no longer holds that version (it
    was replaced or removed since its HEAD: the caller looks again)."""
    prefix, name = home_of(version.key)
    vid = forms.version_id(version)
    kept = version_key(prefix, name, vid)
    if ctx.storage.head(bucket, kept) is not None:
        return True
    with ctx.scratch() as scratch:
        local = scratch / "version"
        try:
            got = ctx.storage.get_file(bucket, version.key, local)
        except NotFoundError:
            return False
        if forms.version_id(got) != vid or (version.etag and got.etag and got.etag != version.etag):
            return False
        # The ID rides in the metadata too: a version written without a stamp (by the original) got
        # its ID from its date and ETag there, which its kept copy does not share.
        body, meta = local, forms.with_stamp(got.metadata, vid)
        zero = _zero_diff_on_base(ctx, bucket, prefix, got, local=local, scratch=scratch)
        if zero is not None:
            body, meta = zero
        if ctx.storage.put_file_if_absent(bucket, kept, body, meta):
            ctx.logger.info("kept the version it replaces in the name's history", key=kept)
    return True


def _zero_diff_on_base(
    ctx: Context, bucket: str, prefix: str, got: ObjectHead, *, local: Path, scratch: Path
) -> tuple[Path, dict[str, str]] | None:
    """A file stored whole whose content the folder already keeps as a full base (a file that later
    uploads were made against, kept as ``reference-<sha>.bin`` when it is replaced): kept as a
    zero-diff delta against that base rather than as a second whole copy. None otherwise."""
    info = parse_head(got)
    if info is None or info.kind is not Kind.WHOLE or info.file_sha256 is None:
        return None
    base = base_key(prefix, info.file_sha256, snapshot=False)
    held = ctx.storage.head(bucket, base)
    if held is None or (read_field(held.metadata, "file_sha256") or "").lower() != info.file_sha256:
        return None
    zero = scratch / "zero-diff"
    size = ctx.encode(local, local, zero)
    rebuilt = scratch / "rebuilt"
    ctx.diff.decode(local, zero, rebuilt, expected_size=got.size)
    if ctx.hasher.sha256_file(rebuilt) != info.file_sha256:
        return None  # never kept unproven: the whole copy instead
    meta = got.metadata
    return zero, delta_metadata(
        tool=ctx.tool_version,
        original_name=info.original_name or split_key(got.key)[1],
        sha256=info.file_sha256,
        size=got.size,
        created_at=parse_created_at(read_field(meta, "created_at")) or got.last_modified or ctx.clock.now(),
        ref_key=base,
        ref_sha256=info.file_sha256,
        delta_size=size,
        write_stamp=forms.version_id(got),
        zero_diff=True,
        source_mtime=parse_created_at(read_field(meta, "source_mtime")),
    )


def keep_at(ctx: Context, bucket: str, key: str) -> ObjectHead | None:
    """Keeps the version the object at ``key`` holds now, and returns its HEAD (None: nothing there);
    a version written meanwhile is kept as it is found."""
    for _ in range(_ROUNDS):
        head = ctx.storage.head(bucket, key)
        if head is None or keep(ctx, bucket, head):
            return head
    raise StorageError(f"{ctx.storage.url(bucket, key)} kept changing while its version was kept")


def keep_name(ctx: Context, bucket: str, prefix: str, name: str) -> None:
    """Keeps whatever version each form of ``name`` holds now."""
    for key in sorted({whole_key(prefix, name), delta_key(prefix, name)}):
        keep_at(ctx, bucket, key)


#: How often a version is looked at again when it changed between its HEAD and its GET.
_ROUNDS = 5


def kept_versions(ctx: Context, bucket: str, prefix: str) -> list[str]:
    """The keys of every version kept in the histories of the DeltaSpace ``prefix``, in key order."""
    try:
        return [
            obj.key
            for obj in ctx.storage.list(bucket, history_root(prefix), recursive=True)
            if not obj.is_prefix and parse_version_key(prefix, obj.key) is not None
        ]
    except NotFoundError:
        return []
