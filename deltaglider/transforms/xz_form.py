"""xz (the .xz file format 1.0.4): the stream header, block headers, checks, index and footer kept
as raw segments; each block's LZMA2 payload decoded when a preset of the pinned liblzma reproduces it.

Blocks are located from the index at the end of the stream, which records each block's size, so the
multi-block files of multi-threaded xz (and dpkg) are laid out as well as single-block ones. Only a
single stream that fills its range exactly, whose blocks use LZMA2 alone, is decoded; anything else
(concatenated streams, padding, BCJ or delta filters) is left to the caller to keep raw.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

from deltaglider.transforms.builder import Builder, pread_exact
from deltaglider.transforms.lzma2 import dict_size_of
from deltaglider.transforms.sniff import XZ_MAGIC

_FOOTER_MAGIC: Final = b"YZ"
_HEADER: Final = 12
_FOOTER: Final = 12
_LZMA2_ID: Final = 0x21
_MAX_BLOCKS: Final = 1 << 20


def _vli(data: bytes, pos: int) -> tuple[int, int] | None:
    """A variable-length integer at ``pos`` (at most 9 bytes) and the position after it."""
    value = 0
    for i in range(9):
        if pos + i >= len(data):
            return None
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos + i + 1
    return None


def _check_size(check_id: int) -> int:
    return 0 if check_id == 0 else 4 << ((check_id - 1) // 3)


def _index(fd: int, start: int, end: int, flags: bytes) -> list[tuple[int, int]] | None:
    """The (unpadded size, uncompressed size) of every block, from the index the footer points to."""
    footer = pread_exact(fd, _FOOTER, end - _FOOTER)
    if len(footer) != _FOOTER or footer[10:] != _FOOTER_MAGIC or footer[8:10] != flags:
        return None
    if zlib.crc32(footer[4:10]) != struct.unpack("<I", footer[:4])[0]:
        return None
    backward = (struct.unpack("<I", footer[4:8])[0] + 1) * 4
    index_start = end - _FOOTER - backward
    if index_start < start + _HEADER:
        return None
    index = pread_exact(fd, backward, index_start)
    if len(index) != backward or index[0] != 0:
        return None
    if zlib.crc32(index[:-4]) != struct.unpack("<I", index[-4:])[0]:
        return None
    found = _vli(index, 1)
    if found is None or found[0] > _MAX_BLOCKS:
        return None
    count, pos = found
    records = []
    for _ in range(count):
        unpadded = _vli(index, pos)
        if unpadded is None:
            return None
        size = _vli(index, unpadded[1])
        if size is None:
            return None
        records.append((unpadded[0], size[0]))
        pos = size[1]
    blocks_end = start + _HEADER + sum((u + 3) & ~3 for u, _ in records)
    return records if blocks_end == index_start else None


def _block_dict_size(header: bytes) -> int | None:
    """The LZMA2 dictionary size of a block whose only filter is LZMA2, else None."""
    flags = header[1]
    if flags & 0x3F:  # more than one filter, or reserved bits
        return None
    pos = 2
    for present in (0x40, 0x80):  # compressed size, uncompressed size
        if flags & present:
            found = _vli(header, pos)
            if found is None:
                return None
            pos = found[1]
    filter_id = _vli(header, pos)
    if filter_id is None or filter_id[0] != _LZMA2_ID:
        return None
    props_size = _vli(header, filter_id[1])
    if props_size is None or props_size[0] != 1 or props_size[1] >= len(header):
        return None
    return dict_size_of(header[props_size[1]])


def build_range(builder: Builder, start: int, end: int) -> bool:
    """Lays out the xz stream filling ``[start, end)``; ``False`` if it is not one this module knows
    (whatever was laid out before that stays valid: the caller keeps the rest raw)."""
    fd = builder.src_fd
    header = pread_exact(fd, _HEADER, start)
    if len(header) != _HEADER or not header.startswith(XZ_MAGIC) or builder.pos != start:
        return False
    flags = header[6:8]
    if flags[0] or flags[1] & 0xF0 or zlib.crc32(flags) != struct.unpack("<I", header[8:])[0]:
        return False
    records = _index(fd, start, end, flags)
    if records is None:
        return False
    check = _check_size(flags[1] & 0x0F)
    builder.raw(_HEADER)
    for unpadded, uncompressed in records:
        block = builder.pos
        size_byte = pread_exact(fd, 1, block)
        header_size = (size_byte[0] + 1) * 4 if size_byte and size_byte[0] else 0
        payload = unpadded - header_size - check
        if not header_size or payload <= 0:
            return False
        block_header = pread_exact(fd, header_size, block)
        dict_size = _block_dict_size(block_header)
        builder.raw(header_size)
        if dict_size is None or not builder.lzma2(payload, dict_size, uncompressed):
            builder.raw(payload)
        builder.raw(((unpadded + 3) & ~3) - unpadded + check)
    builder.raw(end - builder.pos)
    return True


def build(builder: Builder, size: int) -> bool:
    """Lays out a file that is one xz stream."""
    return build_range(builder, 0, size)
