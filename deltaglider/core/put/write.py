"""Writing an upload's objects: the one store write with a role (:func:`put_file`), a name's write
and its re-check of the bases a delta depends on, storing a file whole or as a delta, and the summary
every way of storing returns (:func:`summary`).

The flows are in :mod:`deltaglider.core.put.flow` (the first reference, the original's scheme) and
:mod:`deltaglider.core.put.new_bases` (several bases); every removal or rewrite they make goes through
:mod:`deltaglider.core.protocol`.

A name is written in one of two ways. A user's upload replaces whatever version the name holds (the
last writer wins, :func:`deltaglider.core.protocol.settle`). A rewrite (re-packing) replaces only the
version it judged (``Upload.replaces``): it yields, leaving nothing of its own, when the name was
written or deleted since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from deltaglider.core import protocol
from deltaglider.core.context import Context
from deltaglider.core.format import forms
from deltaglider.core.format.layout import (
    delta_key,
    other_form_key,
    whole_key,
)
from deltaglider.core.format.metadata import (
    Transform,
    delta_metadata,
    whole_metadata,
)
from deltaglider.core.history.keep import keep_at
from deltaglider.core.history.versions import newest_kept
from deltaglider.core.models import PutSummary
from deltaglider.core.protocol import Pinned
from deltaglider.core.put.encode import recorded_choices
from deltaglider.core.put.policy import Role, policy
from deltaglider.core.put.values import Candidate, Reference, Upload
from deltaglider.errors import DeltaGliderError, StorageError

#: Below this, a file that is no archive is stored whole rather than start a reference: the most a
#: delta could save on it is small, and a poor reference costs every later upload.
FOUNDING_MIN_SIZE: Final = 1 << 20


class SupersededError(DeltaGliderError):
    """A rewrite found its name written or deleted since it was judged; nothing of it was kept."""


def put_file(
    ctx: Context,
    up: Upload,
    key: str,
    src: Path,
    meta: Mapping[str, str],
    *,
    role: Role,
    if_absent: bool = False,
    if_match: str | None = None,
) -> bool:
    """The one store write of an upload: ``src`` at ``key`` with deltaglider's ``meta``, stored as
    ``role`` asks of the upload's own options (:func:`deltaglider.core.put.policy.policy`). With
    ``if_absent`` only where nothing is, with ``if_match`` only over that version: False when the
    store refused it for that."""
    options = policy(role, up.options, up.name)
    bucket = up.space.bucket
    if if_match is not None:
        return ctx.storage.put_file_if_match(
            bucket, key, src, meta, up.progress, etag=if_match, options=options
        )
    if if_absent:
        return ctx.storage.put_file_if_absent(bucket, key, src, meta, up.progress, options=options)
    put_over(ctx, up, key, src, meta, role=role)
    return True


def put_over(
    ctx: Context, up: Upload, key: str, src: Path, meta: Mapping[str, str], *, role: Role
) -> str | None:
    """:func:`put_file` over whatever ``key`` holds; returns the ETag of what it wrote (None where the
    store does not say), by which a listing tells this write's object from another's."""
    options = policy(role, up.options, up.name)
    return ctx.storage.put_file(up.space.bucket, key, src, meta, up.progress, options=options)


def put_delta(
    ctx: Context,
    up: Upload,
    made: Candidate,
    *,
    ref: Reference,
    zero_diff: bool,
    chain: Sequence[Pinned] = (),
) -> str | None:
    """Stores ``made`` under the file's name and returns its key; ``chain``: the bases it depends
    on (nearest first), re-checked before the name's other form is removed. None when one of them is
    gone for good: the caller stores the file whole instead, which supersedes the delta."""
    key = delta_key(up.space.prefix, up.name)
    other = other_form_key(up.space.prefix, up.name, stored_whole=False)
    seen = _look(ctx, up)
    stamp = _stamp(ctx, up, other, seen)
    meta = metadata_of(ctx, up, ref, made.size, stamp, zero_diff=zero_diff, transform=made.transform)
    if not write_name(
        ctx, up, key, made.path, meta, role=Role.DELTA, other=other, stamp=stamp, chain=chain, seen=seen
    ):
        return None
    return key


def metadata_of(
    ctx: Context,
    up: Upload,
    ref: Reference,
    delta_size: int,
    stamp: str,
    *,
    zero_diff: bool = False,
    transform: Transform | None = None,
    snapshot_fingerprint: str | None = None,
) -> dict[str, str]:
    """The metadata of a delta of the upload's file against ``ref`` (with ``snapshot_fingerprint``,
    of the file stored as a snapshot base)."""
    return delta_metadata(
        tool=ctx.tool_version,
        original_name=up.name,
        sha256=up.sha256,
        size=up.size,
        created_at=up.created_at,
        ref_key=ref.key,
        ref_sha256=ref.sha256,
        delta_size=delta_size,
        write_stamp=stamp,
        zero_diff=zero_diff,
        transform=transform,
        snapshot_fingerprint=snapshot_fingerprint,
        choices=None if snapshot_fingerprint is None else recorded_choices(ctx, up),
        # A base records no time of the user's file: it is no file of the listing.
        source_mtime=None if snapshot_fingerprint is not None else up.source_mtime,
    )


def _look(ctx: Context, up: Upload) -> protocol.Glance | None:
    """A user's upload looks at its name once before it writes: one listing of the name's prefix
    tells whether its other form (whose stamp the new one must pass) and a whole file it may replace
    (that may serve as a base) are there, so that only what is there is HEADed. A rewrite judged its
    version already (None)."""
    if up.replaces is not None:
        return None
    return protocol.glance(ctx, up.space.bucket, whole_key(up.space.prefix, up.name))


def _stamp(ctx: Context, up: Upload, other: str | None, seen: protocol.Glance | None = None) -> str:
    """A user's upload is later than every version of its name; a rewrite keeps the stamp of the
    version it replaces, so that any upload of the name since, or after, wins over it. ``seen``: the
    upload's look at its name (:func:`_look`), which tells whether the other form is there."""
    if up.replaces is not None:
        kept = forms.stamp_of(up.replaces.metadata)
        if kept:
            return kept
    if seen is not None and other is not None and other not in seen.objects:
        other = None  # nothing there whose stamp this one must pass
    return forms.new_stamp(ctx, up.space.bucket, other)


def write_name(
    ctx: Context,
    up: Upload,
    key: str,
    src: Path,
    meta: Mapping[str, str],
    *,
    role: Role,
    other: str | None,
    stamp: str,
    chain: Sequence[Pinned] = (),
    seen: protocol.Glance | None = None,
) -> bool:
    """Stores ``src`` under ``key``, the name's object of ``role``, as a user's upload or a rewrite
    (module doc). The bases it depends on (``chain``) are re-checked before the name's other form is
    removed, so that the name reads at every moment; False, settling nothing, when one of them is
    gone for good. ``seen``: the upload's look at its name before it wrote (:func:`_look`)."""
    if up.replaces is not None:
        return _rewrite(ctx, up, key, src, meta, role=role, stamp=stamp, chain=chain)
    bucket = up.space.bucket
    # A whole file that served as a base and is replaced in place: its bytes are kept first, for
    # the deltas that need them (core.protocol). Only a whole form can be such a file, and only one
    # that is there.
    replaces_whole = key != delta_key(up.space.prefix, up.name) and (seen is None or key in seen.objects)
    previous = ctx.storage.head(bucket, key) if replaces_whole else None
    replaced_base = (
        previous is not None and protocol.serves_as_base(previous) and protocol.sha_of(previous) != up.sha256
    )

    etag: str | None = None
    if ctx.keep_history and other is not None and (seen is None or other in seen.objects):
        # The other form goes once this write settles: its version is kept first.
        keep_at(ctx, bucket, other, hold=protocol.base_holder(ctx, bucket))

    def written() -> bool:
        """Writes the object; True once every base it depends on is held (core.protocol)."""
        nonlocal etag, stamp, meta
        if ctx.keep_history:
            stamp, meta = _put_keeping(ctx, up, key, src, meta, role=role, stamp=stamp)
        else:
            etag = put_over(ctx, up, key, src, meta, role=role)
        return protocol.recheck(ctx, bucket, chain)

    def write_again() -> None:
        if not written():
            raise _BasesGoneError

    def gone() -> bool:
        """The object written depends on a base gone for good: the caller stores the file whole
        instead. With history kept, the write goes now, or that whole form's write would keep it
        in the name's history as a version, which would not rebuild."""
        if ctx.keep_history:
            protocol.remove_own_write(ctx, bucket, key, stamp)
        return False

    try:
        if not replaced_base:
            if not written():
                return gone()
            protocol.settle(ctx, bucket, key, other=other, stamp=stamp, rewrite=write_again, etag=etag)
            return True
        assert previous is not None
        with protocol.announced(ctx, bucket, key) as marker:
            protocol.keep_for_dependents(ctx, bucket, previous)
            if not written():
                return gone()
            protocol.settle(
                ctx, bucket, key, other=other, stamp=stamp, rewrite=write_again, marker=marker, etag=etag
            )
        return True
    except _BasesGoneError:
        return gone()


#: How often an upload that keeps history looks at its key again when another write got there
#: between its look and its write.
_KEEP_ROUNDS = 10


def _put_keeping(
    ctx: Context, up: Upload, key: str, src: Path, meta: Mapping[str, str], *, role: Role, stamp: str
) -> tuple[str, Mapping[str, str]]:
    """:func:`put_over` for a client that keeps history: the version ``key`` holds is kept first,
    and the write lands only over that version (or where nothing is), so that a version another
    writer put there meanwhile is kept too, never overwritten unseen. The write's stamp passes the
    version it replaces, so that stamps order the name's versions as they landed. Returns the stamp
    and metadata written."""
    bucket = up.space.bucket
    for _ in range(_KEEP_ROUNDS):
        there = keep_at(ctx, bucket, key, hold=protocol.base_holder(ctx, bucket))
        if there is None:
            # Nothing at the name (new, or deleted with its history kept, maybe since this upload
            # took its stamp): the stamp passes the newest kept version, so the current one is the
            # newest.
            stamp, meta = _passing(ctx, stamp, meta, newest_kept(ctx, bucket, up.space.prefix, up.name))
            if put_file(ctx, up, key, src, meta, role=role, if_absent=True):
                return stamp, meta
            continue
        stamp, meta = _passing(ctx, stamp, meta, forms.version_id(there))
        assert there.etag is not None  # every store gives a HEAD's ETag
        if put_file(ctx, up, key, src, meta, role=role, if_match=there.etag):
            return stamp, meta
    raise StorageError(f"{ctx.storage.url(bucket, key)} kept changing while it was written")


def _passing(
    ctx: Context, stamp: str, meta: Mapping[str, str], floor: str | None
) -> tuple[str, Mapping[str, str]]:
    """``stamp`` and ``meta`` as they are when the stamp is later than ``floor`` (a version's ID, or
    None), else a new stamp past it, written into the metadata."""
    if floor is None or forms.newer(stamp, floor):
        return stamp, meta
    stamp = forms.stamp_after(ctx, floor)
    return stamp, forms.with_stamp(meta, stamp)


class _BasesGoneError(Exception):
    """An object written again (another flow removed it meanwhile) found a base it needs gone for good."""


def _rewrite(
    ctx: Context,
    up: Upload,
    key: str,
    src: Path,
    meta: Mapping[str, str],
    *,
    role: Role,
    stamp: str,
    chain: Sequence[Pinned],
) -> bool:
    """Replaces the version ``up.replaces`` with ``src`` at ``key``, or raises :class:`SupersededError`.
    False when it replaced it in place and a base of the new version is gone for good."""
    judged = up.replaces
    assert judged is not None and judged.etag is not None  # re-packing judges by a HEAD
    bucket = up.space.bucket
    if key == judged.key:
        if not put_file(ctx, up, key, src, meta, role=role, if_match=judged.etag):
            raise SupersededError(
                f"{ctx.storage.url(bucket, key)} was written or deleted since it was judged"
            )
        return protocol.recheck(ctx, bucket, chain)
    # The name changes form. Announced first, as a removal of the judged version: a removal of the
    # name that comes meanwhile waits for this rewrite to end before it looks at the other form
    # again (core.protocol), so a name deleted meanwhile is not brought back by the new form. The
    # judged version must still be there after the announcement; the new form is created only where
    # nothing is, and must read (its bases held) before the judged version goes, since the file was
    # acknowledged long ago; the judged version goes only if it is still there, or the new form goes
    # again.
    gone = f"{ctx.storage.url(bucket, judged.key)} was written or deleted since it was judged"
    with protocol.announced(ctx, bucket, judged.key):
        now = ctx.storage.head(bucket, judged.key)
        if now is None or now.etag != judged.etag:
            raise SupersededError(gone)
        if not put_file(ctx, up, key, src, meta, role=role, if_absent=True):
            raise SupersededError(f"{ctx.storage.url(bucket, key)} was written since the name was judged")
        if not protocol.recheck(ctx, bucket, chain):
            protocol.remove_own_write(ctx, bucket, key, stamp)
            raise SupersededError(f"a base of {ctx.storage.url(bucket, key)} went while it was written")
        if protocol.remove_version(ctx, bucket, judged, alone=True) is None:
            protocol.remove_own_write(ctx, bucket, key, stamp)
            raise SupersededError(gone)
    return True


def store_whole(
    ctx: Context,
    up: Upload,
    reason: str,
    *,
    delta_ratio: float | None = None,
    fingerprint: str | None = None,
) -> PutSummary:
    """Stores the file whole under its name; with ``fingerprint`` (recorded in its metadata) it may
    serve later uploads of its DeltaSpace as a base (core.family.bases)."""
    key = whole_key(up.space.prefix, up.name)
    other = other_form_key(up.space.prefix, up.name, stored_whole=True)
    seen = _look(ctx, up)
    stamp = _stamp(ctx, up, other, seen)
    meta = whole_metadata(
        tool=ctx.tool_version,
        original_name=up.name,
        sha256=up.sha256,
        size=up.size,
        created_at=up.created_at,
        write_stamp=stamp,
        fingerprint=fingerprint,
        choices=None if fingerprint is None else recorded_choices(ctx, up),
        source_mtime=up.source_mtime,
    )
    role = Role.FILE if fingerprint is None else Role.BASE_FILE
    write_name(ctx, up, key, up.file, meta, role=role, other=other, stamp=stamp, seen=seen)
    return summary(up, key, reason, stored_size=up.size, delta_ratio=delta_ratio)


def store_delta(
    ctx: Context, up: Upload, ref: Reference, made: Candidate, *, chain: list[Pinned]
) -> PutSummary:
    """Stores ``made`` (a delta against ``ref``) under the file's name, re-checking the bases it
    depends on (``chain``, ``ref`` first: core.protocol). If one is gone for good, the file is stored
    whole instead."""
    key = put_delta(ctx, up, made, ref=ref, zero_diff=False, chain=chain)
    ratio = made.size / up.size
    if key is None:
        return store_whole(
            ctx, up, f"{ref.key} was replaced while this file was encoded against it", delta_ratio=ratio
        )
    container = made.transform.container if made.transform else None
    return summary(
        up,
        key,
        f"delta of the decoded {container} content against {ref.key}"
        if container
        else f"delta against {ref.key}",
        stored_size=made.size,
        delta_size=made.size,
        delta_hash=ctx.hasher.sha256_file(made.path),
        delta_ratio=ratio,
        reference_hash=ref.sha256,
        transform=made.transform,
    )


def summary(
    up: Upload,
    key: str,
    reason: str,
    *,
    stored_size: int,
    delta_size: int | None = None,
    delta_hash: str | None = None,
    delta_ratio: float | None = None,
    reference_hash: str | None = None,
    transform: Transform | None = None,
    whole: bool | None = None,
) -> PutSummary:
    """What every way of storing returns: ``key`` holds the file's bytes. It was stored as a delta
    when ``reference_hash`` names the base it is made against, unless ``whole`` says otherwise (the
    first file of a DeltaSpace is its base, stored whole)."""
    as_delta = reference_hash is not None if whole is None else not whole
    return PutSummary(
        operation="PUT_DELTA" if as_delta else "PUT",
        bucket=up.space.bucket,
        key=key,
        file_size=up.size,
        file_hash=up.sha256,
        delta_size=delta_size,
        delta_hash=delta_hash,
        delta_ratio=delta_ratio,
        reference_hash=reference_hash,
        stored_size=stored_size,
        reason=reason,
        transform=transform.container if transform is not None else None,
    )
