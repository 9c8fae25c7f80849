"""The pieces every way of uploading shares: the upload's state, making and checking a delta,
writing a name with its role, the re-check of the bases a delta depends on, and storing a file whole.

The flows are in :mod:`deltaglider.core.put.flow` (the first reference, the original's scheme) and
:mod:`deltaglider.core.put.new_bases` (several bases); every removal or rewrite they make goes through
:mod:`deltaglider.core.protocol`.

A name is written in one of two roles. A user's upload replaces whatever version the name holds (the
last writer wins, :func:`deltaglider.core.protocol.settle`). A rewrite (re-packing) replaces only the
version it judged (``Upload.replaces``): it yields, leaving nothing of its own, when the name was
written or deleted since.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
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
from deltaglider.core.models import DeltaSpace, PutSummary
from deltaglider.core.protocol import Pinned
from deltaglider.core.put import archives
from deltaglider.core.rebuild.sources import derived_origin
from deltaglider.errors import CodecError, DeltaGliderError
from deltaglider.ports.storage import ObjectHead, ProgressCallback
from deltaglider.transforms.container import CONTAINERS
from deltaglider.transforms.sniff import Container

#: A delta of decoded content is stored only when at most this share of the plain delta's size.
TRANSFORM_GAIN: Final = 0.75


#: Below this, a file that is no archive is stored whole rather than start a reference: the most a
#: delta could save on it is small, and a poor reference costs every later upload.
FOUNDING_MIN_SIZE: Final = 1 << 20


@dataclass(frozen=True)
class Upload:
    file: Path  # the private copy; ``source`` is the user's file, named in messages
    source: Path
    space: DeltaSpace
    name: str
    size: int
    sha256: str
    max_ratio: float
    progress: ProgressCallback | None
    created_at: datetime  # recorded as dg-created-at: now, or what re-packing carries over
    container: Container | None  # what the file's first bytes make it (transforms.sniff)
    source_mtime: datetime | None = None  # the user's file's modification time, recorded for retention
    replaces: ObjectHead | None = None  # a rewrite: the version of the name it may replace, and no other


class SupersededError(DeltaGliderError):
    """A rewrite found its name written or deleted since it was judged; nothing of it was kept."""


@dataclass(frozen=True)
class Reference:
    key: str
    sha256: str
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class Delta:
    """A delta checked to rebuild the file, ready to store."""

    path: Path
    size: int
    sha256: str
    transform: Transform | None = None


def choose_delta(ctx: Context, up: Upload, ref: Reference, reference: Path, scratch: Path) -> Delta | float:
    """The smaller of the plain delta and the delta of the decoded content, checked to rebuild the
    file; the plain delta's ratio when neither fits ``max_ratio``. The decoded one must be clearly
    smaller (:data:`TRANSFORM_GAIN`): every download of it pays a recompression."""
    plain = scratch / "delta"
    plain_size = ctx.encode(reference, up.file, plain)
    # One after the other: encoding both at once saved ~10% of the time on two cores for ~25% more
    # peak memory (botocore wheels), and memory is what Lambda-sized machines run out of.
    ratio = plain_size / up.size
    decoded = None
    if not ctx.original_compatible and up.container in CONTAINERS:
        # When the plain delta is over max_ratio, any decoded one that fits is better than none.
        limit = TRANSFORM_GAIN * plain_size if ratio <= up.max_ratio else up.max_ratio * up.size
        decoded = _transformed_delta(ctx, up, ref, reference, scratch, limit=limit)
    if decoded is not None:
        return decoded
    if ratio > up.max_ratio:
        return ratio
    self_check(ctx, reference, plain, scratch, up)
    return Delta(plain, plain_size, ctx.hasher.sha256_file(plain))


def _transformed_delta(
    ctx: Context, up: Upload, ref: Reference, reference: Path, scratch: Path, *, limit: float
) -> Delta | None:
    """The delta of the decoded content when the file's container reproduces and the delta is at
    most ``limit`` bytes; None otherwise."""
    room = scratch / "transformed"
    room.mkdir()
    made = archives.encode(
        ctx,
        reference,
        up.file,
        ref_sha256=ref.sha256,
        sha256=up.sha256,
        scratch=room,
        size_limit=limit,
        origin=derived_origin(ctx, up.space.bucket, ref.key),
    )
    if made is None:
        ctx.logger.info("no decoded delta small enough; the plain delta stands", name=up.name)
        return None
    return Delta(made.path, made.size, ctx.hasher.sha256_file(made.path), made.transform)


def self_check(ctx: Context, reference: Path, delta: Path, scratch: Path, up: Upload) -> None:
    """Decodes the new delta before storing it: an upload that reports success must be recoverable."""
    rebuilt = scratch / "rebuilt"
    ctx.diff.decode(reference, delta, rebuilt, expected_size=up.size)
    if ctx.hasher.sha256_file(rebuilt) != up.sha256:
        raise CodecError(
            f"the delta for {up.source} does not rebuild it; it was not stored", name="SELF_CHECK"
        )
    rebuilt.unlink()


def zero_diff(ctx: Context, up: Upload, scratch: Path) -> tuple[Path, int]:
    """The file's delta against itself, checked: what its name holds once the file became a base."""
    delta = scratch / "zero-diff"
    size = ctx.encode(up.file, up.file, delta)
    self_check(ctx, up.file, delta, scratch, up)
    return delta, size


def put_delta(
    ctx: Context,
    up: Upload,
    delta: Path,
    *,
    delta_size: int,
    ref: Reference,
    zero_diff: bool,
    transform: Transform | None = None,
    chain: Sequence[Pinned] = (),
) -> str | None:
    """Stores ``delta`` under the file's name and returns its key; ``chain``: the bases it depends
    on (nearest first), re-checked before the name's other form is removed. None when one of them is
    gone for good: the caller stores the file whole instead, which supersedes the delta."""
    key = delta_key(up.space.prefix, up.name)
    other = other_form_key(up.space.prefix, up.name, stored_whole=False)
    stamp = _stamp(ctx, up, other)
    meta = metadata_of(ctx, up, ref, delta_size, stamp, zero_diff=zero_diff, transform=transform)
    if not write_name(ctx, up, key, delta, meta, other=other, stamp=stamp, chain=chain):
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
        # A base records no time of the user's file: it is no file of the listing.
        source_mtime=None if snapshot_fingerprint is not None else up.source_mtime,
    )


def _stamp(ctx: Context, up: Upload, other: str | None) -> str:
    """A user's upload is later than every version of its name; a rewrite keeps the stamp of the
    version it replaces, so that any upload of the name since, or after, wins over it."""
    if up.replaces is not None:
        kept = forms.stamp_of(up.replaces.metadata)
        if kept:
            return kept
    return forms.new_stamp(ctx, up.space.bucket, other)


def write_name(
    ctx: Context,
    up: Upload,
    key: str,
    src: Path,
    meta: Mapping[str, str],
    *,
    other: str | None,
    stamp: str,
    chain: Sequence[Pinned] = (),
) -> bool:
    """Stores ``src`` under ``key``, the name's object, in the upload's role (module doc). The bases
    it depends on (``chain``) are re-checked before the name's other form is removed, so that the
    name reads at every moment; False, settling nothing, when one of them is gone for good."""
    if up.replaces is not None:
        return _rewrite(ctx, up, key, src, meta, stamp=stamp, chain=chain)
    bucket = up.space.bucket
    # A whole file that served as a base and is replaced in place: its bytes are kept first, for
    # the deltas that need them (core.protocol). Only a whole form can be such a file.
    previous = ctx.storage.head(bucket, key) if key != delta_key(up.space.prefix, up.name) else None
    replaced_base = (
        previous is not None and protocol.serves_as_base(previous) and protocol.sha_of(previous) != up.sha256
    )

    def written() -> bool:
        """Writes the object; True once every base it depends on is held (core.protocol)."""
        ctx.storage.put_file(bucket, key, src, meta, up.progress)
        return protocol.recheck(ctx, bucket, chain)

    def write_again() -> None:
        if not written():
            raise _BasesGoneError

    try:
        if not replaced_base:
            if not written():
                return False
            protocol.settle(ctx, bucket, key, other=other, stamp=stamp, rewrite=write_again)
            return True
        assert previous is not None
        with protocol.announced(ctx, bucket, key) as marker:
            protocol.keep_for_dependents(ctx, bucket, previous)
            if not written():
                return False
            protocol.settle(ctx, bucket, key, other=other, stamp=stamp, rewrite=write_again, marker=marker)
        return True
    except _BasesGoneError:
        return False


class _BasesGoneError(Exception):
    """An object written again (another flow removed it meanwhile) found a base it needs gone for good."""


def _rewrite(
    ctx: Context,
    up: Upload,
    key: str,
    src: Path,
    meta: Mapping[str, str],
    *,
    stamp: str,
    chain: Sequence[Pinned],
) -> bool:
    """Replaces the version ``up.replaces`` with ``src`` at ``key``, or raises :class:`SupersededError`.
    False when it replaced it in place and a base of the new version is gone for good."""
    judged = up.replaces
    assert judged is not None and judged.etag is not None  # re-packing judges by a HEAD
    bucket = up.space.bucket
    if key == judged.key:
        if not ctx.storage.put_file_if_match(bucket, key, src, meta, up.progress, etag=judged.etag):
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
        if not ctx.storage.put_file_if_absent(bucket, key, src, meta, up.progress):
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
    serve later uploads of its DeltaSpace as a base (core.bases)."""
    key = whole_key(up.space.prefix, up.name)
    other = other_form_key(up.space.prefix, up.name, stored_whole=True)
    stamp = _stamp(ctx, up, other)
    meta = whole_metadata(
        tool=ctx.tool_version,
        original_name=up.name,
        sha256=up.sha256,
        size=up.size,
        created_at=up.created_at,
        write_stamp=stamp,
        fingerprint=fingerprint,
        source_mtime=up.source_mtime,
    )
    write_name(ctx, up, key, up.file, meta, other=other, stamp=stamp)
    return PutSummary(
        operation="PUT",
        bucket=up.space.bucket,
        key=key,
        file_size=up.size,
        file_hash=up.sha256,
        delta_ratio=delta_ratio,
        stored_size=up.size,
        reason=reason,
    )


def store_delta(ctx: Context, up: Upload, ref: Reference, made: Delta, *, chain: list[Pinned]) -> PutSummary:
    """Stores ``made`` (a delta against ``ref``) under the file's name, re-checking the bases it
    depends on (``chain``, ``ref`` first: core.protocol). If one is gone for good, the file is stored
    whole instead."""
    key = put_delta(
        ctx,
        up,
        made.path,
        delta_size=made.size,
        ref=ref,
        zero_diff=False,
        transform=made.transform,
        chain=chain,
    )
    ratio = made.size / up.size
    if key is None:
        return store_whole(
            ctx, up, f"{ref.key} was replaced while this file was encoded against it", delta_ratio=ratio
        )
    container = made.transform.container if made.transform else None
    return PutSummary(
        operation="PUT_DELTA",
        bucket=up.space.bucket,
        key=key,
        file_size=up.size,
        file_hash=up.sha256,
        delta_size=made.size,
        delta_hash=made.sha256,
        delta_ratio=ratio,
        reference_hash=ref.sha256,
        stored_size=made.size,
        reason=f"delta of the decoded {container} content against {ref.key}"
        if container
        else f"delta against {ref.key}",
        transform=container,
    )
