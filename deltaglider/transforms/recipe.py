"""The recipe: how the decoded stream turns back into the container's exact bytes.

The decoded stream is a sequence of segments; each is either copied as is (headers, central
directory, members kept raw) or recompressed with recorded deflate parameters. Header bytes stay in
the decoded stream rather than here, so two similar archives give similar streams and the delta, not
the recipe, absorbs them; the recipe costs a few bytes per member.

Layout (all integers unsigned LEB128 varints unless said)::

    b"DGTR" | version (1 byte) | container name | compressor names | original size | segment count
    segment: kind (1 byte: 0 raw, 1 deflate, 2 LZMA2, 3 zstd, 4 bzip2, 5 reconstructed deflate)
             | decoded size
             deflate only: compressed size | level | wbits | mem_level | strategy (1 byte each)
             LZMA2 only: compressed size | preset (1 byte, +0x80 for extreme) | dictionary size
             zstd only: compressed size | level (zigzag varint) | window log (1 byte, 0: the
                        level's) | flags (1 byte: 1 checksum, 2 content size pledged (the decoded
                        size), 4 long-distance matching, 8 worker threads)
             bzip2 only: compressed size | block size (1 byte, 1-9)
             reconstructed deflate only: compressed size | choices size | stored length | the
                        choices, zlib-compressed (stored length bytes)

Names are a varint length then UTF-8; the compressor names are those of the kinds the segments use,
joined by ``+`` (``zlib-1.2.13``, ``liblzma-5.4.1``, ``zstd-1.5.4``, ``libbzip2-1.0.8``,
``grittibanzli-429cc56``). A version
byte lets a later layout be told apart; a reader that meets a segment kind it does not know refuses
the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final

from deltaglider.errors import RecipeError
from deltaglider.transforms.bzip2 import Bzip2Params
from deltaglider.transforms.deflater import DeflateParams
from deltaglider.transforms.lzma2 import Lzma2Params
from deltaglider.transforms.reconstruct import ReconstructParams
from deltaglider.transforms.zstd_frame import MAX_EXPANSION as ZSTD_MAX_EXPANSION
from deltaglider.transforms.zstd_frame import ZstdParams

#: The most one compressed byte decodes to, by each format's own limits (not a typical ratio): deflate
#: codes a 258-byte match in two bits; LZMA codes at most 273 bytes in no fewer than 14 binary
#: decisions, each costing at least log2(2048/2017) bits (an adapted probability stops 31/2048 short
#: of certainty), which is about 7091.
DEFLATE_MAX_EXPANSION: Final = 1032
LZMA2_MAX_EXPANSION: Final = 7200
#: bzip2: a block holds at most 900 000 symbols of its first run-length stage, each five of which
#: (four equal bytes and a count) give at most 259 bytes, and takes no fewer than 173 bits (its
#: magic, checksum, pointer, symbol map, two tables and selectors): about 2.16 million.
BZIP2_MAX_EXPANSION: Final = 2_160_000

MAGIC: Final = b"DGTR"
VERSION: Final = 1
_RAW: Final = 0
_DEFLATE: Final = 1
_LZMA2: Final = 2
_ZSTD: Final = 3
_BZIP2: Final = 4
_RECONSTRUCTED: Final = 5
_EXTREME: Final = 0x80
_ZSTD_CHECKSUM: Final = 1
_ZSTD_PLEDGED: Final = 2
_ZSTD_LONG: Final = 4
_ZSTD_THREADS: Final = 8


@dataclass(frozen=True)
class Segment:
    """``decoded_size`` bytes of the decoded stream; copied as is when ``params`` is ``None``, else
    compressed with ``params`` (deflate, LZMA2, zstd or bzip2, or rebuilt from a deflate stream's
    choices) into exactly ``compressed_size`` bytes."""

    decoded_size: int
    params: DeflateParams | Lzma2Params | ZstdParams | Bzip2Params | ReconstructParams | None = None
    compressed_size: int = 0

    @property
    def original_size(self) -> int:
        return self.decoded_size if self.params is None else self.compressed_size

    @property
    def max_decoded_size(self) -> int:
        """The most its bytes in the container can decode to: a segment that claims more was never
        compressed from its decoded bytes."""
        if self.params is None:
            return self.decoded_size
        if isinstance(self.params, Bzip2Params):
            return self.compressed_size * BZIP2_MAX_EXPANSION
        if isinstance(self.params, ZstdParams):
            ratio = ZSTD_MAX_EXPANSION
        elif isinstance(self.params, Lzma2Params):
            ratio = LZMA2_MAX_EXPANSION
        else:
            ratio = DEFLATE_MAX_EXPANSION
        return self.compressed_size * ratio


@dataclass(frozen=True)
class Recipe:
    container: str
    compressor: str
    segments: tuple[Segment, ...]

    # Cached: a wheel's recipe holds thousands of segments, and a rebuild asks for both sizes often.
    @cached_property
    def original_size(self) -> int:
        return sum(s.original_size for s in self.segments)

    @cached_property
    def decoded_size(self) -> int:
        return sum(s.decoded_size for s in self.segments)


def _varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("varints are unsigned")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> int:
    return value << 1 if value >= 0 else ((-value) << 1) - 1


def _unzigzag(value: int) -> int:
    return -((value + 1) >> 1) if value & 1 else value >> 1


def _zstd_flags(p: ZstdParams) -> int:
    return (
        (_ZSTD_CHECKSUM if p.checksum else 0)
        | (_ZSTD_PLEDGED if p.pledged_size is not None else 0)
        | (_ZSTD_LONG if p.long_distance else 0)
        | (_ZSTD_THREADS if p.multithreaded else 0)
    )


def _text(value: str) -> bytes:
    raw = value.encode()
    return _varint(len(raw)) + raw


def pack(recipe: Recipe) -> bytes:
    """The recipe's bytes (see the module's docstring for the layout)."""
    out = bytearray(MAGIC)
    out.append(VERSION)
    out += _text(recipe.container) + _text(recipe.compressor)
    out += _varint(recipe.original_size) + _varint(len(recipe.segments))
    for seg in recipe.segments:
        p = seg.params
        if p is None:
            out.append(_RAW)
            out += _varint(seg.decoded_size)
        elif isinstance(p, ZstdParams):
            if p.pledged_size not in (None, seg.decoded_size):
                raise ValueError("a zstd frame's pledged size is its decoded size")
            out.append(_ZSTD)
            out += _varint(seg.decoded_size) + _varint(seg.compressed_size) + _varint(_zigzag(p.level))
            out += bytes((p.window_log, _zstd_flags(p)))
        elif isinstance(p, Lzma2Params):
            out.append(_LZMA2)
            out += _varint(seg.decoded_size) + _varint(seg.compressed_size)
            out.append(p.preset | (_EXTREME if p.extreme else 0))
            out += _varint(p.dict_size)
        elif isinstance(p, Bzip2Params):
            out.append(_BZIP2)
            out += _varint(seg.decoded_size) + _varint(seg.compressed_size)
            out.append(p.block_size)
        elif isinstance(p, ReconstructParams):
            out.append(_RECONSTRUCTED)
            out += _varint(seg.decoded_size) + _varint(seg.compressed_size)
            out += _varint(p.size) + _varint(len(p.stored)) + p.stored
        else:
            out.append(_DEFLATE)
            out += _varint(seg.decoded_size) + _varint(seg.compressed_size)
            out += bytes((p.level, p.wbits, p.mem_level, p.strategy))
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise RecipeError("recipe is truncated")
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise RecipeError("recipe holds an integer too large")

    def raw(self, size: int) -> bytes:
        raw = self.data[self.pos : self.pos + size]
        if len(raw) != size:
            raise RecipeError("recipe is truncated")
        self.pos += size
        return raw

    def text(self) -> str:
        raw = self.raw(self.varint())
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise RecipeError("recipe holds a name that is not UTF-8") from exc


def _segment(r: _Reader) -> Segment:
    """The next segment of a recipe."""
    kind = r.byte()
    if kind == _RAW:
        return Segment(r.varint())
    if kind == _DEFLATE:
        decoded, compressed = r.varint(), r.varint()
        level, wbits, mem_level, strategy = (r.byte() for _ in range(4))
        try:
            params = DeflateParams(level, wbits, mem_level, strategy)
        except ValueError as exc:
            raise RecipeError(str(exc)) from exc
        return Segment(decoded, params, compressed)
    if kind == _LZMA2:
        decoded, compressed = r.varint(), r.varint()
        preset = r.byte()
        dict_size = r.varint()
        try:
            lzma = Lzma2Params(preset & ~_EXTREME, bool(preset & _EXTREME), dict_size)
        except ValueError as exc:
            raise RecipeError(str(exc)) from exc
        return Segment(decoded, lzma, compressed)
    if kind == _BZIP2:
        decoded, compressed = r.varint(), r.varint()
        try:
            bzip2 = Bzip2Params(r.byte())
        except ValueError as exc:
            raise RecipeError(str(exc)) from exc
        return Segment(decoded, bzip2, compressed)
    if kind == _RECONSTRUCTED:
        decoded, compressed, choices_size = r.varint(), r.varint(), r.varint()
        stored = r.raw(r.varint())
        try:
            choices = ReconstructParams(stored, choices_size)
        except ValueError as exc:
            raise RecipeError(str(exc)) from exc
        choices.check(decoded, compressed)
        return Segment(decoded, choices, compressed)
    if kind == _ZSTD:
        decoded, compressed, level = r.varint(), r.varint(), _unzigzag(r.varint())
        window_log, flags = r.byte(), r.byte()
        if flags & ~(_ZSTD_CHECKSUM | _ZSTD_PLEDGED | _ZSTD_LONG | _ZSTD_THREADS):
            raise RecipeError(f"unknown zstd flags {flags:#x}")
        try:
            zstd = ZstdParams(
                level,
                window_log,
                long_distance=bool(flags & _ZSTD_LONG),
                checksum=bool(flags & _ZSTD_CHECKSUM),
                pledged_size=decoded if flags & _ZSTD_PLEDGED else None,
                multithreaded=bool(flags & _ZSTD_THREADS),
            )
        except ValueError as exc:
            raise RecipeError(str(exc)) from exc
        return Segment(decoded, zstd, compressed)
    raise RecipeError(f"unknown segment kind {kind}")


def unpack(data: bytes) -> Recipe:
    """The recipe in ``data``; :class:`RecipeError` if it is not one this version can follow."""
    if not data.startswith(MAGIC):
        raise RecipeError("not a deltaglider transform recipe")
    r = _Reader(data)
    r.pos = len(MAGIC)
    version = r.byte()
    if version != VERSION:
        raise RecipeError(f"recipe version {version} is not supported (this version reads {VERSION})")
    container, compressor = r.text(), r.text()
    original_size, count = r.varint(), r.varint()
    if count > len(data):
        raise RecipeError("recipe claims more segments than it can hold")
    segments = [_segment(r) for _ in range(count)]
    if r.pos != len(data):
        raise RecipeError("recipe has bytes after its last segment")
    recipe = Recipe(container, compressor, tuple(segments))
    if recipe.original_size != original_size:
        raise RecipeError("recipe's segments do not add up to its original size")
    return recipe
