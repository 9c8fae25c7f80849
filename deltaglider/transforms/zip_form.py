"""zip (APPNOTE): every header, descriptor and the central directory kept as raw segments; each
deflated member decoded when a known setting reproduces it, else kept raw as well. A stored member
that is a zstd file (a conda package's ``pkg-*.tar.zst`` and ``info-*.tar.zst``) is laid out as one
(:mod:`.zstd_form`).

Members are located from the central directory, which is what readers trust, and checked against
their local header; anything not accounted for (gaps, prefixed stubs, zip64 or encrypted members)
simply stays in a raw segment, so the layout always covers every byte of the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from deltaglider.transforms import zstd_form
from deltaglider.transforms.builder import Builder, pread_exact
from deltaglider.transforms.sniff import ZSTD_MAGIC

_EOCD: Final = b"PK\x05\x06"
_CENTRAL: Final = b"PK\x01\x02"
_LOCAL: Final = b"PK\x03\x04"
_EOCD_SIZE: Final = 22
_MAX_COMMENT: Final = 0xFFFF
_CENTRAL_SIZE: Final = 46
_LOCAL_SIZE: Final = 30
_STORED: Final = 0
_DEFLATED: Final = 8
_ENCRYPTED: Final = 0x1
_ZIP64: Final = 0xFFFFFFFF


@dataclass(frozen=True)
class Member:
    offset: int  # of the local header
    compressed_size: int
    method: int = _DEFLATED


def _central_directory(fd: int, size: int) -> tuple[int, int] | None:
    """(offset, size) of the central directory, from the end record whose comment reaches EOF."""
    tail_start = max(0, size - _EOCD_SIZE - _MAX_COMMENT)
    tail = pread_exact(fd, size - tail_start, tail_start)
    at = tail.rfind(_EOCD)
    while at >= 0:
        record = tail[at : at + _EOCD_SIZE]
        if len(record) == _EOCD_SIZE:
            cd_size, cd_offset, comment = struct.unpack("<IIH", record[12:22])
            if at + _EOCD_SIZE + comment == len(tail):
                if cd_offset == _ZIP64 or cd_offset + cd_size > tail_start + at:
                    return None
                return cd_offset, cd_size
        at = tail.rfind(_EOCD, 0, at)
    return None


def members(fd: int, size: int) -> tuple[int, list[Member]] | None:
    """Where the central directory starts, and the deflated or stored, unencrypted members with known
    sizes by offset; ``None`` if the file is no zip we can lay out."""
    found = _central_directory(fd, size)
    if found is None:
        return None
    cd_offset, cd_size = found
    cd = pread_exact(fd, cd_size, cd_offset)
    out = []
    pos = 0
    while pos + _CENTRAL_SIZE <= len(cd) and cd[pos : pos + 4] == _CENTRAL:
        (flags, method, csize, name_len, extra_len, comment_len, offset) = struct.unpack(
            "<HH8xI4xHHH8xI", cd[pos + 8 : pos + _CENTRAL_SIZE]
        )
        pos += _CENTRAL_SIZE + name_len + extra_len + comment_len
        if method in (_DEFLATED, _STORED) and not flags & _ENCRYPTED and _ZIP64 not in (csize, offset):
            out.append(Member(offset, csize, method))
    return cd_offset, sorted(out, key=lambda m: m.offset)


def build(builder: Builder, size: int) -> bool:
    """Lays out the zip; ``False`` if it has no usable central directory."""
    fd = builder.src_fd
    found = members(fd, size)
    if found is None:
        return False
    cd_offset, listed = found
    for member in listed:
        local = pread_exact(fd, _LOCAL_SIZE, member.offset)
        if member.offset < builder.pos or len(local) < _LOCAL_SIZE or local[:4] != _LOCAL:
            continue
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        data = member.offset + _LOCAL_SIZE + name_len + extra_len
        if data + member.compressed_size > cd_offset:
            continue
        builder.raw(data - builder.pos)
        end = data + member.compressed_size
        if member.method == _STORED:
            if builder.zstd_members and pread_exact(fd, len(ZSTD_MAGIC), data) == ZSTD_MAGIC:
                zstd_form.build_range(builder, data, end)
        elif not builder.deflate(member.compressed_size):
            builder.raw(member.compressed_size)
        builder.raw(end - builder.pos)
    builder.raw(size - builder.pos)
    return True
