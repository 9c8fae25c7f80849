"""Encoding a zip, gzip, xz or ar file as the delta of its decoded stream against its reference's base,
plus the recipe that recompresses it (the rebuild half is :mod:`deltaglider.core.rebuild.archives`).
An upload proves the rebuild before anything is stored: decode, recompress and compare the SHA-256
with the file's.

In three steps, each paid only when the one before promises a win (:mod:`deltaglider.core.put.encode`
runs them): :func:`may_decode`, from the first bytes of the streams; :func:`decoded_side`, the decoded
base and the copy's decoded stream, whose delta (the guess) is encoded beside the plain one; and
:func:`make_body`, the search for the compressor settings and the proof, when the guess is small
enough.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from deltaglider.core.context import Context
from deltaglider.core.format.metadata import Transform
from deltaglider.core.put.private_copy import Decoded, PrivateCopy
from deltaglider.core.put.values import Candidate
from deltaglider.core.rebuild import sources
from deltaglider.errors import CodecError, RecipeError
from deltaglider.transforms import Encoded, encode_container, rebuild, unpack
from deltaglider.transforms import body as body_format
from deltaglider.transforms.base import BASE_FORMAT
from deltaglider.transforms.container import decode_all
from deltaglider.transforms.known import KnownStreams

#: A compressor setting is taken for a stream once this much of its output agrees with the original:
#: the upload's proof recompresses the whole file anyway, so the search need not recompress it all
#: too. A setting that agrees this far and differs later fails the proof, and the search is then
#: made in full.
CHECKED_PREFIX: Final = 1 << 20


class _UnprovenError(Exception):
    """The proof failed with a stream whose setting only its first bytes had confirmed."""


def may_decode(copy: PrivateCopy) -> bool:
    """Whether decoding the copy's container can pay, from the first bytes of its streams (an archive
    made by a deflater that is not zlib's reproduces in none): when not, the upload makes the plain
    delta only, not the decoded stream, its delta and the parameter search too."""
    return copy.decodable


@dataclass(frozen=True)
class Side:
    """The decoded side of an upload: the reference's decoded base and the copy's decoded stream;
    ``known``, the reference's own streams (:mod:`deltaglider.transforms.known`)."""

    base: Path
    base_sha256: str
    stream: Decoded
    known: KnownStreams


@contextmanager
def decoded_side(
    ctx: Context, reference: Path, copy: PrivateCopy, *, ref_sha256: str, origin: str | None = None
) -> Iterator[Side | None]:
    """The reference's decoded base and the copy's decoded stream, or None when no stream of the copy
    decodes. The stream is released on the way out: a large archive's is not kept on disk beside the
    next one. ``origin``: see :class:`~deltaglider.core.rebuild.sources.Decoded`.

    Where the base holds the raw reference (a zip's), the stream keeps raw the streams the reference
    holds byte for byte, as the search will (:mod:`deltaglider.transforms.known`): the guess is then
    the stream the search makes, and its delta is kept, when every other stream reproduces."""
    decoded = sources.Decoded(sources.Held(reference, ref_sha256), origin=origin, base_format=BASE_FORMAT)
    known = KnownStreams(reference, copy.path.parent)
    with sources.open(ctx, decoded) as (base, base_sha):
        own = copy.path.with_name(copy.path.name + ".known-raw")
        try:
            stream = _guess_stream(copy, known, own)
            yield None if stream is None else Side(base, base_sha, stream, known)
        finally:
            own.unlink(missing_ok=True)
            copy.release()


def _guess_stream(copy: PrivateCopy, known: KnownStreams, out: Path) -> Decoded | None:
    """The copy's stream with every stream decoded but those ``known`` keeps raw, written to ``out``
    (the copy's own decoded stream, every stream decoded, when it keeps none)."""
    if not known.raw_copy or copy.head.container != "zip":
        return copy.decoded()
    copy.release()  # a fingerprint's stream: not on disk beside this one
    streams = decode_all(copy.path, out, kind=copy.head.container, known=known)
    return Decoded(out, streams, out.stat().st_size) if streams else None


def make_body(
    ctx: Context,
    side: Side,
    copy: PrivateCopy,
    guess: Path,
    *,
    sha256: str,
    scratch: Path,
    size_limit: float = math.inf,
) -> Candidate | None:
    """The body for the upload's ``copy``, proven to rebuild it; None when the file's container cannot
    be reproduced, or its body would be larger than ``size_limit`` (then a plain delta is the way).
    ``guess``: the delta of the copy's decoded stream (``side.stream``) against the decoded base, kept
    when the search decodes the same streams (every stream reproduces) and removed in any case."""
    taken = _Guess(guess, side.stream.streams, side.stream.size)
    # The search writes its own decoded stream: not on disk twice.
    copy.release()
    side.stream.path.unlink(missing_ok=True)
    maker = _Body(ctx, side, copy, scratch, sha256=sha256, size_limit=size_limit)
    try:
        return maker.attempt(taken, CHECKED_PREFIX)
    except _UnprovenError:
        ctx.logger.info("a stream's compressor setting held for its start only; searching in full")
        return maker.attempt(None, None)
    finally:
        taken.discard()


class _Body:
    """Makes the transformed body of the copy against ``base`` and proves that it rebuilds the file."""

    def __init__(
        self, ctx: Context, side: Side, copy: PrivateCopy, scratch: Path, *, sha256: str, size_limit: float
    ) -> None:
        self.ctx, self.base, self.base_sha, self.copy, self.scratch = (
            ctx,
            side.base,
            side.base_sha256,
            copy,
            scratch,
        )
        self.sha256, self.size_limit = sha256, size_limit
        self.known = side.known

    def attempt(self, guess: _Guess | None, checked_prefix: int | None) -> Candidate | None:
        """The proven body, or None (not reproducible, or over the size limit)."""
        ctx, scratch = self.ctx, self.scratch
        decoded = scratch / "decoded"
        encoded = encode_container(
            self.copy.path,
            decoded,
            checked_prefix=checked_prefix,
            kind=self.copy.head.container,
            known=self.known,
        )
        if encoded is None:
            return None
        delta = scratch / "transformed.delta"
        if guess is not None and guess.same_stream(encoded):
            guess.delta.rename(delta)
        else:
            ctx.encode(self.base, decoded, delta)
        decoded.unlink()
        out = scratch / "transformed.body"
        with open(out, "wb") as sink, open(delta, "rb") as src:
            sink.write(body_format.header(encoded.recipe))
            shutil.copyfileobj(src, sink)
        try:
            if out.stat().st_size > self.size_limit:
                return None
            # The proof, a full recompression, is paid only by a body that will be stored.
            if not _rebuilds(ctx, self.base, delta, encoded.recipe, scratch=scratch, sha256=self.sha256):
                if encoded.unproven:
                    raise _UnprovenError
                raise CodecError(
                    f"the transformed delta for {self.copy.path} does not rebuild it; it was not stored",
                    name="SELF_CHECK",
                )
        finally:
            delta.unlink()
        return Candidate(out, out.stat().st_size, Transform(encoded.container, BASE_FORMAT, self.base_sha))


@dataclass(frozen=True)
class _Guess:
    delta: Path
    streams: int  # how many streams the guessed stream decoded
    size: int  # the guessed stream's size

    def same_stream(self, encoded: Encoded) -> bool:
        """Whether the searched stream is the guessed one: the search decodes a subset of the streams
        the guess decodes, so the same count (and size) means the same streams. (Were it ever wrong,
        the proof would fail, and the full search after it encodes its own stream.)"""
        return encoded.streams_decoded == self.streams and encoded.decoded_size == self.size

    def discard(self) -> None:
        self.delta.unlink(missing_ok=True)


def _rebuilds(ctx: Context, base: Path, delta: Path, recipe: bytes, *, scratch: Path, sha256: str) -> bool:
    """Whether the delta decodes against ``base`` and the recipe recompresses that into the file."""
    decoded = scratch / "check.decoded"
    rebuilt = scratch / "check.rebuilt"
    ctx.diff.decode(base, delta, decoded, expected_size=unpack(recipe).decoded_size)
    try:
        rebuild(decoded, recipe, rebuilt)
    except RecipeError:  # a stream taken on its start that recompresses to another size
        return False
    decoded.unlink()
    same = ctx.hasher.sha256_file(rebuilt) == sha256
    rebuilt.unlink()
    return same
