"""Keeping a version of a name in its history, before anything replaces or removes it.

A version is kept as a copy of the very object that held it: a delta stays a delta against the same
base of its DeltaSpace (so it rebuilds within the same two decodes), a file stored whole stays whole.
Its metadata comes along, with its upload time, size, SHA-256 and write stamp, which is its ID.

The copy is made from one GET, whose metadata proves it is the version asked for, and is created only
where nothing is (``put_file_if_absent``): a version's key holds that version or nothing, whoever
keeps it and however often. So the writers and removers of a name keep a version first and replace or
remove it only afterwards, and a kill between the two leaves it in the history and at its name: a
duplicate that :mod:`deltaglider.core.history.versions` shows once.
"""

from __future__ import annotations

from deltaglider.core.context import Context
from deltaglider.core.format import forms
from deltaglider.core.format.layout import (
    delta_key,
    display_name,
    history_root,
    parse_version_key,
    split_key,
    version_key,
    whole_key,
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
        # Whoever takes a version from its name keeps it first; once it has left the name, a copy
        # made now from this read could only bring back one that retention has removed since.
        if not _still_at(ctx, bucket, got):
            return False
        if ctx.storage.put_file_if_absent(bucket, kept, local, dict(got.metadata)):
            ctx.logger.info("kept the version it replaces in the name's history", key=kept)
    return True


def _still_at(ctx: Context, bucket: str, got: ObjectHead) -> bool:
    """Whether the object a GET read (``got``) is still at its key."""
    now = ctx.storage.head(bucket, got.key)
    return now is not None and forms.version_id(now) == forms.version_id(got) and now.etag == got.etag


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
