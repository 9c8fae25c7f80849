"""Encoding an upload against a base: the plain delta and, for a container, the delta of its decoded
content (only when it can win), each proven to rebuild the file before it may be stored.

The decoded delta is tried only where it can win: not when the last tries of the file's container
kind in its DeltaSpace chose the plain delta (:mod:`deltaglider.core.family.choices`), and not for an archive
whose streams no known compressor setting reproduces (:func:`deltaglider.core.put.archives.may_decode`).
When it is tried, its first encode (of the decoded stream as it inflates, :func:`_both`) runs beside
the plain delta's, on another core, when the memory gate holds both.

What comes out is one :class:`Candidate` (the body to store) or :class:`TooLarge` (no body fits
``max_ratio``: the file is stored whole, or becomes a base).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from deltaglider.core.context import Context
from deltaglider.core.family import choices
from deltaglider.core.format.layout import join_key
from deltaglider.core.put import archives
from deltaglider.core.put.values import Candidate, Encoded, Reference, TooLarge, Upload
from deltaglider.core.rebuild.sources import derived_origin
from deltaglider.errors import CodecError
from deltaglider.transforms.container import CONTAINERS

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
    decoded = None
    if _tries_decoded(ctx, up, ref):
        plain_size, decoded = _both(ctx, up, ref, reference, scratch, plain=plain)
        ctx.choices.chose(
            space_of(ctx, up), _kind(up), "plain" if decoded is None else "decoded", base_sha256=ref.sha256
        )
    else:
        plain_size = ctx.encode(reference, up.file, plain)
    if decoded is not None:
        return decoded
    ratio = plain_size / up.size
    if ratio > up.max_ratio:
        return TooLarge(ratio)
    self_check(ctx, reference, plain, scratch, up)
    return Candidate(plain, plain_size)


def space_of(ctx: Context, up: Upload) -> str:
    """The upload's DeltaSpace as the memo of choices knows it: where it is, store included."""
    return ctx.storage.url(up.space.bucket, join_key(up.space.prefix, ""))


def recorded_choices(ctx: Context, up: Upload) -> str | None:
    """What a base made by this upload records of the DeltaSpace's choices (``dg-choices``): read
    by uploads of other processes encoded against it (:mod:`deltaglider.core.family.choices`). Taken after
    the upload's own encode, so that its own try counts."""
    return choices.to_text(ctx.choices.known(space_of(ctx, up)))


def _kind(up: Upload) -> str:
    return up.container or ""


def _tries_decoded(ctx: Context, up: Upload, ref: Reference) -> bool:
    """Whether the decoded delta is made too: for a container whose kind's last tries in the
    DeltaSpace did not choose the plain delta (or are due again), and whose streams may decode."""
    if ctx.original_compatible or up.container not in CONTAINERS:
        return False
    tries = ctx.choices.should_try(
        space_of(ctx, up), _kind(up), base_sha256=ref.sha256, base_metadata=ref.metadata, sha256=up.sha256
    )
    if not tries:
        ctx.logger.info("the last tries of this kind chose the plain delta: it is made alone", name=up.name)
        return False
    if not archives.may_decode(up.copy):
        ctx.logger.info("no stream of the archive reproduces: only the plain delta is made", name=up.name)
        return False
    return True


def _both(
    ctx: Context, up: Upload, ref: Reference, reference: Path, scratch: Path, *, plain: Path
) -> tuple[int, Candidate | None]:
    """The plain delta's size, and the proven delta of the decoded content when it is the one to
    store (None otherwise). The plain delta and the decoded stream's first delta (every stream
    inflated, none searched for its compressor settings: the guess) are encoded together; the
    search and the proof, two full recompressions, are paid only when the guess is small enough."""
    room = scratch / "transformed"
    room.mkdir()
    origin = derived_origin(ctx, up.space.bucket, ref.key)
    with archives.decoded_side(ctx, reference, up.copy, ref_sha256=ref.sha256, origin=origin) as side:
        if side is None:
            return ctx.encode(reference, up.file, plain), None
        guess = room / "guess.delta"
        plain_size, guess_size = ctx.encode_all(
            [(reference, up.file, plain), (side.base, side.stream.path, guess)]
        )
        # When the plain delta is over max_ratio, any decoded one that fits is better than none.
        fits = plain_size <= up.max_ratio * up.size
        limit = TRANSFORM_GAIN * plain_size if fits else up.max_ratio * up.size
        made = None
        if guess_size <= limit:
            made = archives.make_body(
                ctx, side, up.copy, guess, sha256=up.sha256, scratch=room, size_limit=limit
            )
        guess.unlink(missing_ok=True)
    if made is None:
        ctx.logger.info("no decoded delta small enough; the plain delta stands", name=up.name)
    return plain_size, made


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
