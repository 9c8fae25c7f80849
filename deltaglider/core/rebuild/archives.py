"""Deltas of decoded content: a zip, gzip, xz or ar file stored as the delta of its decoded stream
against its reference's base (:mod:`deltaglider.transforms.base`), plus the recipe that recompresses it.

The stored body is the transform header (the recipe) followed by the VCDIFF delta
(:mod:`deltaglider.transforms.body`); the metadata names the container, the base's format and the
base's SHA-256. An upload proves the rebuild before anything is stored: decode, recompress and compare
the SHA-256 with the file's.
"""

from __future__ import annotations

import math
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias

from deltaglider.core.context import Context
from deltaglider.core.format.metadata import Transform
from deltaglider.errors import CodecError, DecodeError, IntegrityError, MetadataError, RecipeError
from deltaglider.transforms import Encoded, body, encode_container, rebuild, unpack
from deltaglider.transforms.base import BASE_FORMAT, derive_base
from deltaglider.transforms.container import CONTAINERS, check_sizes, decode_all


class _BaseShas:
    """The SHA-256 of each reference's base, once this process derived it: a cached base is then
    found without decoding the reference again."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, ref_sha256: str) -> str | None:
        with self._lock:
            return self._known.get(ref_sha256)

    def remember(self, ref_sha256: str, base_sha256: str) -> None:
        with self._lock:
            self._known[ref_sha256] = base_sha256


_BASES: Final = _BaseShas()


#: Opens the reference (a download, a rebuild or a cache hit), only when its base must be derived.
ReferenceSource: TypeAlias = Callable[[], AbstractContextManager[Path]]


def base_origin(ref_sha256: str) -> str:
    """What the cache keeps a reference's decoded base under."""
    return f"decoded base of {ref_sha256}"


def local_reference(path: Path) -> ReferenceSource:
    return lambda: nullcontext(path)


@contextmanager
def base_file(
    ctx: Context,
    reference: ReferenceSource,
    ref_sha256: str,
    *,
    expected: str | None = None,
    use_cache: bool = True,
    origin: str | None = None,
) -> Iterator[tuple[Path, str]]:
    """Yields (path, SHA-256) of the base of the reference: from the cache when this process knows its
    SHA-256 (or ``expected`` names it) without opening the reference at all, else derived and cached
    under ``origin`` (by default :func:`base_origin`). A reference that is no container is its own
    base. :class:`IntegrityError` if the base is not ``expected``."""
    if expected == ref_sha256:  # the reference is no container: its own base, nothing to derive
        with reference() as path:
            yield path, ref_sha256
        return
    origin = base_origin(ref_sha256) if origin is None else origin
    known = expected or _BASES.get(ref_sha256)
    if use_cache and known is not None and known != ref_sha256:
        with ctx.cache.use(known, origin=origin) as cached:
            if cached is not None:
                yield cached, known
                return
    with reference() as reference_path, ctx.scratch() as scratch:
        derived = scratch / "base"
        if derive_base(reference_path, derived):
            path, sha = derived, ctx.hasher.sha256_file(derived)
        else:
            path, sha = reference_path, ref_sha256
        if expected is not None and sha != expected:
            # What it holds instead stays untold (a hash of content the caller did not ask for).
            raise IntegrityError(
                f"the reference's decoded base is not the one the delta was made against ({expected})"
            )
        _BASES.remember(ref_sha256, sha)
        if path is derived:
            ctx.cache.store(sha, derived, origin=origin)
        yield path, sha


@dataclass(frozen=True)
class Stored:
    """A transformed body ready to store."""

    path: Path
    size: int
    transform: Transform


#: A compressor setting is taken for a stream once this much of its output agrees with the original:
#: the upload's proof recompresses the whole file anyway, so the search need not recompress it all
#: too (for a 12.7 MB botocore sdist, 7 of 21 s). A setting that agrees this far and differs later
#: fails the proof, and the search is then made in full.
CHECKED_PREFIX: Final = 1 << 20


class _UnprovenError(Exception):
    """The proof failed with a stream whose setting only its first bytes had confirmed."""


def encode(
    ctx: Context,
    reference: Path,
    file: Path,
    *,
    ref_sha256: str,
    sha256: str,
    scratch: Path,
    size_limit: float = math.inf,
    origin: str | None = None,
) -> Stored | None:
    """The body for ``file`` against ``reference``, proven to rebuild ``file``; None when the file's
    container cannot be reproduced, or its body would be larger than ``size_limit`` (then a plain
    delta is the way). ``origin``: see :func:`base_file`."""
    with base_file(ctx, local_reference(reference), ref_sha256, origin=origin) as (base, base_sha):
        guess = None
        if size_limit < math.inf:
            guess = _guess(ctx, base, file, scratch, size_limit)
            if guess is None:
                return None
        maker = _Body(ctx, base, base_sha, file, scratch, sha256=sha256, size_limit=size_limit)
        try:
            return maker.attempt(guess, CHECKED_PREFIX)
        except _UnprovenError:
            ctx.logger.info("a stream's compressor setting held for its start only; searching in full")
            return maker.attempt(None, None)
        finally:
            if guess is not None:
                guess.discard()


class _Body:
    """Makes the transformed body of ``file`` against ``base`` and proves that it rebuilds ``file``."""

    def __init__(
        self,
        ctx: Context,
        base: Path,
        base_sha: str,
        file: Path,
        scratch: Path,
        *,
        sha256: str,
        size_limit: float,
    ) -> None:
        self.ctx, self.base, self.base_sha, self.file, self.scratch = ctx, base, base_sha, file, scratch
        self.sha256, self.size_limit = sha256, size_limit

    def attempt(self, guess: _Guess | None, checked_prefix: int | None) -> Stored | None:
        """The proven body, or None (not reproducible, or over the size limit)."""
        ctx, scratch = self.ctx, self.scratch
        decoded = scratch / "decoded"
        encoded = encode_container(self.file, decoded, checked_prefix=checked_prefix)
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
                    f"the transformed delta for {self.file} does not rebuild it; it was not stored",
                    name="SELF_CHECK",
                )
        finally:
            delta.unlink()
        return Stored(out, out.stat().st_size, Transform(encoded.container, BASE_FORMAT, self.base_sha))


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


def _guess(ctx: Context, base: Path, file: Path, scratch: Path, size_limit: float) -> _Guess | None:
    """The delta of ``file`` with every stream decoded, none searched for its compressor settings:
    what the body comes to when every stream reproduces, for a fraction of the cost of finding out
    (inflating is ~10x faster than the search's recompression). None when it is over ``size_limit``
    already, which spares the search where the plain delta wins anyway. Its stream is removed at
    once: a large archive's decoded stream is not kept on disk twice."""
    stream = scratch / "guess.decoded"
    delta = scratch / "guess.delta"
    streams = decode_all(file, stream)
    if not streams:
        return None
    try:
        guess = _Guess(delta, streams, stream.stat().st_size)
        if ctx.encode(base, stream, delta) > size_limit:
            guess.discard()
            return None
    finally:
        stream.unlink()
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


def decode(
    ctx: Context,
    reference: ReferenceSource,
    stored: Path,
    dest: Path,
    *,
    url: str,
    ref_sha256: str,
    transform: Transform,
    use_cache: bool = True,
    expected_size: int | None = None,
    origin: str | None = None,
) -> None:
    """Rebuilds into ``dest`` the file whose transformed body (stored at ``url``) is ``stored``, and
    whose recorded size is ``expected_size``: a recipe for another size, or one that would decode to
    more than its container can, is refused before anything is decoded. ``origin``: see
    :func:`base_file`."""
    if transform.base_format != BASE_FORMAT or transform.container not in CONTAINERS:
        raise MetadataError(
            f"{url}: delta of decoded {transform.container!r} content against a "
            f"{transform.base_format!r} base: written by a newer deltaglider; upgrade to read it"
        )
    try:
        _decode(
            ctx,
            reference,
            stored,
            dest,
            ref_sha256=ref_sha256,
            transform=transform,
            use_cache=use_cache,
            expected_size=expected_size,
            origin=origin,
        )
    except RecipeError as exc:
        raise IntegrityError(f"{url}: the stored transform does not rebuild the file: {exc}") from exc
    except DecodeError as exc:
        raise IntegrityError(f"{url}: the stored delta does not decode against its base: {exc}") from exc
    except IntegrityError as exc:
        raise IntegrityError(f"{url}: {exc}") from exc


def _decode(
    ctx: Context,
    reference: ReferenceSource,
    stored: Path,
    dest: Path,
    *,
    ref_sha256: str,
    transform: Transform,
    use_cache: bool,
    expected_size: int | None,
    origin: str | None,
) -> None:
    with ctx.scratch() as scratch:
        delta = scratch / "delta"
        with open(stored, "rb") as src:
            recipe = body.read_header(src)
            sizes = unpack(recipe)
            check_sizes(sizes, expected_size)
            with open(delta, "wb") as sink:
                shutil.copyfileobj(src, sink)
        decoded = scratch / "decoded"
        with base_file(
            ctx, reference, ref_sha256, expected=transform.base_sha256, use_cache=use_cache, origin=origin
        ) as (base, _):
            ctx.diff.decode(base, delta, decoded, expected_size=sizes.decoded_size)
        rebuild(decoded, recipe, dest)
