"""Encoding a zip, gzip, xz or ar file as the delta of its decoded stream against its reference's base,
plus the recipe that recompresses it (the rebuild half is :mod:`deltaglider.core.rebuild.archives`).
An upload proves the rebuild before anything is stored: decode, recompress and compare the SHA-256
with the file's.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from deltaglider.core.context import Context
from deltaglider.core.format.metadata import Transform
from deltaglider.core.put.private_copy import PrivateCopy
from deltaglider.core.put.values import Candidate
from deltaglider.core.rebuild import sources
from deltaglider.errors import CodecError, RecipeError
from deltaglider.transforms import Encoded, body, encode_container, rebuild, unpack
from deltaglider.transforms.base import BASE_FORMAT

#: A compressor setting is taken for a stream once this much of its output agrees with the original:
#: the upload's proof recompresses the whole file anyway, so the search need not recompress it all
#: too. A setting that agrees this far and differs later fails the proof, and the search is then
#: made in full.
CHECKED_PREFIX: Final = 1 << 20


class _UnprovenError(Exception):
    """The proof failed with a stream whose setting only its first bytes had confirmed."""


def encode(
    ctx: Context,
    reference: Path,
    copy: PrivateCopy,
    *,
    ref_sha256: str,
    sha256: str,
    scratch: Path,
    size_limit: float = math.inf,
    origin: str | None = None,
) -> Candidate | None:
    """The body for the upload's ``copy`` against ``reference``, proven to rebuild it; None when the
    file's container cannot be reproduced, or its body would be larger than ``size_limit`` (then a
    plain delta is the way). ``origin``: see :class:`~deltaglider.core.rebuild.sources.Decoded`."""
    decoded = sources.Decoded(sources.Held(reference, ref_sha256), origin=origin)
    with sources.open(ctx, decoded) as (base, base_sha):
        guess = None
        if size_limit < math.inf:
            guess = _guess(ctx, base, copy, scratch, size_limit)
            if guess is None:
                return None
        maker = _Body(ctx, base, base_sha, copy, scratch, sha256=sha256, size_limit=size_limit)
        try:
            return maker.attempt(guess, CHECKED_PREFIX)
        except _UnprovenError:
            ctx.logger.info("a stream's compressor setting held for its start only; searching in full")
            return maker.attempt(None, None)
        finally:
            if guess is not None:
                guess.discard()


class _Body:
    """Makes the transformed body of the copy against ``base`` and proves that it rebuilds the file."""

    def __init__(
        self,
        ctx: Context,
        base: Path,
        base_sha: str,
        copy: PrivateCopy,
        scratch: Path,
        *,
        sha256: str,
        size_limit: float,
    ) -> None:
        self.ctx, self.base, self.base_sha, self.copy, self.scratch = ctx, base, base_sha, copy, scratch
        self.sha256, self.size_limit = sha256, size_limit

    def attempt(self, guess: _Guess | None, checked_prefix: int | None) -> Candidate | None:
        """The proven body, or None (not reproducible, or over the size limit)."""
        ctx, scratch = self.ctx, self.scratch
        decoded = scratch / "decoded"
        encoded = encode_container(
            self.copy.path, decoded, checked_prefix=checked_prefix, kind=self.copy.head.container
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
            sink.write(body.header(encoded.recipe))
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


def _guess(ctx: Context, base: Path, copy: PrivateCopy, scratch: Path, size_limit: float) -> _Guess | None:
    """The delta of the copy's decoded stream (every stream decoded, none searched for its compressor
    settings, the stream the base was chosen by): what the body comes to when every stream
    reproduces, for a fraction of the cost of finding out (inflating is much faster than the search's
    recompression). None when it is over ``size_limit`` already, which spares the search where the
    plain delta wins anyway. The stream is released at once: a large archive's decoded stream is not
    kept on disk twice."""
    decoded = copy.decoded()
    if decoded is None:
        return None
    delta = scratch / "guess.delta"
    try:
        guess = _Guess(delta, decoded.streams, decoded.size)
        if ctx.encode(base, decoded.path, delta) > size_limit:
            guess.discard()
            return None
    finally:
        copy.release()
    return guess


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
