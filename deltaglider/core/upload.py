"""The pieces every way of uploading shares: the upload's state, making and checking a delta,
writing it with its metadata, the reference re-check, and storing a file whole.

The flows are in :mod:`deltaglider.core.put` (the first reference, the original's scheme) and
:mod:`deltaglider.core.put_bases` (several bases, issue 13); the reference protocol is described in
the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from deltaglider.core import forms, transformed
from deltaglider.core.context import Context
from deltaglider.core.layout import (
    delta_key,
    other_form_key,
    whole_key,
)
from deltaglider.core.metadata import (
    Transform,
    delta_metadata,
    read_field,
    whole_metadata,
)
from deltaglider.core.models import DeltaSpace, PutSummary
from deltaglider.errors import CodecError, StorageError
from deltaglider.ports.storage import ProgressCallback
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
    made = transformed.encode(
        ctx, reference, up.file, ref_sha256=ref.sha256, sha256=up.sha256, scratch=room, size_limit=limit
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


def keep_reference(ctx: Context, up: Upload, ref: Reference, local: Path | None) -> bool:
    """After a delta against ``ref`` was stored: True once the stored reference is ``ref`` again (put
    back from ``local`` if it vanished), False if another reference took its place (or it vanished
    and there is nothing to put back: a base stored as a delta)."""
    bucket = up.space.bucket
    head = ctx.storage.head(bucket, ref.key)
    if head is None:
        if local is None:
            return False
        if ctx.storage.put_file_if_absent(bucket, ref.key, local, ref.metadata):
            ctx.logger.warning(
                "the reference was removed while a delta was made against it; put it back", key=ref.key
            )
            return True
        head = ctx.storage.head(bucket, ref.key)
        if head is None:
            raise StorageError(
                f"{ctx.storage.url(bucket, ref.key)} keeps vanishing while a delta is stored against it"
            )
    return (read_field(head.metadata, "file_sha256") or "").lower() == ref.sha256


def put_delta(
    ctx: Context,
    up: Upload,
    delta: Path,
    *,
    delta_size: int,
    ref: Reference,
    zero_diff: bool,
    transform: Transform | None = None,
) -> str:
    key = delta_key(up.space.prefix, up.name)
    other = other_form_key(up.space.prefix, up.name, stored_whole=False)
    stamp = forms.new_stamp(ctx, up.space.bucket, other)
    meta = delta_metadata(
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
    )

    _write_settled(ctx, up, key, delta, meta, other=other, stamp=stamp)
    return key


def _write_settled(
    ctx: Context,
    up: Upload,
    key: str,
    src: Path,
    meta: Mapping[str, str],
    *,
    other: str | None,
    stamp: str,
) -> None:
    """Stores ``src`` under ``key``, then settles which form of the name survives (``core.forms``)."""

    def write() -> None:
        ctx.storage.put_file(up.space.bucket, key, src, meta, up.progress)

    write()
    forms.settle(ctx, up.space.bucket, key, other=other, stamp=stamp, rewrite=write)


def store_whole(ctx: Context, up: Upload, reason: str, *, delta_ratio: float | None = None) -> PutSummary:
    key = whole_key(up.space.prefix, up.name)
    other = other_form_key(up.space.prefix, up.name, stored_whole=True)
    stamp = forms.new_stamp(ctx, up.space.bucket, other)
    meta = whole_metadata(
        tool=ctx.tool_version,
        original_name=up.name,
        sha256=up.sha256,
        size=up.size,
        created_at=up.created_at,
        write_stamp=stamp,
    )

    _write_settled(ctx, up, key, up.file, meta, other=other, stamp=stamp)
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


def store_delta(ctx: Context, up: Upload, ref: Reference, made: Delta, *, restore: Path | None) -> PutSummary:
    """Stores ``made`` (a delta against ``ref``) under the file's name. ``restore``: the bytes to put
    ``ref`` back from if it vanishes meanwhile (None for a base stored as a delta)."""
    key = put_delta(
        ctx, up, made.path, delta_size=made.size, ref=ref, zero_diff=False, transform=made.transform
    )
    ratio = made.size / up.size
    if not keep_reference(ctx, up, ref, restore):
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
