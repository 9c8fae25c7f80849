"""Keeping a version of a name in its history, before anything replaces or removes it.

A version is kept as a copy of the very object that held it: a delta stays a delta against the same
base of its DeltaSpace (so it rebuilds within the same two decodes), a file stored whole stays whole,
unless it serves as a base (later uploads may be made against it, and the protocol keeps its content
as a base once it is replaced): then it is a zero-diff against its content's base key, which it holds
there as any dependent holds its base, not a second copy. Its metadata comes along, with its
upload time, size, SHA-256 and write stamp, which is its ID.

The copy is made from one GET, whose metadata proves it is the version asked for, and is created only
where nothing is (``put_file_if_absent``): a version's key holds that version or nothing, whoever
keeps it and however often. So the writers and removers of a name keep a version first and replace or
remove it only afterwards, and a kill between the two leaves it in the history and at its name: a
duplicate that :mod:`deltaglider.core.history.versions` shows once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
    reference_metadata,
)
from deltaglider.errors import NotFoundError, StorageError
from deltaglider.ports.storage import ObjectHead


def home_of(key: str) -> tuple[str, str]:
    """``(prefix, name)`` of the name whose object is at ``key`` (either form)."""
    prefix, _ = split_key(key)
    return prefix, split_key(display_name(key) or key)[1]


#: Holds a base where rebuilds look for it, keeping it there from a local copy of its content when
#: it is gone or being removed: the protocol's re-check of a dependent's base
#: (:func:`deltaglider.core.protocol.base_holder`). ``(key, sha256, metadata, local) -> held``.
BaseHolder = Callable[[str, str, Mapping[str, str], Path], bool]


def keep(ctx: Context, bucket: str, version: ObjectHead, *, hold: BaseHolder | None = None) -> bool:
    """Keeps the version that ``version`` (a HEAD of a name's object) names in the name's history.
    True once it is kept, now or before; False when the object no longer holds that version (it
    was replaced or removed since its HEAD: the caller looks again). With ``hold``, a file stored
    whole that serves as a base is kept as a zero-diff against its content's base key, which
    ``hold`` keeps there, rather than as a second copy of it."""
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
        zero = None if hold is None else _zero_diff(ctx, prefix, got, local=local, scratch=scratch)
        # Whoever takes a version from its name keeps it first; once it has left the name, a copy
        # made now from this read could only bring back one that retention has removed since. Looked
        # at last, just before the write, to leave that window as narrow as two calls.
        if not _still_at(ctx, bucket, got):
            return False
        if zero is not None and hold is not None:
            body, meta, base = zero
            if not ctx.storage.put_file_if_absent(bucket, kept, body, meta):
                return True  # kept by another meanwhile
            # A dependent of the base now: the base is held after the write, as every write that
            # depends on a base holds it (core.protocol, step 3).
            if hold(base.key, base.sha256, base.metadata, local):
                ctx.logger.info("kept the version it replaces in the name's history", key=kept)
                return True
            # Nowhere to hold its base (being removed, and no other place): the whole copy instead.
            written = ctx.storage.head(bucket, kept)
            if written is not None and written.etag is not None:
                ctx.storage.delete_if_match(bucket, kept, written.etag)
        # The ID rides in the metadata too: a version written without a stamp (by the original) got
        # its ID from its date and ETag there, which its kept copy does not share.
        if ctx.storage.put_file_if_absent(bucket, kept, local, forms.with_stamp(got.metadata, vid)):
            ctx.logger.info("kept the version it replaces in the name's history", key=kept)
    return True


@dataclass(frozen=True)
class _Base:
    key: str
    sha256: str
    metadata: Mapping[str, str]


def _zero_diff(
    ctx: Context, prefix: str, got: ObjectHead, *, local: Path, scratch: Path
) -> tuple[Path, dict[str, str], _Base] | None:
    """A file stored whole that later uploads may take as their base (it records a fingerprint): its
    zero-diff against its content's base key, where the protocol keeps such a file's content for the
    deltas made against it once it is replaced; with that delta's metadata, and the base. None
    otherwise."""
    info = parse_head(got)
    meta = got.metadata
    fingerprint = read_field(meta, "fingerprint")
    if info is None or info.kind is not Kind.WHOLE or info.file_sha256 is None or not fingerprint:
        return None
    zero = scratch / "zero-diff"
    size = ctx.encode(local, local, zero)
    rebuilt = scratch / "rebuilt"
    ctx.diff.decode(local, zero, rebuilt, expected_size=got.size)
    if ctx.hasher.sha256_file(rebuilt) != info.file_sha256:
        return None  # never kept unproven: the whole copy instead
    rebuilt.unlink()
    name = info.original_name or split_key(got.key)[1]
    created = parse_created_at(read_field(meta, "created_at")) or got.last_modified or ctx.clock.now()
    base = _Base(
        base_key(prefix, info.file_sha256, snapshot=False),
        info.file_sha256,
        reference_metadata(
            tool=ctx.tool_version,
            source_name=name,
            sha256=info.file_sha256,
            created_at=created,
            fingerprint=fingerprint,
        ),
    )
    entry = delta_metadata(
        tool=ctx.tool_version,
        original_name=name,
        sha256=info.file_sha256,
        size=got.size,
        created_at=created,
        ref_key=base.key,
        ref_sha256=info.file_sha256,
        delta_size=size,
        write_stamp=forms.version_id(got),
        zero_diff=True,
        source_mtime=parse_created_at(read_field(meta, "source_mtime")),
    )
    return zero, entry, base


def _still_at(ctx: Context, bucket: str, got: ObjectHead) -> bool:
    """Whether the object a GET read (``got``) is still at its key."""
    now = ctx.storage.head(bucket, got.key)
    return now is not None and forms.version_id(now) == forms.version_id(got) and now.etag == got.etag


def keep_at(ctx: Context, bucket: str, key: str, *, hold: BaseHolder | None = None) -> ObjectHead | None:
    """Keeps the version the object at ``key`` holds now, and returns its HEAD (None: nothing there);
    a version written meanwhile is kept as it is found."""
    for _ in range(_ROUNDS):
        head = ctx.storage.head(bucket, key)
        if head is None or keep(ctx, bucket, head, hold=hold):
            return head
    raise StorageError(f"{ctx.storage.url(bucket, key)} kept changing while its version was kept")


def keep_name(ctx: Context, bucket: str, prefix: str, name: str, *, hold: BaseHolder | None = None) -> None:
    """Keeps whatever version each form of ``name`` holds now."""
    for key in sorted({whole_key(prefix, name), delta_key(prefix, name)}):
        keep_at(ctx, bucket, key, hold=hold)


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
