"""The one protocol every flow that removes or rewrites stored objects goes through: uploads that
replace a name or depend on bases, ``delete``, retention, re-packing, ``sync --delete`` and ``rm``.

What it keeps true, whatever runs at the same time, on any number of machines:

- a file a user was told is stored stays readable, at every moment, until a later write or delete of
  its name;
- nothing removed comes back;
- a maintenance flow acts only on the version of a name it judged: a write or a delete of that name
  since then wins over it.

How:

1. *Versions.* Every removal or rewrite of a name's object names the version it judged (the ETag a
   HEAD gave) and the store applies it only to that version (``delete_if_match``,
   ``put_file_if_match``). Of a name's two forms (whole, delta), the other form goes only when its
   write stamp is not newer than the version that replaces it (:mod:`deltaglider.core.format.forms`).
2. *Removers announce first.* Whoever removes something deltas may need (a base; a user's whole file
   that served as one) first writes a marker beside it (``<key>.dg-removing-<stamp>``, see
   :func:`announced`), then lists the deltas that depend on it, and only then removes it; the marker
   goes last. A base with dependents is refused; a whole file with dependents is first kept under its
   content's own base key, ``reference-<sha>.bin``.
3. *Dependents re-check their bases.* A write that a rebuild will need a base for (a delta, a new
   snapshot) checks, after it is stored, each base in turn, nearest first (:func:`recheck`): first
   for a removal marker, then the base itself. A base that is being removed, replaced or gone is kept
   from the full content the write was made against: under its content's base key, which every rebuild
   looks at (:func:`deltaglider.core.rebuild.sources.candidate_keys`), or, for a hidden full base that
   vanished, under its own key. A user's name is never written back. Where no such place is left, the
   write does not count on the base (the upload stores the file whole instead). This comes before
   the name's other form is removed, so that the name reads at every moment.
4. *Rewrites announce too.* A rewrite moving a name to its other form (re-packing) announces the
   version it judged like a removal: a removal of the name waits for it to end before it looks at
   the other form again (:func:`remove_version`), and a user's upload of the name is acknowledged
   only after it ended (:func:`settle`), so that the old bytes, which the rewrite takes back once it
   finds its version gone, never read again.

*One listing for two questions, where its order allows.* A listing is read in key order, and S3
does not document a page as a snapshot: a page may show each key as it was at a different moment,
the earlier keys first. An upload's settle asks of its name in one listing of the name as a prefix
(:func:`glance`): its two forms sort before the markers of their rewrites and removals, which are
written before and deleted after anything those flows write, so a page read across a rewrite shows
either its marker or nothing of it. A base's re-check cannot: the base sorts before its removal's
marker, and the removal deletes the base before its marker, so a page read across its last two
steps would show the base and no marker. The re-check therefore lists the markers first and then
HEADs the base, two requests, in that order.

Why 2 and 3 never leave an acknowledged file unreadable: if the dependent's write came before the
remover's listing, the remover sees it and keeps the base. Otherwise the dependent's marker check
came after the marker was written: it either sees the marker, and keeps the content elsewhere before
it reports success, or comes after the removal ended, and then finds the base gone and puts it back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from deltaglider.core.context import Context
from deltaglider.core.family.known import forget as forget_bases
from deltaglider.core.format import forms
from deltaglider.core.format.layout import (
    DELTA_SUFFIX,
    base_key,
    display_name,
    is_base_name,
    is_marker_name,
    join_key,
    other_form_key,
    removing_prefix,
    split_key,
)
from deltaglider.core.format.metadata import (
    Kind,
    parse,
    parse_created_at,
    read_field,
    reference_metadata,
)
from deltaglider.core.history.keep import BaseHolder, keep, keep_at, kept_versions
from deltaglider.core.listing import in_order
from deltaglider.core.models import DeleteResult
from deltaglider.errors import MetadataError, NotFoundError, ReferenceInUseError, StorageError
from deltaglider.ports.storage import ObjectHead

#: A removal marker older than this is left by a remover that died: it no longer counts (and removing
#: a folder's unused bases removes it too). A removal lists, reads and deletes a few objects: seconds.
MARKER_LIFETIME: Final = timedelta(hours=1)


def sha_of(head: ObjectHead) -> str | None:
    return (read_field(head.metadata, "file_sha256") or "").lower() or None


# -- removal markers ------------------------------------------------------------------------------------


@contextmanager
def announced(ctx: Context, bucket: str, key: str) -> Iterator[str]:
    """A marker beside ``key`` for the duration (yielded): the object is being removed, by a remover
    or by a rewrite that moves its name to the other form (step 2 of the module doc). Each has a
    marker of its own, so that two at once do not end each other's."""
    marker = removing_prefix(key) + forms.new_stamp(ctx, bucket, None)
    with ctx.scratch() as scratch:
        empty = scratch / "marker"
        empty.write_bytes(b"")
        ctx.storage.put_file(bucket, marker, empty, {"dg-removing": split_key(key)[1]})
    try:
        yield marker
    finally:
        ctx.storage.delete(bucket, marker)


@dataclass(frozen=True)
class Glance:
    """What one listing of a key as a prefix says (:func:`glance`): the objects at the keys it names
    (a name's two forms share such a prefix), and the live removal markers beside them."""

    objects: Mapping[str, ObjectHead]
    markers: Sequence[ObjectHead]

    def version(self, key: str, etag: str | None) -> bool:
        """Whether ``key`` holds the version whose ETag is ``etag`` (False when either is unknown)."""
        found = self.objects.get(key)
        return etag is not None and found is not None and found.etag == etag


def glance(ctx: Context, bucket: str, prefix: str) -> Glance:
    """One listing of ``prefix`` (a key, or the shorter of a name's two forms): the objects there and
    the removal markers beside them that still count. A marker's own name starts with the key it
    announces, so one listing answers for the object and its removal at once."""
    now = ctx.clock.now()
    objects: dict[str, ObjectHead] = {}
    markers: list[ObjectHead] = []
    try:
        for obj in ctx.storage.list(bucket, prefix, recursive=False):
            if obj.is_prefix:
                continue
            if is_marker_name(split_key(obj.key)[1]):
                if not _expired(obj, now):
                    markers.append(obj)
            else:
                objects[obj.key] = obj
    except NotFoundError:
        pass  # no folder (a folder store's bucket not made yet): nothing there, as HEADs would say
    return Glance(objects, markers)


def being_removed(ctx: Context, bucket: str, key: str, *, besides: str | None = None) -> bool:
    """Whether a removal of ``key`` (other than the one whose marker is ``besides``) has announced
    itself and not ended (nor died long ago)."""
    now = ctx.clock.now()
    return any(
        obj.key != besides and not _expired(obj, now)
        for obj in ctx.storage.list(bucket, removing_prefix(key), recursive=False)
    )


#: How long a removal of a name waits for a rewrite of that name (re-packing moving it to its other
#: form) to end: the rewrite checks and undoes its own write in a few requests.
REWRITE_WAIT: Final = timedelta(seconds=30)
_POLL_S: Final = 0.05


def _wait_for_others(ctx: Context, bucket: str, key: str, besides: str | None) -> bool:
    """Waits while another has ``key`` announced (at most REWRITE_WAIT); whether any had."""
    deadline = time.monotonic() + REWRITE_WAIT.total_seconds()
    waited = False
    while being_removed(ctx, bucket, key, besides=besides) and time.monotonic() < deadline:
        waited = True
        time.sleep(_POLL_S)
    return waited


def _expired(marker: ObjectHead, now: datetime) -> bool:
    when = marker.last_modified
    if when is None:
        return False
    if when.tzinfo is None or now.tzinfo is None:
        when, now = when.replace(tzinfo=None), now.replace(tzinfo=None)
    return now - when > MARKER_LIFETIME


def expired_markers(ctx: Context, bucket: str, prefix: str) -> list[str]:
    """Markers under ``prefix`` left by removals that died (for ``cleanup``)."""
    now = ctx.clock.now()
    return [
        obj.key
        for obj in ctx.storage.list(bucket, prefix, recursive=True)
        if not obj.is_prefix and is_marker_name(split_key(obj.key)[1]) and _expired(obj, now)
    ]


# -- dependents and their bases --------------------------------------------------------------------


@dataclass(frozen=True)
class Pinned:
    """A base that a write just stored depends on: where it was found, its content's SHA-256, its
    metadata there, and a local file with that full content to keep it from (None: nothing to keep
    it from, so the write must not count on it)."""

    key: str
    sha256: str
    metadata: Mapping[str, str]
    local: Path | None


def is_hidden_full_base(key: str) -> bool:
    """``reference.bin`` or a further full reference: a base whose own key may be written back."""
    name = split_key(key)[1]
    return is_base_name(name) and not name.endswith(DELTA_SUFFIX)


def full_base_metadata(ctx: Context, pinned: Pinned) -> dict[str, str]:
    """The metadata of a full base holding ``pinned``'s content (made from what it recorded)."""
    meta = pinned.metadata
    created = parse_created_at(read_field(meta, "created_at"))
    name = read_field(meta, "source_name") or read_field(meta, "original_name") or split_key(pinned.key)[1]
    return reference_metadata(
        tool=ctx.tool_version,
        source_name=name,
        sha256=pinned.sha256,
        created_at=created if created is not None else ctx.clock.now(),
        fingerprint=read_field(meta, "fingerprint"),
    )


def _holds(ctx: Context, bucket: str, key: str, sha256: str) -> bool:
    head = ctx.storage.head(bucket, key)
    return head is not None and sha_of(head) == sha256


def _put_back(ctx: Context, bucket: str, key: str, pinned: Pinned, metadata: Mapping[str, str]) -> bool:
    assert pinned.local is not None
    if ctx.storage.put_file_if_absent(bucket, key, pinned.local, metadata):
        ctx.logger.info("kept a base for the deltas that need it", key=key)
        return True
    return _holds(ctx, bucket, key, pinned.sha256)


def held(ctx: Context, bucket: str, pinned: Pinned) -> bool:
    """Whether ``pinned``'s content is where a rebuild looks for it and stays there, keeping it
    there first when it must (step 3 of the module doc); False when nowhere is left for it. The
    markers first, then the base: one listing cannot answer both (module doc)."""
    removing = being_removed(ctx, bucket, pinned.key)
    head = ctx.storage.head(bucket, pinned.key)
    if not removing and head is not None and sha_of(head) == pinned.sha256:
        return True
    # The client's memo of this DeltaSpace's bases no longer describes what is there.
    forget_bases(ctx, bucket, split_key(pinned.key)[0])
    if pinned.local is None:
        return False
    if not removing and head is None and is_hidden_full_base(pinned.key):
        return _put_back(ctx, bucket, pinned.key, pinned, pinned.metadata)
    if ctx.original_compatible:
        return False  # the original looks for a base only where its delta names it
    prefix, _ = split_key(pinned.key)
    own = base_key(prefix, pinned.sha256, snapshot=False)
    if own == pinned.key:
        return False  # being removed or replaced, and no other place to keep it
    if not _holds(ctx, bucket, own, pinned.sha256) and not _put_back(
        ctx, bucket, own, pinned, full_base_metadata(ctx, pinned)
    ):
        return False
    # That base may itself be under removal now: the same rules hold for it.
    return held(ctx, bucket, Pinned(own, pinned.sha256, full_base_metadata(ctx, pinned), pinned.local))


def base_holder(ctx: Context, bucket: str) -> BaseHolder:
    """:func:`held` for a kept version that is a zero-diff against a base (core.history.keep)."""

    def hold(key: str, sha256: str, metadata: Mapping[str, str], local: Path) -> bool:
        return held(ctx, bucket, Pinned(key, sha256, metadata, local))

    return hold


def recheck(ctx: Context, bucket: str, chain: Sequence[Pinned]) -> bool:
    """After a write that depends on ``chain`` (nearest base first): True once every base is held."""
    return all(held(ctx, bucket, pinned) for pinned in chain)


def dependents(
    ctx: Context, bucket: str, prefix: str, sha256: str | None, *, first: bool = False
) -> list[str]:
    """Keys of the deltas (snapshots included) in ``prefix`` made against the content with ``sha256``
    (any delta there when it is None); with ``first``, at most one (whether any does). The deltas are
    HEADed several at once, as a listing is: a base with thousands of dependents is not thousands of
    round trips one after another."""

    def made_against(key: str) -> bool:
        head = ctx.storage.head(bucket, key)
        if head is None:
            return False
        try:
            info = parse(head.metadata, key)
        except MetadataError:
            return False
        return info.kind is Kind.DELTA and (sha256 is None or info.ref_sha256 == sha256)

    deltas = [
        obj.key
        for obj in ctx.storage.list(bucket, join_key(prefix, ""), recursive=False)
        if not obj.is_prefix and obj.key.endswith(DELTA_SUFFIX)
    ]
    # The versions kept in the names' histories are made against the same bases.
    deltas += kept_versions(ctx, bucket, prefix)
    found = []
    for key, depends in zip(deltas, in_order(deltas, made_against), strict=True):
        if depends:
            found.append(key)
            if first:
                break
    return found


# -- removing a base -----------------------------------------------------------------------------------


def in_use(url: str, deps: list[str]) -> ReferenceInUseError:
    shown = ", ".join(deps[:5]) + (", ..." if len(deps) > 5 else "")
    return ReferenceInUseError(
        f"{url} is the reference of {len(deps)} delta(s) ({shown}); deleting it makes them unreadable. "
        "Delete those first, or pass force=True"
    )


def remove_base(ctx: Context, bucket: str, head: ObjectHead, *, force: bool) -> DeleteResult | None:
    """Removes the base ``head`` names (that version of it), refused while deltas depend on it unless
    ``force`` (step 2 of the module doc). None, removing nothing, when another write replaced it since
    it was judged."""
    key = head.key
    prefix, _ = split_key(key)
    forget_bases(ctx, bucket, prefix)
    with announced(ctx, bucket, key):
        deps = dependents(ctx, bucket, prefix, sha_of(head))
        if deps and not force:
            raise in_use(ctx.storage.url(bucket, key), deps)
        if not _remove(ctx, bucket, head):
            return None
    result = DeleteResult(bucket=bucket, key=key, deleted=[key])
    if deps:
        result.warnings.append(f"{len(deps)} delta(s) depended on {key} and can no longer be rebuilt")
        ctx.logger.warning("forced deletion of a reference in use", key=key, dependents=len(deps))
    return result


def _remove(ctx: Context, bucket: str, head: ObjectHead) -> bool:
    """Removes exactly the version ``head`` names; one without an ETag (a listing's) by its key."""
    if head.etag is None:
        ctx.storage.delete(bucket, head.key)
        return True
    return ctx.storage.delete_if_match(bucket, head.key, head.etag)


def remove_kept_version(ctx: Context, bucket: str, head: ObjectHead) -> bool:
    """Removes a version kept in a name's history (core.history), as ``head`` judged it: a leaf,
    which nothing is rebuilt against, so no removal needs announcing."""
    return _remove(ctx, bucket, head)


# -- removing a version of a name ------------------------------------------------------------------------


def serves_as_base(head: ObjectHead) -> bool:
    """A user's file stored whole that later uploads may have used as a base: it records a
    fingerprint (:mod:`deltaglider.core.family.bases`)."""
    try:
        info = parse(head.metadata, head.key)
    except MetadataError:
        return False
    return info.kind is Kind.WHOLE and bool(read_field(head.metadata, "fingerprint"))


def _is_delta(head: ObjectHead) -> bool:
    try:
        return parse(head.metadata, head.key).kind is Kind.DELTA
    except MetadataError:
        return False


def other_form(head: ObjectHead) -> str | None:
    """The key of the other form of the name stored at ``head.key`` (None for names with one form)."""
    is_delta = _is_delta(head)
    if head.key.endswith(DELTA_SUFFIX) and not is_delta:
        return None  # a whole file under a .delta key (a reserved name, or the original's): one form
    prefix, _ = split_key(head.key)
    name = split_key(display_name(head.key) or head.key)[1]
    return other_form_key(prefix, name, stored_whole=not is_delta)


def _is_stale_other_form(head: ObjectHead, version: ObjectHead) -> bool:
    """Whether ``head`` (at the other form's key) is an older form of the name ``version`` holds: a
    delta beside a whole file (by its metadata), or a whole file beside a delta; never a newer upload,
    and never an unrelated file whose name ends in .delta."""
    if not _is_delta(version) and not _is_delta(head):
        return False
    return not forms.newer(forms.stamp_of(head.metadata), forms.stamp_of(version.metadata))


def remove_version(
    ctx: Context,
    bucket: str,
    version: ObjectHead,
    *,
    entire: bool = False,
    alone: bool = False,
    keeping: bool = False,
) -> list[str] | None:
    """Removes the version of a name that ``version`` (a HEAD) names, and an older other form of the
    same name left by an interrupted upload; with ``entire`` (a user's delete of the name) the other
    form whatever its age; with ``alone`` (a rewrite that just wrote the other form) that version
    only. None, removing nothing, when the name was written since (another version is there, or it
    is gone). A whole file that served as a base is first kept for the deltas that need it, under its
    base key (step 2 of the module doc). ``keeping`` (a removal that keeps history, which kept
    ``version`` already): the other form is kept in the name's history before it goes."""
    if not serves_as_base(version):
        return _remove_name(ctx, bucket, version, entire=entire, alone=alone, keeping=keeping)
    forget_bases(ctx, bucket, split_key(version.key)[0])
    with announced(ctx, bucket, version.key) as marker:
        if not keep_for_dependents(ctx, bucket, version):
            return None
        return _remove_name(ctx, bucket, version, entire=entire, alone=alone, marker=marker, keeping=keeping)


def _remove_name(
    ctx: Context,
    bucket: str,
    version: ObjectHead,
    *,
    entire: bool,
    alone: bool = False,
    marker: str | None = None,
    keeping: bool = False,
) -> list[str] | None:
    if not _remove(ctx, bucket, version):
        return None
    removed = [version.key]
    if alone:
        return removed
    removed += _remove_other_form(ctx, bucket, version, entire=entire, keeping=keeping)
    # A rewrite of this version (re-packing) that announced itself may write the name's other form
    # any moment: once it ends (it removes its own write when it finds the version gone), the other
    # form is looked at again, so that what is removed here does not come back.
    if _wait_for_others(ctx, bucket, version.key, marker):
        removed += _remove_other_form(ctx, bucket, version, entire=entire, keeping=keeping)
    return removed


def _remove_other_form(
    ctx: Context, bucket: str, version: ObjectHead, *, entire: bool, keeping: bool = False
) -> list[str]:
    other = other_form(version)
    theirs = ctx.storage.head(bucket, other) if other is not None else None
    if theirs is not None and (
        _is_stale_other_form(theirs, version) or (entire and (_is_delta(version) or _is_delta(theirs)))
    ):
        # The other form may hold a version written since the removal kept the name's versions (an
        # upload that has ended): a removal that keeps history keeps it too before it goes.
        if keeping and not keep(ctx, bucket, theirs, hold=base_holder(ctx, bucket)):
            return []
        return remove_version(ctx, bucket, theirs, keeping=keeping) or []
    return []


def keep_for_dependents(ctx: Context, bucket: str, version: ObjectHead) -> bool:
    """Called with the removal of ``version`` (a whole file that served as a base) announced: when
    deltas depend on it, its content is kept under its base key. False when it is no longer that
    version (so it is not the one to remove)."""
    sha = sha_of(version)
    prefix, _ = split_key(version.key)
    if sha is None or not dependents(ctx, bucket, prefix, sha, first=True):
        return True
    with ctx.scratch() as scratch:
        kept = scratch / "file"
        fetched = ctx.storage.get_file(bucket, version.key, kept)
        if version.etag is not None and fetched.etag != version.etag:
            return False
        if not held(ctx, bucket, Pinned(version.key, sha, version.metadata, kept)):
            raise StorageError(
                f"{ctx.storage.url(bucket, version.key)}: could not keep it as a base for the deltas "
                "that need it"
            )
    return True


# -- a user's upload over a name ------------------------------------------------------------------------


def remove_own_write(ctx: Context, bucket: str, key: str, stamp: str) -> None:
    """Removes the object at ``key`` if it is still the write stamped ``stamp`` (that version only)."""
    mine = ctx.storage.head(bucket, key)
    if mine is not None and forms.stamp_of(mine.metadata) == stamp:
        _remove(ctx, bucket, mine)


#: How often an upload writes its object again when another upload removed it as stale meanwhile.
_SETTLE_ROUNDS = 3


def settle(
    ctx: Context,
    bucket: str,
    written: str,
    *,
    other: str | None,
    stamp: str,
    rewrite: Callable[[], None],
    marker: str | None = None,
    etag: str | None = None,
) -> bool:
    """Called after a user's upload stored ``written`` with ``stamp`` (having announced ``marker``
    itself, if any; ``etag``: what the store said it wrote): resolves the other form ``other`` of the
    name (None when both forms share one key), by the stamps of :mod:`deltaglider.core.format.forms`.
    False when a newer upload of the name superseded this one."""
    if other is None:
        return True
    # The usual case in one listing of the name (its two forms and their markers share a prefix):
    # no rewrite or removal of either form announced, no other form, and the name holds the very
    # version this upload wrote. That is what the HEADs below would find, one by one.
    shorter, longer = sorted((written, other), key=len)
    if longer.startswith(shorter):
        seen = glance(ctx, bucket, shorter)
        if not seen.markers and other not in seen.objects and seen.version(written, etag):
            return True
    # A rewrite that judged the version this upload just replaced (re-packing moving the name to its
    # other form) announced itself, and may write the other form any moment, with the old bytes; it
    # ends by removing that write once it finds its version gone. The upload is acknowledged only
    # after that, so that the name never reads its old bytes again.
    _wait_for_others(ctx, bucket, written, marker)
    for _ in range(_SETTLE_ROUNDS):
        theirs = ctx.storage.head(bucket, other)
        if theirs is not None:
            their_stamp = forms.stamp_of(theirs.metadata)
            if their_stamp == stamp:
                # This upload's own version, moved to the other form by a rewrite (re-packing keeps
                # the stamp of what it rewrites): it reads, and it is the name's newest.
                return True
            if forms.newer(their_stamp, stamp):
                if ctx.keep_history:
                    # Superseded, but a version of the name all the same.
                    keep_at(ctx, bucket, written, hold=base_holder(ctx, bucket))
                remove_own_write(ctx, bucket, written, stamp)
                ctx.logger.info("a newer upload of the same name superseded this one", key=other)
                return False
            if (
                ctx.keep_history and not keep(ctx, bucket, theirs, hold=base_holder(ctx, bucket))
            ) or remove_version(ctx, bucket, theirs) is None:
                continue  # it changed since its HEAD (a rewrite keeps its stamp): look at it again
            ctx.logger.info("removed the stale other form of the same name", key=other)
        mine = ctx.storage.head(bucket, written)
        if mine is not None:
            found = forms.stamp_of(mine.metadata)
            if found == stamp or forms.newer(found, stamp):
                return True  # this upload's object, or a newer upload's, which wins
            # Else an older version took its place (a rewrite of the version this upload replaced,
            # landing after another flow removed this upload's object): written again below.
        elif ctx.keep_history:
            # Removed as stale by a newer upload of the other form (which kept it in the history
            # first, if it keeps history): that upload superseded this one. Written again, this
            # version would be kept there once more, after retention may have removed it.
            theirs = ctx.storage.head(bucket, other)
            if theirs is not None and forms.newer(forms.stamp_of(theirs.metadata), stamp):
                ctx.logger.info("a newer upload of the same name superseded this one", key=other)
                return False
        ctx.logger.warning("another upload removed this one's object as stale; writing it again", key=written)
        rewrite()
    return True
