"""Archives whose deflate streams no zlib setting writes, for the tests of giving up early.

:func:`literal_deflate` is a deflater of its own: fixed Huffman codes, literals only, a block every
:data:`BLOCK_SYMBOLS` bytes. zlib finds matches at every level and ends its blocks when its symbol
buffer is full (``2**(memLevel + 6) - 1`` symbols), so none of its settings writes these bytes, as
none writes those of Rust's or 7-Zip's deflaters. :func:`zip_of` lays out a zip around given streams.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

#: Not a symbol buffer size zlib has.
BLOCK_SYMBOLS: Final = 50_000


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.count = 0

    def put(self, value: int, width: int) -> None:
        """``width`` bits of ``value``, least significant first."""
        self.acc |= value << self.count
        self.count += width
        while self.count >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.count -= 8

    def code(self, code: int, width: int) -> None:
        """A Huffman code: most significant bit first."""
        self.put(int(format(code, f"0{width}b")[::-1], 2), width)

    def end(self) -> bytes:
        if self.count:
            self.out.append(self.acc & 0xFF)
        return bytes(self.out)


def _literal(bits: _Bits, byte: int) -> None:
    if byte < 144:
        bits.code(0x30 + byte, 8)
    else:
        bits.code(0x190 + byte - 144, 9)


def literal_deflate(data: bytes) -> bytes:
    """A raw deflate stream of ``data``: fixed-code blocks of literals (module doc)."""
    bits = _Bits()
    starts = range(0, len(data), BLOCK_SYMBOLS) if data else range(1)
    for start in starts:
        last = start + BLOCK_SYMBOLS >= len(data)
        bits.put(1 if last else 0, 1)
        bits.put(1, 2)  # fixed Huffman codes
        for byte in data[start : start + BLOCK_SYMBOLS]:
            _literal(bits, byte)
        bits.code(0, 7)  # end of block
    return bits.end()


def zip_of(members: list[tuple[str, bytes, bytes]], *, comment: bytes = b"") -> bytes:
    """A zip of ``(name, content, raw deflate stream of it)`` members, method 8 each, and the
    archive's ``comment`` (bytes that are in no stream)."""
    local = bytearray()
    central = bytearray()
    for name, content, stream in members:
        encoded = name.encode()
        crc = zlib.crc32(content)
        fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x21, crc, len(stream), len(content))
        central += b"PK\x01\x02" + struct.pack("<H", 20) + fields
        central += struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, len(local)) + encoded
        local += b"PK\x03\x04" + fields + struct.pack("<HH", len(encoded), 0) + encoded + stream
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), len(comment)
    )
    return bytes(local + central + end + comment)
