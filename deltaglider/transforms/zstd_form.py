"""zstd (RFC 8878): a run of frames, each zstd frame decoded when a setting of the pinned libzstd
reproduces it (:mod:`.zstd_frame`), skippable frames and frame headers' surroundings kept raw.

A ``.zst`` or ``.tar.zst`` file is usually one frame; ``pzstd`` and some tools write several, which
are laid out one by one, each with its own settings (or kept raw). A frame is located by walking its
block headers, so its length is known before anything is decoded. Anything that is not a frame
(trailing garbage, a frame cut short) ends the layout: the caller keeps the rest raw.
"""

from __future__ import annotations

from typing import Final

from deltaglider.transforms.builder import Builder, pread_exact
from deltaglider.transforms.zstd_frame import FrameHeader, parse_header, skippable_size

_HEADER_MAX: Final = 18
_BLOCK_HEADER: Final = 3
_BLOCK_MAX: Final = 128 << 10
_RAW, _RLE, _COMPRESSED = 0, 1, 2
_CHECKSUM: Final = 4


def frame_end(fd: int, start: int, end: int, header: FrameHeader) -> int | None:
    """Where the frame at ``start`` ends (past its checksum), from its block headers; None if a
    block is malformed or runs past ``end``."""
    pos = start + header.size
    while True:
        raw = pread_exact(fd, _BLOCK_HEADER, pos)
        if len(raw) != _BLOCK_HEADER:
            return None
        value = int.from_bytes(raw, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        if kind > _COMPRESSED or size > _BLOCK_MAX:
            return None
        pos += _BLOCK_HEADER + (1 if kind == _RLE else size)
        if pos > end:
            return None
        if last:
            break
    pos += _CHECKSUM if header.checksum else 0
    return pos if pos <= end else None


def build_range(builder: Builder, start: int, end: int) -> bool:
    """Lays out the frames filling ``[start, end)``; ``False`` where something that is no frame
    begins (what was laid out before stays valid: the caller keeps the rest raw)."""
    fd = builder.src_fd
    if builder.pos != start:
        return False
    while builder.pos < end:
        head = pread_exact(fd, min(_HEADER_MAX, end - builder.pos), builder.pos)
        skip = skippable_size(head)
        if skip is not None:
            if builder.pos + skip > end:
                return False
            builder.raw(skip)
            continue
        header = parse_header(head)
        frame = None if header is None else frame_end(fd, builder.pos, end, header)
        if header is None or frame is None:
            return False
        if not builder.zstd(frame - builder.pos, header):
            builder.raw(frame - builder.pos)
    return True


def build(builder: Builder, size: int) -> bool:
    """Lays out a file of zstd frames."""
    build_range(builder, 0, size)
    builder.raw(size - builder.pos)
    return True
