"""Whether decoding a container can pay, told from the first bytes of its streams.

Decoding an archive for a delta pays only on streams that a known compressor setting reproduces:
the others stay raw in the decoded stream. An archive whose deflater is not zlib (Rust's, 7-Zip's,
zopfli) reproduces in none of its large streams, and finding that out the full way means inflating
every stream, encoding the decoded stream and searching every setting of every stream.

The probe walks the same layout as :func:`deltaglider.transforms.container.encode_container`, noting
where the streams are, then judges them largest first: a deflate stream's first block is counted
(:mod:`.first_block`: a count that no zlib symbol buffer makes rules out every setting at once), then
the start of the stream is inflated and compressed with each remaining setting, stopping at the first
byte that differs (a wrong setting differs in its first block). A zstd frame's start is decoded and
compressed single-threaded with each setting its header allows (:mod:`.zstd_frame`).

Streams are weighed by their compressed bytes, so that a tiny member that any deflater writes the
same way (an empty file, a line of text) does not stand for the binary beside it.
"""

from __future__ import annotations

import io
import os
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from typing import BinaryIO, Final

from deltaglider.atomic import StrPath
from deltaglider.errors import CodecError
from deltaglider.transforms import bzip2, lzma2, reconstruct, zstd_frame
from deltaglider.transforms.builder import ZSTD_QUICK, Builder, pread_exact
from deltaglider.transforms.container import layout_for
from deltaglider.transforms.deflater import (
    Compressor,
    DeflateParams,
    Deflater,
    default_compressor,
    likely_params,
    other_params,
)
from deltaglider.transforms.first_block import first_block, zlib_mem_level
from deltaglider.transforms.sniff import detect

#: How much of a stream's start is decoded to judge it: enough for zlib to have written its first
#: block at any setting, on all but the most compressible data.
PROBE_DECODED: Final = 256 << 10
#: How much of a bzip2 stream is decoded at most to judge it: its first block, unless that block is one
#: of long runs (a block holds 900 kB of run-length-coded symbols at most).
PROBE_BZIP2_DECODED: Final = 8 << 20
#: At most this many streams are judged: an archive of many small streams is decided by its first ones.
PROBE_STREAMS: Final = 16
#: Decoding is worth trying when the streams that reproduce hold at least 1/SHARE of the compressed
#: bytes judged: below that, what it could gain is smaller than what the search costs.
SHARE: Final = 16
#: Compressed in steps this large, so that a wrong setting is dropped soon after its first block.
_STEP: Final = 16 << 10
_READ: Final = 1 << 16

#: ``(offset, size)`` into the stream's original bytes: ``size`` of them or fewer at its end.
Original = Callable[[int, int], bytes]


def _agrees(
    new: Callable[[], Deflater],
    decoded: bytes,
    original: Original,
    *,
    whole: int | None,
    enough: int | None = None,
) -> bool | None:
    """Whether compressing ``decoded`` gives the stream's bytes: all ``whole`` of them when the
    stream ended within ``decoded``, else its start; or only its first ``enough`` bytes. None when
    the compressor wrote nothing yet."""
    deflater = new()
    made = 0
    for at in range(0, len(decoded), _STEP):
        out = deflater.compress(decoded[at : at + _STEP])
        if out:
            if original(made, len(out)) != out:
                return False
            made += len(out)
            if enough is not None and made >= enough:
                return True
    if whole is not None:
        out = deflater.flush()
        return made + len(out) == whole and original(made, len(out)) == out
    return True if made else None


@dataclass(frozen=True)
class _Stream:
    """A compressed stream as the layout found it: where it starts and its compressed size (None:
    a gzip or bzip2 stream, which runs to its end marker); for an .xz block, its dictionary and
    decoded size; for a bzip2 stream, its block size; for a zstd frame, its header."""

    pos: int
    size: int | None
    lzma2: tuple[int, int] | None = None
    bzip2: int | None = None
    zstd: zstd_frame.FrameHeader | None = None


class _Walk(Builder):
    """A builder that reads and writes nothing: it notes where each stream is and skips it as raw."""

    def __init__(self, src: BinaryIO, compressor: Compressor) -> None:
        super().__init__(src, io.BytesIO(), -1, compressor, max_decoded=0)
        self.streams: list[_Stream] = []

    def raw(self, size: int) -> None:
        self.pos += max(size, 0)

    def deflate(self, compressed_size: int | None) -> bool:
        self.streams.append(_Stream(self.pos, compressed_size))
        return False

    def lzma2(self, compressed_size: int, dict_size: int, decoded_size: int) -> bool:
        self.streams.append(_Stream(self.pos, compressed_size, (dict_size, decoded_size)))
        return False

    def bzip2(self, block_size: int, available: int) -> bool:
        # Its length is known only once decoded: it stands for the rest of the range (as a gzip
        # stream does), and the streams after it of a pbzip2 file were written by the same encoder.
        self.streams.append(_Stream(self.pos, None, bzip2=block_size))
        return False

    def zstd(self, frame_size: int, header: zstd_frame.FrameHeader) -> bool:
        self.streams.append(_Stream(self.pos, frame_size, zstd=header))
        return False


class _Judge:
    """Judges streams, largest first, until the share of the bytes that reproduce is known."""

    def __init__(self, fd: int, size: int, compressor: Compressor) -> None:
        self.fd, self.size, self.compressor = fd, size, compressor
        self.reproduced = 0  # compressed bytes of streams whose start a setting reproduces
        self.refuted = 0  # compressed bytes of streams that no setting reproduces
        self._matched: DeflateParams | None = None

    @property
    def decodes(self) -> bool:
        return self.reproduced > 0 and SHARE * self.reproduced >= self.reproduced + self.refuted

    def verdict(self, streams: list[_Stream]) -> bool:
        if not streams:
            return False
        # A gzip stream runs to its end marker: up to the next stream stands for its size.
        ends = [s.pos for s in streams[1:]] + [self.size]
        weighed = [
            (end - s.pos if s.size is None else s.size, s) for s, end in zip(streams, ends, strict=True)
        ]
        weighed.sort(key=lambda pair: -pair[0])
        for judged, (weight, stream) in enumerate(weighed, 1):
            end = self.size if stream.size is None else stream.pos + stream.size
            if stream.zstd is not None:
                reproduces = self._zstd(stream.pos, end, stream.zstd)
            elif stream.lzma2 is not None:
                reproduces = self._lzma2(stream.pos, end, *stream.lzma2)
            elif stream.bzip2 is not None:
                reproduces = self._bzip2(stream.pos, end, stream.bzip2)
            else:
                reproduces = self._deflate(stream.pos, end, stream.size)
            if reproduces:
                self.reproduced += weight
            else:
                self.refuted += weight
            if SHARE * self.reproduced >= self.size:
                return True  # whatever the rest holds, the share is reached
            if SHARE * (self.size - self.refuted) < self.size:
                return False  # too little is left to reach it
            if judged == PROBE_STREAMS:
                break
        return self.decodes

    def _original(self, start: int, end: int) -> Original:
        return lambda offset, size: pread_exact(
            self.fd, max(0, min(size, end - start - offset)), start + offset
        )

    def _deflate(self, start: int, end: int, compressed_size: int | None) -> bool:
        inflater = zlib.decompressobj(-15)
        decoded = bytearray()
        fed = 0
        try:
            while len(decoded) < PROBE_DECODED and not inflater.eof:
                data = pread_exact(self.fd, min(_READ, end - start - fed), start + fed)
                if not data:
                    return False
                fed += len(data)
                decoded += inflater.decompress(data, PROBE_DECODED - len(decoded))
        except zlib.error:
            return False
        whole = None
        if inflater.eof:
            whole = fed - len(inflater.unused_data)
            if compressed_size is not None and whole != compressed_size:
                return False
        original = self._original(start, end)
        start_bytes = bytes(decoded)
        unsure = False
        for params in self._deflate_settings(original):
            verdict = _agrees(partial(self.compressor.new, params), start_bytes, original, whole=whole)
            if verdict:
                self._matched = params
                return True
            unsure = unsure or verdict is None
        # No setting wrote anything yet (a start that compresses very well): not refuted. A stream
        # that inflates is rebuilt from its choices all the same (.reconstruct), unless it is too
        # large for the reconstructor: that the full layout finds out.
        return unsure or reconstruct.may_take(len(decoded))

    def _deflate_settings(self, original: Original) -> Iterator[DeflateParams]:
        """The setting the last stream matched, then those whose symbol buffer fits the stream's first
        block (:mod:`.first_block`): none when no setting's does."""
        if self._matched is not None:
            yield self._matched
        mem_level = None
        block = first_block(original(0, PROBE_DECODED))
        if block is not None and not block.last and fills_blocks(self.compressor):
            mem_level = zlib_mem_level(block)
            if mem_level is None:
                return
        seen = {self._matched}
        for params in (*likely_params(), *other_params()):
            if params not in seen and mem_level in (None, params.mem_level):
                seen.add(params)
                yield params

    def _lzma2(self, start: int, end: int, dict_size: int, decoded_size: int) -> bool:
        try:
            import lzma  # an interpreter built without liblzma keeps .xz blocks raw: nothing to decode
        except ImportError:
            return False
        if dict_size > lzma2.MAX_DICT:
            return False
        decoder = lzma.LZMADecompressor(
            format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": dict_size}]
        )
        decoded = bytearray()
        fed = 0
        want = min(PROBE_DECODED, decoded_size)
        try:
            while len(decoded) < want and not decoder.eof:
                data = b""
                if decoder.needs_input:
                    data = pread_exact(self.fd, min(_READ, end - start - fed), start + fed)
                    if not data:
                        return False
                    fed += len(data)
                decoded += decoder.decompress(data, want - len(decoded))
        except lzma.LZMAError:
            return False
        whole = end - start if want == decoded_size else None
        original = self._original(start, end)
        compressor = lzma2.pinned_liblzma()
        start_bytes = bytes(decoded)
        unsure = False
        for params in lzma2.candidates(dict_size, None):
            verdict = _agrees(partial(compressor.new, params), start_bytes, original, whole=whole)
            if verdict:
                return True
            unsure = unsure or verdict is None
        return unsure

    def _zstd(self, start: int, end: int, header: zstd_frame.FrameHeader) -> bool:
        from deltaglider._native.zstd import ZstdFrameDecoder

        decoded = bytearray()
        fed = 0
        try:
            decoder = ZstdFrameDecoder()
            pending = b""
            while len(decoded) < PROBE_DECODED and not decoder.done:
                if not pending:
                    pending = pread_exact(self.fd, min(_READ, end - start - fed), start + fed)
                    if not pending:
                        return False
                    fed += len(pending)
                out, used = decoder.feed(pending, PROBE_DECODED - len(decoded))
                pending = pending[used:]
                decoded += out
            decoder.close()
        except CodecError:
            return False
        whole = end - start if decoder.done else None
        if whole is not None and (
            fed - len(pending) != whole or header.content_size not in (None, len(decoded))
        ):
            return False
        # The frame's decoded size is known only from its header, or once it is decoded whole.
        size = len(decoded) if whole is not None else header.content_size
        if size is None:
            size = PROBE_DECODED + 1  # unknown and larger: no candidate depends on it then
        compressor = zstd_frame.pinned_libzstd()
        original = self._original(start, end)
        start_bytes = bytes(decoded)
        enough = zstd_frame.quick_check_size(original(0, header.size + 3), header, ZSTD_QUICK)
        unsure = False
        for params in zstd_frame.candidates(header, size, None):
            # Single-threaded, as the upload's search first checks a setting: only the start is
            # the same as the tool's threaded frame (with --long, only its first block or so).
            new = partial(compressor.new, params.single_threaded())
            verdict = _agrees(new, start_bytes, original, whole=whole, enough=enough)
            if verdict:
                return True
            unsure = unsure or verdict is None
        return unsure

    def _bzip2(self, start: int, end: int, block_size: int) -> bool:
        """Whether the pinned libbzip2 writes the stream's first block (all of the stream, when that
        block is its last): the stream is decoded only until the compressor has written something,
        at most :data:`PROBE_BZIP2_DECODED` bytes (unsure past that: not refuted)."""
        encoder = bzip2.pinned_libbzip2().new(bzip2.Bzip2Params(block_size))
        original = self._original(start, end)
        sink = _FirstOutput(encoder, original)
        try:
            found = bzip2.decode_stream(original, end - start, sink, PROBE_BZIP2_DECODED)
        except _DecidedError:
            return sink.verdict is None or sink.verdict
        return found is not None and sink.finish(found[0])


class _DecidedError(Exception):
    """Stops the decoder: what the probe wanted to know is known."""


class _FirstOutput:
    """Takes a bzip2 stream's decoded bytes as the decoder writes them and feeds them to the
    compressor; compares the first output it makes with the original's start, then stops the
    decoder (:class:`_DecidedError`), as it does past :data:`PROBE_BZIP2_DECODED` bytes."""

    def __init__(self, encoder: Deflater, original: Original) -> None:
        self.encoder, self.original = encoder, original
        self.fed = 0
        self.verdict: bool | None = None

    def write(self, data: bytes) -> int:
        self.fed += len(data)
        out = self.encoder.compress(data)
        if out:
            self.verdict = self.original(0, len(out)) == out
        if out or self.fed >= PROBE_BZIP2_DECODED:
            raise _DecidedError
        return len(data)

    def finish(self, whole: int) -> bool:
        """The stream ended before the compressor wrote anything: all of it is compared."""
        out = self.encoder.flush()
        return len(out) == whole and self.original(0, whole) == out


@cache
def fills_blocks(compressor: Compressor) -> bool:
    """Whether ``compressor`` ends blocks as zlib does (:mod:`.first_block`), checked once per
    compressor: a platform's zlib-ng, standing in for the pinned zlib, need not."""
    draw = random.Random(0)
    # Enough symbols to fill the largest buffer tried: only the first block is read.
    sample = b"".join(b"%x\n" % draw.getrandbits(16) for _ in range(20_000))
    for mem_level in (7, 8):
        deflater = compressor.new(DeflateParams(1, 15, mem_level))
        block = first_block(deflater.compress(sample) + deflater.flush())
        if block is None or block.last or zlib_mem_level(block) != mem_level:
            return False
    return True


def may_decode(path: StrPath, *, kind: str | None = None, compressor: Compressor | None = None) -> bool:
    """False when decoding the container at ``path`` cannot pay: none of its streams reproduces, or
    those that do hold too small a share of its compressed bytes (:data:`SHARE`), as their starts
    show. True otherwise, and whenever unsure: a True is confirmed only by the full search, a False
    spares it. A deflate stream that inflates counts as reproduced unless it is too large for the
    reconstructor, which rebuilds what no zlib setting does."""
    kind = detect(path) if kind is None else kind
    layout = layout_for(kind)
    if layout is None:
        return False
    compressor = compressor or default_compressor()
    with open(path, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        walk = _Walk(src, compressor)
        layout(walk, size)
        return _Judge(src.fileno(), size, compressor).verdict(walk.streams)
