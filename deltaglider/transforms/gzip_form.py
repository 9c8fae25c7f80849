"""gzip (RFC 1952): header and trailer kept as raw segments, the one deflate stream decoded."""

from __future__ import annotations

import os
import struct
from typing import Final

from deltaglider.transforms.builder import Builder, pread_exact

_FHCRC: Final = 0x02
_FEXTRA: Final = 0x04
_FNAME: Final = 0x08
_FCOMMENT: Final = 0x10
_RESERVED: Final = 0xE0
_TRAILER: Final = 8


def _zero_terminated_end(fd: int, offset: int) -> int | None:
    """The offset just past the NUL that ends the string at ``offset``."""
    while True:
        block = os.pread(fd, 4096, offset)
        if not block:
            return None
        nul = block.find(b"\0")
        if nul >= 0:
            return offset + nul + 1
        offset += len(block)


def header_size(fd: int, start: int = 0) -> int | None:
    """The length of the gzip header at ``start``, or ``None`` if it is not one we know."""
    end = _header_end(fd, start)
    return None if end is None else end - start


def _header_end(fd: int, start: int) -> int | None:
    fixed = pread_exact(fd, 10, start)
    if len(fixed) < 10 or fixed[:3] != b"\x1f\x8b\x08" or fixed[3] & _RESERVED:
        return None
    flags = fixed[3]
    end: int | None = start + 10
    if flags & _FEXTRA:
        xlen = pread_exact(fd, 2, start + 10)
        if len(xlen) < 2:
            return None
        end = start + 12 + struct.unpack("<H", xlen)[0]
    for flag in (_FNAME, _FCOMMENT):
        if end is not None and flags & flag:
            end = _zero_terminated_end(fd, end)
    if end is not None and flags & _FHCRC:
        end += 2
    return end


def build_range(builder: Builder, start: int, end: int) -> bool:
    """Lays out the single-member gzip stream filling ``[start, end)``; ``False`` if it cannot be
    transformed (broken, several members, bytes after the trailer, or a deflate stream that no known
    setting reproduces). What was laid out before a ``False`` stays valid."""
    head = header_size(builder.src_fd, start)
    if head is None or builder.pos != start or start + head + _TRAILER > end:
        return False
    builder.raw(head)
    if not builder.deflate(None):
        return False
    # Anything after the trailer (another member, padding) would need a second recipe: not worth it.
    if builder.pos + _TRAILER != end:
        return False
    builder.raw(_TRAILER)
    return True


def build(builder: Builder, size: int) -> bool:
    """Lays out a file that is one gzip member."""
    return build_range(builder, 0, size)
