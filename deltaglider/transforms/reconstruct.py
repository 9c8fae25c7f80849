"""Deflate streams that no zlib setting reproduces, rebuilt from their *choices*.

zlib at a searched setting rebuilds the streams it wrote (Python's gzip and zipfile, pigz, most
jars). GNU gzip (``tar czf``), some Info-ZIP members, 7-Zip and the Rust ``zip`` crate end blocks and
pick matches by rules of their own, so no setting writes their bytes. For those the reconstructor
(``vendor/grittibanzli``) splits the stream into its decoded bytes and the choices the encoder made
where they differ from its prediction (block boundaries, Huffman headers, matches); the choices,
compressed, ride in the recipe, and the rebuild replays them over the decoded bytes.

It works on a whole stream in memory, at about six times the stream's decoded size (the decoded
bytes, the stream, the library's model and its choices), so a stream decoded past
:data:`MAX_DECODED` stays raw, and a recipe that claims one is refused. The zlib search stays the
fast path: the reconstructor runs only where it failed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Final

from deltaglider.errors import CodecError, RecipeError

#: The largest decoded stream the reconstructor takes (and a recipe may claim).
MAX_DECODED: Final = 64 << 20
#: The choices of a stream are at most this many bytes per decoded and per compressed byte plus a
#: fixed allowance (they hold a few bytes per block and at most a byte or two per symbol): a recipe
#: that claims more was not made here.
CHOICES_PER_BYTE: Final = 4
CHOICES_ALLOWANCE: Final = 1 << 16
#: What one rebuild holds per decoded byte, rounded up, plus its fixed tables.
MEMORY_PER_BYTE: Final = 6
MEMORY_FIXED: Final = 4 << 20
_CHOICES_LEVEL: Final = 9


@dataclass(frozen=True)
class ReconstructParams:
    """The choices that rebuild one deflate stream over its decoded bytes: ``stored`` is their
    zlib-compressed form as the recipe holds it, ``size`` their length once inflated."""

    stored: bytes
    size: int

    def __post_init__(self) -> None:
        if self.size < 1 or not self.stored:
            raise ValueError("a reconstructed stream has choices")

    def check(self, decoded_size: int, compressed_size: int) -> None:
        """:class:`RecipeError` unless a stream of these sizes could have these choices."""
        if decoded_size > MAX_DECODED:
            raise RecipeError(f"a reconstructed stream decodes to {decoded_size} bytes, past the limit")
        most = CHOICES_PER_BYTE * (decoded_size + compressed_size) + CHOICES_ALLOWANCE
        if self.size > most:
            raise RecipeError("a reconstructed stream claims more choices than it can have")

    def choices(self) -> bytes:
        """The choices, inflated: never more than :attr:`size` bytes, whatever ``stored`` holds."""
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(self.stored, self.size + 1)
        except zlib.error as exc:
            raise RecipeError("the reconstructed stream's choices are corrupt") from exc
        if len(raw) != self.size or not inflater.eof or inflater.unused_data:
            raise RecipeError("the reconstructed stream's choices are not the size recorded")
        return raw


def name() -> str:
    """What a recipe records of the reconstructor (the upstream commit compiled in)."""
    from deltaglider._native.reconstruct import VERSION

    return f"grittibanzli-{VERSION}"


def may_take(decoded_size: int) -> bool:
    """Whether a stream that decodes to ``decoded_size`` bytes (or at least that many) is small
    enough for the reconstructor."""
    return decoded_size <= MAX_DECODED


def memory(decoded_size: int) -> int:
    """About what rebuilding a stream of ``decoded_size`` bytes holds."""
    return MEMORY_PER_BYTE * decoded_size + MEMORY_FIXED


def analyse(deflated: bytes, decoded: bytes) -> ReconstructParams | None:
    """The choices that rebuild ``deflated`` (a raw deflate stream) from ``decoded`` (what it
    inflates to), proven by rebuilding it; None when the reconstructor cannot model the stream."""
    from deltaglider._native import reconstruct

    if not may_take(len(decoded)):
        return None
    found = reconstruct.split(deflated, len(decoded))
    if found is None or found[0] != decoded:
        return None
    raw = found[1]
    params = ReconstructParams(zlib.compress(raw, _CHOICES_LEVEL), len(raw))
    try:
        if reconstruct.join(decoded, raw, len(deflated)) != deflated:
            return None
    except CodecError:
        return None
    return params


class Rebuilder:
    """Rebuilds one stream: takes its decoded bytes as ``compress`` calls give them (the shape of
    ``zlib.compressobj``) and writes the whole stream at :meth:`flush`."""

    def __init__(self, params: ReconstructParams) -> None:
        self._params = params
        self._decoded: list[bytes] = []
        self._size = 0

    def compress(self, data: bytes, /) -> bytes:
        self._size += len(data)
        if self._size > MAX_DECODED:
            raise RecipeError("a reconstructed stream decodes past the limit")
        self._decoded.append(data)
        return b""

    def flush(self) -> bytes:
        from deltaglider._native import NO_LIMIT, reconstruct

        decoded = b"".join(self._decoded)
        self._decoded.clear()
        try:
            # The segment checks the size; the bound here only spares a wrong stream's copy.
            return reconstruct.join(decoded, self._params.choices(), NO_LIMIT)
        except CodecError as exc:
            raise RecipeError(f"a reconstructed stream does not rebuild: {exc}") from exc
