"""bzip2 (``.bz2``, ``.tar.bz2``): each stream decoded whole when the pinned libbzip2 at the block
size its header names reproduces it; what follows the last stream that does is kept raw.

A file may hold several streams one after another (pbzip2 writes one per chunk; ``cat a.bz2 b.bz2``
is a valid file, and decoders read on): each is a segment of its own. Streams are byte-aligned, so
the first one that cannot be rebuilt (another encoder, corruption, garbage after the end) ends the
walk and the rest of the file stays as it is.
"""

from __future__ import annotations

from typing import Final

from deltaglider.transforms.builder import Builder, pread_exact
from deltaglider.transforms.bzip2 import block_size_of

#: Past this many streams the rest of a file stays raw: pbzip2 writes one per 900 kB of input, so
#: this is some 58 GB of it; many more would be a hostile file of empty streams, each a segment.
MAX_STREAMS: Final = 1 << 16


def build_range(builder: Builder, start: int, end: int) -> bool:
    """Lays out the bzip2 streams filling ``[start, end)``, the rest raw; ``False`` if the range does
    not start with a stream header (nothing is laid out then)."""
    fd = builder.src_fd
    if builder.pos != start or block_size_of(pread_exact(fd, 4, start)) is None:
        return False
    for _ in range(MAX_STREAMS):
        block_size = block_size_of(pread_exact(fd, 4, builder.pos)) if builder.pos < end else None
        if block_size is None or not builder.bzip2(block_size, end - builder.pos):
            break
    builder.raw(end - builder.pos)
    return True


def build(builder: Builder, size: int) -> bool:
    """Lays out a file of bzip2 streams."""
    return build_range(builder, 0, size)
