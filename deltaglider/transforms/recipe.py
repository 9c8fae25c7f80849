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

Version 2 adds nesting (an archive inside an archive: a zip member that is a gzip file, a jar inside a
war). A segment whose input is itself a container decoded again is written as a prefix, then the
segment::

    nested: 0x10 | inner container name | inner compressor names | inner original size |
            inner segment count | inner segments (any kind, nested again up to MAX_DEPTH levels)
    then the segment, whose "decoded size" field holds its input's size: the inner recipe's original

The inner recipe rebuilds the segment's input from the segment's share of the decoded stream (its
inner decoded size); the segment then compresses that input as usual. In version 2 everything after
the version byte is one raw deflate stream (a wheel's hundreds of nested gzip recipes repeat the same
names and settings: the recipe is stored with every delta, and counts against the 3/4 rule); it may
decode to at most :data:`MAX_BODY` bytes. A recipe without nesting is still written as version 1,
byte for byte as before, and a version 1 recipe still reads.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
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
#: The version of a recipe that holds nesting.
VERSION_NESTED: Final = 2
#: Containers a recipe may describe, the outermost included: deeper trees are refused.
MAX_DEPTH: Final = 3
_NESTED: Final = 0x10
#: The most a version 2 recipe's compressed layout may decode to (a stored body holds no larger recipe).
MAX_BODY: Final = 64 << 20
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
    choices) into exactly ``compressed_size`` bytes.

    With ``inner``, those decoded bytes are a nested container's decoded stream: ``inner`` rebuilds
    them into the segment's input (``input_size`` bytes), which is then copied or compressed."""

    decoded_size: int
    params: DeflateParams | Lzma2Params | ZstdParams | Bzip2Params | ReconstructParams | None = None
    compressed_size: int = 0
    inner: Recipe | None = None

    @property
    def input_size(self) -> int:
        """The bytes the segment's compressor takes (or that are copied): its decoded bytes, or what
        its inner recipe rebuilds of them."""
        return self.decoded_size if self.inner is None else self.inner.original_size

    @property
    def original_size(self) -> int:
        return self.input_size if self.params is None else self.compressed_size

    @property
    def max_decoded_size(self) -> int:
        """The most its bytes in the container can decode to (its input, before any nesting): a
        segment that claims more was never compressed from its decoded bytes."""
        if self.params is None:
            return self.input_size
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

    @cached_property
    def depth(self) -> int:
        """Containers from this one to its deepest nested one: 1 without nesting."""
        return 1 + max((s.inner.depth for s in self.segments if s.inner is not None), default=0)

    def walk(self) -> Iterator[Recipe]:
        """This recipe, then every nested one, depth first."""
        yield self
        for seg in self.segments:
            if seg.inner is not None:
                yield from seg.inner.walk()


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
    """The recipe's bytes (see the module's docstring for the layout): version 1 unless it nests."""
    if recipe.depth > MAX_DEPTH:
        raise ValueError(f"a recipe nests at most {MAX_DEPTH} containers")
    body = bytearray()
    _pack_body(recipe, body)
    if recipe.depth == 1:
        return MAGIC + bytes((VERSION,)) + bytes(body)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    return MAGIC + bytes((VERSION_NESTED,)) + deflater.compress(bytes(body)) + deflater.flush()


def _pack_body(recipe: Recipe, out: bytearray) -> None:
    out += _text(recipe.container) + _text(recipe.compressor)
    out += _varint(recipe.original_size) + _varint(len(recipe.segments))
    for seg in recipe.segments:
        if seg.inner is not None:
            out.append(_NESTED)
            _pack_body(seg.inner, out)
        _pack_segment(seg, out)


def _pack_segment(seg: Segment, out: bytearray) -> None:
    """One segment; its size field is its input's size (its decoded size, unless it nests)."""
    p = seg.params
    size = seg.input_size
    if p is None:
        out.append(_RAW)
        out += _varint(size)
    elif isinstance(p, ZstdParams):
        if p.pledged_size not in (None, size):
            raise ValueError("a zstd frame's pledged size is its decoded size")
        out.append(_ZSTD)
        out += _varint(size) + _varint(seg.compressed_size) + _varint(_zigzag(p.level))
        out += bytes((p.window_log, _zstd_flags(p)))
    elif isinstance(p, Lzma2Params):
        out.append(_LZMA2)
        out += _varint(size) + _varint(seg.compressed_size)
        out.append(p.preset | (_EXTREME if p.extreme else 0))
        out += _varint(p.dict_size)
    elif isinstance(p, Bzip2Params):
        out.append(_BZIP2)
        out += _varint(size) + _varint(seg.compressed_size)
        out.append(p.block_size)
    elif isinstance(p, ReconstructParams):
        out.append(_RECONSTRUCTED)
        out += _varint(size) + _varint(seg.compressed_size)
        out += _varint(p.size) + _varint(len(p.stored)) + p.stored
    else:
        out.append(_DEFLATE)
        out += _varint(size) + _varint(seg.compressed_size)
        out += bytes((p.level, p.wbits, p.mem_level, p.strategy))


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


def _segment(r: _Reader, kind: int) -> Segment:
    """A segment of ``kind``, whose kind byte was just read; its ``decoded_size`` is its input's
    size (see the layout)."""
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
    if version not in (VERSION, VERSION_NESTED):
        raise RecipeError(
            f"recipe version {version} is not supported (this version reads {VERSION} and {VERSION_NESTED})"
        )
    if version == VERSION_NESTED:
        r = _Reader(_inflate_body(data[r.pos :]))
    recipe = _unpack_body(r, depth=1, nests=version == VERSION_NESTED)
    if r.pos != len(r.data):
        raise RecipeError("recipe has bytes after its last segment")
    return recipe


def _inflate_body(data: bytes) -> bytes:
    inflater = zlib.decompressobj(-15)
    try:
        body = inflater.decompress(data, MAX_BODY)
    except zlib.error as exc:
        raise RecipeError(f"recipe's compressed layout is damaged: {exc}") from exc
    if not inflater.eof:
        raise RecipeError("recipe is truncated, or its layout larger than any recipe")
    if inflater.unused_data:
        raise RecipeError("recipe has bytes after its last segment")
    return body


def _unpack_body(r: _Reader, *, depth: int, nests: bool) -> Recipe:
    container, compressor = r.text(), r.text()
    original_size, count = r.varint(), r.varint()
    if count > len(r.data) - r.pos:
        raise RecipeError("recipe claims more segments than it can hold")
    segments = []
    for _ in range(count):
        kind = r.byte()
        inner = None
        if kind == _NESTED and nests:
            if depth >= MAX_DEPTH:
                raise RecipeError(f"recipe nests more than {MAX_DEPTH} containers")
            inner = _unpack_body(r, depth=depth + 1, nests=nests)
            kind = r.byte()
        seg = _segment(r, kind)
        if inner is not None:
            if inner.original_size != seg.decoded_size:
                raise RecipeError("a nested recipe rebuilds another size than its segment takes")
            seg = Segment(inner.decoded_size, seg.params, seg.compressed_size, inner)
        segments.append(seg)
    recipe = Recipe(container, compressor, tuple(segments))
    if recipe.original_size != original_size:
        raise RecipeError("recipe's segments do not add up to its original size")
    return recipe
