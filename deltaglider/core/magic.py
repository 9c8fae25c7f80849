"""Recognising compressed content by its first bytes.

The stock xdelta3 binary that the original DeltaGlider ran sniffs these magics on its inputs and, when
decoding, decompresses a *source* that carries one whatever the delta says. A raw delta of ours against
such a reference would be misread by it, so such files never become a reference and are never diffed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

# The one table of compressor magic numbers: everything else names these.
BZIP2_MAGIC: Final = b"BZh"
GZIP_MAGIC: Final = b"\x1f\x8b"
COMPRESS_MAGIC: Final = b"\x1f\x9d"
XZ_MAGIC: Final = b"\xfd7zXZ\x00"

#: (name, magic) in the binary's order; "compress" is Unix .Z.
MAGICS: Final[tuple[tuple[str, bytes], ...]] = (
    ("bzip2", BZIP2_MAGIC),
    ("gzip", GZIP_MAGIC),
    ("compress", COMPRESS_MAGIC),
    ("xz", XZ_MAGIC),
)
_LONGEST: Final = max(len(magic) for _, magic in MAGICS)


def sniff(head: bytes) -> str | None:
    """The compressor whose magic ``head`` starts with, or None."""
    for name, magic in MAGICS:
        if head.startswith(magic):
            return name
    return None


def sniff_file(path: Path) -> str | None:
    with open(path, "rb") as f:
        return sniff(f.read(_LONGEST))
