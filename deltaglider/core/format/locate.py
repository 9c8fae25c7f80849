"""Finding the stored object behind a user's key (``key`` or ``key.delta``).

``locate`` asks with HEADs (for verify and delete, which need the metadata first); ``get_located``
downloads with GETs, trying first the form the name makes likely, so that a download is one request
in the common case: the GET brings the metadata with the bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from deltaglider.core.context import Context
from deltaglider.core.format.layout import is_delta_candidate, is_reserved_name, lookup_keys, split_key
from deltaglider.core.models import ObjectKey
from deltaglider.errors import InvalidURLError, NotFoundError
from deltaglider.ports.storage import ObjectHead, ProgressCallback

#: An upload that changes a name's form writes the new form before removing the old, so a lookup
#: that missed both had its heads straddle that change; the second pass sees the new form.
_PASSES = 2

#: Delta candidates that are stored whole all the same: their content is compressed (see put). With
#: archive transforms on, gzip content makes deltas too.
_COMPRESSED_SUFFIXES: Final = (".gz", ".tgz", ".bz2", ".xz")
_UNDECODED_SUFFIXES: Final = (".bz2", ".xz")
#: Archives by another name, which only content-judged uploads (not the original's) store as deltas.
_ARCHIVES_BY_OTHER_NAMES: Final = (
    ".whl",
    ".egg",
    ".nupkg",
    ".vsix",
    ".aar",
    ".ipa",
    ".xpi",
    ".crate",
    ".gem",
)


def check_object_key(ctx: Context, obj: ObjectKey) -> None:
    if not obj.key or obj.key.endswith("/"):
        raise InvalidURLError(f"{ctx.storage.url(obj.bucket, obj.key)}: names a folder, not an object")


def _not_found(ctx: Context, obj: ObjectKey, tried: list[str]) -> NotFoundError:
    return NotFoundError(
        f"no object at {ctx.storage.url(obj.bucket, tried[0])} nor {ctx.storage.url(obj.bucket, tried[1])}"
    )


def likely_keys(key: str, *, original_compatible: bool) -> list[str]:
    """``lookup_keys`` in the order the name makes likely: a delta candidate is usually stored as
    ``<name>.delta`` (the first file of a DeltaSpace too, beside the reference)."""
    keys = lookup_keys(key)
    _, name = split_key(key)
    lowered = name.lower()
    whole_anyway = _COMPRESSED_SUFFIXES if original_compatible else _UNDECODED_SUFFIXES
    candidate = is_delta_candidate(name) or (
        not original_compatible and lowered.endswith(_ARCHIVES_BY_OTHER_NAMES)
    )
    if is_reserved_name(name) or not candidate or lowered.endswith(whole_anyway):
        return keys
    return [keys[1], keys[0]]


def locate(ctx: Context, obj: ObjectKey) -> ObjectHead:
    check_object_key(ctx, obj)
    tried = lookup_keys(obj.key)
    for _ in range(_PASSES):
        for key in tried:
            head = ctx.storage.head(obj.bucket, key)
            if head is not None:
                return head
    raise _not_found(ctx, obj, tried)


def get_located(ctx: Context, obj: ObjectKey, dest: Path, progress: ProgressCallback | None) -> ObjectHead:
    """Downloads the stored object behind ``obj`` into ``dest`` and returns its head: one GET when the
    likely form is there, two when it is the other."""
    check_object_key(ctx, obj)
    tried = likely_keys(obj.key, original_compatible=ctx.original_compatible)
    for _ in range(_PASSES):
        for key in tried:
            try:
                return ctx.storage.get_file(obj.bucket, key, dest, progress)
            except NotFoundError:
                continue
    # Neither form, twice. A HEAD raises what a GET's miss cannot tell apart on every store: that the
    # bucket itself is missing (the S3 adapter checks once per bucket).
    ctx.storage.head(obj.bucket, tried[0])
    raise _not_found(ctx, obj, tried)
