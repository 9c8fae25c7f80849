"""ar archives (Debian's ``.deb``: ``debian-binary``, ``control.tar.*``, ``data.tar.*``): the archive
and member headers kept as raw segments, each gzip, xz, zstd or bzip2 member laid out by its own
format (bzip2: an older ``.deb``'s ``data.tar.bz2``).

A ``.deb`` stored as is changes completely between versions, since its members are compressed; its
decoded ``data.tar`` changes only where the packaged files do.
"""

from __future__ import annotations

from typing import Final

from deltaglider.transforms import bzip2_form, gzip_form, xz_form, zstd_form
from deltaglider.transforms.builder import Builder, pread_exact
from deltaglider.transforms.bzip2 import MAGIC as BZIP2_MAGIC
from deltaglider.transforms.sniff import XZ_MAGIC, ZSTD_MAGIC

MAGIC: Final = b"!<arch>\n"
_HEADER: Final = 60
_END: Final = b"`\n"
_GZIP: Final = b"\x1f\x8b\x08"


def build(builder: Builder, size: int) -> bool:
    """Lays out the archive; ``False`` if it does not start like one."""
    fd = builder.src_fd
    if pread_exact(fd, len(MAGIC), 0) != MAGIC:
        return False
    builder.raw(len(MAGIC))
    while builder.pos + _HEADER <= size:
        header = pread_exact(fd, _HEADER, builder.pos)
        if header[58:] != _END:
            break
        try:
            member_size = int(header[48:58].decode("ascii").strip() or "x")
        except ValueError:
            break
        data = builder.pos + _HEADER
        end = data + member_size
        if end > size:
            break
        builder.raw(_HEADER)
        head = pread_exact(fd, len(XZ_MAGIC), data)
        if head.startswith(_GZIP):
            gzip_form.build_range(builder, data, end)
        elif head == XZ_MAGIC:
            xz_form.build_range(builder, data, end)
        elif head.startswith(ZSTD_MAGIC) and builder.zstd_members:
            zstd_form.build_range(builder, data, end)
        elif head.startswith(BZIP2_MAGIC) and builder.bzip2_members:
            bzip2_form.build_range(builder, data, end)
        builder.raw(end - builder.pos)
        builder.raw(min(member_size & 1, size - builder.pos))  # members start on even offsets
    builder.raw(size - builder.pos)
    return True
