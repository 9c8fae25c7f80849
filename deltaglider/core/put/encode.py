"""Encoding an upload against a base: the plain delta and, for a container, the delta of its decoded
content (only when it can win), each proven to rebuild the file before it may be stored.

What comes out is one :class:`Candidate` (the body to store) or :class:`TooLarge` (no body fits
``max_ratio``: the file is stored whole, or becomes a base).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from deltaglider.core.context import Context
from deltaglider.core.put import archives
from deltaglider.core.put.values import Candidate, Encoded, Reference, TooLarge, Upload
from deltaglider.core.rebuild.sources import derived_origin
from deltaglider.errors import CodecError

#: A delta of decoded content is stored only when at most this share of the plain delta's size.
TRANSFORM_GAIN: Final = 0.75


def ratio_of(made: Encoded, size: int) -> float:
    """The body's size over the file's (the plain delta's when none fits)."""
    return made.ratio if isinstance(made, TooLarge) else made.size / size


def encode(ctx: Context, up: Upload, ref: Reference, reference: Path, scratch: Path) -> Encoded:
    """The smaller of the plain delta and the delta of the decoded content, proven to rebuild the
    file; :class:`TooLarge` when neither fits ``max_ratio``. The decoded one must be clearly smaller
    (:data:`TRANSFORM_GAIN`): every download of it pays a recompression."""
    plain = scratch / "delta"
    plain_size = ctx.encode(reference, up.file, plain)
    # One after the other: encoding both at once saves little time on two cores for much more peak
    # memory, and memory is what Lambda-sized machines run out of.
    ratio = plain_size / up.size
    decoded = None
    if not ctx.original_compatible and up.copy.decoded() is not None:
        # When the plain delta is over max_ratio, any decoded one that fits is better than none.
        limit = TRANSFORM_GAIN * plain_size if ratio <= up.max_ratio else up.max_ratio * up.size
        decoded = _decoded_delta(ctx, up, ref, reference, scratch, limit=limit)
    if decoded is not None:
        return decoded
    if ratio > up.max_ratio:
        return TooLarge(ratio)
    self_check(ctx, reference, plain, scratch, up)
    return Candidate(plain, plain_size)


def _decoded_delta(
    ctx: Context, up: Upload, ref: Reference, reference: Path, scratch: Path, *, limit: float
) -> Candidate | None:
    """The delta of the decoded content when the file's container reproduces and the delta is at
    most ``limit`` bytes; None otherwise."""
    room = scratch / "transformed"
    room.mkdir()
    made = archives.encode(
        ctx,
        reference,
        up.copy,
        ref_sha256=ref.sha256,
        sha256=up.sha256,
        scratch=room,
        size_limit=limit,
        origin=derived_origin(ctx, up.space.bucket, ref.key),
    )
    if made is None:
        ctx.logger.info("no decoded delta small enough; the plain delta stands", name=up.name)
    return made


def self_check(ctx: Context, reference: Path, delta: Path, scratch: Path, up: Upload) -> None:
    """Decodes the new delta before storing it: an upload that reports success must be recoverable."""
    rebuilt = scratch / "rebuilt"
    ctx.diff.decode(reference, delta, rebuilt, expected_size=up.size)
    if ctx.hasher.sha256_file(rebuilt) != up.sha256:
        raise CodecError(
            f"the delta for {up.source} does not rebuild it; it was not stored", name="SELF_CHECK"
        )
    rebuilt.unlink()


def zero_diff(ctx: Context, up: Upload, scratch: Path) -> Candidate:
    """The file's delta against itself, checked: what its name holds once the file became a base."""
    delta = scratch / "zero-diff"
    size = ctx.encode(up.file, up.file, delta)
    self_check(ctx, up.file, delta, scratch, up)
    return Candidate(delta, size)
