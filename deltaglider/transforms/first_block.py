"""How many symbols the first block of a raw deflate stream holds, read without inflating it.

zlib ends a block (other than the last) when its symbol buffer is full: at ``2**(memLevel + 6) - 1``
literals and matches, whatever the level, strategy or window. So a stream whose first block is not
its last and holds another count was written by no zlib setting, and one that holds such a count was
written, if by zlib, with that ``memLevel``: one Huffman-decoded block rules out a whole deflater.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

_LENGTH_EXTRA: Final = (0,) * 8 + (1,) * 4 + (2,) * 4 + (3,) * 4 + (4,) * 4 + (5,) * 4 + (0, 0, 0)
_DISTANCE_EXTRA: Final = tuple(max(0, (code >> 1) - 1) for code in range(32))
#: The order in which a dynamic block lists the code lengths of its code-length alphabet (RFC 1951).
_ORDER: Final = (16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)
_MAX_BITS: Final = 15


class _MalformedError(Exception):
    """Not a block zlib's inflate would accept, or one that does not end within the bytes given."""


#: A decoding table: the next ``bits`` bits (least significant first) index ``symbol << 4 | length``
#: (-1: no code starts so).
_Table = tuple[list[int], int]


def _table(lengths: list[int]) -> _Table:
    bits = max(lengths, default=0)
    if bits == 0:
        return [], 0
    if bits > _MAX_BITS:
        raise _MalformedError
    count = [0] * (bits + 1)
    for length in lengths:
        count[length] += 1
    count[0] = 0
    code, first = 0, [0] * (bits + 1)
    for length in range(1, bits + 1):
        code = (code + count[length - 1]) << 1
        first[length] = code
    table = [-1] * (1 << bits)
    for symbol, length in enumerate(lengths):
        if not length:
            continue
        code = first[length]
        first[length] += 1
        if code >= 1 << length:
            raise _MalformedError  # over-subscribed
        reversed_code = int(format(code, f"0{length}b")[::-1], 2)
        for at in range(reversed_code, 1 << bits, 1 << length):
            table[at] = symbol << 4 | length
    return table, bits


_FIXED_LITERALS: Final = _table([8] * 144 + [9] * 112 + [7] * 24 + [8] * 8)
_FIXED_DISTANCES: Final = _table([5] * 30)


@dataclass(frozen=True)
class FirstBlock:
    last: bool  # the stream's only block
    symbols: int  # literals and matches, the end-of-block code left out


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.data = data + b"\0\0\0\0"
        self.end = len(data) * 8
        self.pos = 0

    def take(self, count: int) -> int:
        value = self.peek(count)
        self.pos += count
        return value

    def peek(self, count: int) -> int:
        if self.pos >= self.end:
            raise _MalformedError
        at = self.pos >> 3
        return (int.from_bytes(self.data[at : at + 4], "little") >> (self.pos & 7)) & ((1 << count) - 1)

    def symbol(self, table: _Table) -> int:
        entry = table[0][self.peek(table[1])] if table[1] else -1
        if entry < 0:
            raise _MalformedError
        self.pos += entry & 15
        return entry >> 4


def _dynamic_tables(bits: _Bits) -> tuple[_Table, _Table]:
    literals = bits.take(5) + 257
    distances = bits.take(5) + 1
    code_lengths = [0] * 19
    for at in range(bits.take(4) + 4):
        code_lengths[_ORDER[at]] = bits.take(3)
    table = _table(code_lengths)
    lengths: list[int] = []
    while len(lengths) < literals + distances:
        symbol = bits.symbol(table)
        if symbol < 16:
            lengths.append(symbol)
        elif symbol == 16:
            if not lengths:
                raise _MalformedError
            lengths += [lengths[-1]] * (3 + bits.take(2))
        elif symbol == 17:
            lengths += [0] * (3 + bits.take(3))
        else:
            lengths += [0] * (11 + bits.take(7))
    if len(lengths) != literals + distances:
        raise _MalformedError
    return _table(lengths[:literals]), _table(lengths[literals:])


def first_block(stream: bytes) -> FirstBlock | None:
    """The first block of the raw deflate ``stream`` (its start is enough), or None when that block
    is stored (it has no symbols), malformed, or does not end within the bytes given."""
    bits = _Bits(stream)
    try:
        last = bool(bits.take(1))
        kind = bits.take(2)
        if kind == 1:
            literals, distances = _FIXED_LITERALS, _FIXED_DISTANCES
        elif kind == 2:
            literals, distances = _dynamic_tables(bits)
        else:
            return None
        return _count(bits, literals, distances, last)
    except _MalformedError:
        return None


def zlib_mem_level(block: FirstBlock) -> int | None:
    """The ``memLevel`` zlib fills a first block of this many symbols at, when it is not the last;
    None when no ``memLevel`` does (no zlib setting wrote it)."""
    full = block.symbols + 1
    if full & (full - 1) or not 1 << 7 <= full <= 1 << 15:
        return None
    return full.bit_length() - 1 - 6


def _count(bits: _Bits, literals: _Table, distances: _Table, last: bool) -> FirstBlock:
    """Reads the block's symbols up to its end code. Written out in one loop: it runs per symbol."""
    data, end, pos = bits.data, bits.end, bits.pos
    table, width = literals
    far, far_width = distances
    if not width:
        raise _MalformedError
    mask, far_mask = (1 << width) - 1, (1 << far_width) - 1
    length_extra, distance_extra, from_bytes = _LENGTH_EXTRA, _DISTANCE_EXTRA, int.from_bytes
    symbols = 0
    while pos < end:
        at = pos >> 3
        entry = table[(from_bytes(data[at : at + 4], "little") >> (pos & 7)) & mask]
        if entry < 0:
            raise _MalformedError
        pos += entry & 15
        symbol = entry >> 4
        if symbol == 256:
            return FirstBlock(last, symbols)
        symbols += 1
        if symbol > 256:
            if symbol > 285 or not far_width:
                raise _MalformedError
            pos += length_extra[symbol - 257]
            at = pos >> 3
            entry = far[(from_bytes(data[at : at + 4], "little") >> (pos & 7)) & far_mask]
            if entry < 0:
                raise _MalformedError
            pos += (entry & 15) + distance_extra[entry >> 4]
    raise _MalformedError
