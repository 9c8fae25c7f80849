"""The compressor that re-creates a bzip2 stream, the setting to try, and the stream's decoder.

A bzip2 stream (``BZh`` and a digit, then blocks of Burrows-Wheeler-transformed data, then an
end-of-stream marker and a checksum) is fixed by its input and its block size: the digit of its
header, ``1`` to ``9`` for ``bzip2 -1`` ... ``-9``. libbzip2's other setting, the work factor, only
chooses which sorting algorithm runs, never what it sorts to. So the ``bzip2`` command, ``tar cjf``,
Python's bz2 module and pbzip2 (one stream per chunk, concatenated) are rebuilt from the decoded
bytes and the header's digit, with no search. Encoders of their own (lbzip2, 7-Zip) choose other
Huffman tables and are not: their streams stay raw.

Blocks are not byte-aligned, so a stream is decoded and rebuilt whole. The rebuild uses the vendored
libbzip2 (``vendor/bzip2``), never the platform's; decoding may use any correct decoder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Final, Protocol

from deltaglider.transforms.deflater import Deflater

MAGIC: Final = b"BZh"
BLOCK_SIZES: Final = range(1, 10)
#: Bytes of decoded output taken from the decoder per call: a bzip2 bomb is stopped within one step
#: of the limit, never after it.
DECODE_STEP: Final = 1 << 18
_READ: Final = 1 << 16

#: (offset, size) -> up to ``size`` bytes of the original at that offset (fewer only at its end).
Reader = Callable[[int, int], bytes]


@dataclass(frozen=True)
class Bzip2Params:
    """The block size, in units of 100 000 bytes, that the stream's header names."""

    block_size: int

    def __post_init__(self) -> None:
        if self.block_size not in BLOCK_SIZES:
            raise ValueError(f"unsupported bzip2 parameters: {self}")


@dataclass(frozen=True)
class Bzip2Compressor:
    """A named bzip2 implementation. Equal names must mean byte-identical output."""

    name: str
    new: Callable[[Bzip2Params], Deflater]


def _pinned(params: Bzip2Params) -> Deflater:
    from deltaglider.codec import PinnedBzip2

    return PinnedBzip2(params.block_size)


@cache
def pinned_libbzip2() -> Bzip2Compressor:
    """The vendored libbzip2 compiled into the extension."""
    from deltaglider.codec import pinned_libbzip2_version

    return Bzip2Compressor(f"libbzip2-{pinned_libbzip2_version()}", _pinned)


def block_size_of(head: bytes) -> int | None:
    """The block size the stream header at the start of ``head`` names, or None if it is none."""
    if len(head) < 4 or not head.startswith(MAGIC) or head[3] not in b"123456789":
        return None
    return head[3] - ord("0")


class Sink(Protocol):
    """Where decoded bytes go."""

    def write(self, data: bytes, /) -> int: ...


def decode_stream(read: Reader, available: int, out: Sink, limit: int) -> tuple[int, int] | None:
    """Decodes the one bzip2 stream at the start of what ``read`` gives (at most ``available``
    bytes of it) into ``out``: (compressed bytes it used, decoded bytes written). None when it is
    corrupt, truncated, or would decode to more than ``limit`` bytes; what was written then is the
    caller's to discard. The stream ends at its own end-of-stream marker; bytes after it are not
    its."""
    try:
        import bz2  # an interpreter built without libbz2 simply keeps .bz2 streams raw
    except ImportError:
        return None
    decoder = bz2.BZ2Decompressor()
    fed = made = 0
    while not decoder.eof:
        data = b""
        if decoder.needs_input:
            want = min(_READ, available - fed)
            data = read(fed, want) if want > 0 else b""
            if not data:
                return None
            fed += len(data)
        try:
            chunk = decoder.decompress(data, DECODE_STEP)
        except (OSError, EOFError, ValueError, MemoryError):
            return None
        made += len(chunk)
        if made > limit:
            return None
        out.write(chunk)
    return fed - len(decoder.unused_data), made
