"""What a file is, judged by its first bytes (names lie: a wheel is a zip, so is a jar): which container
(:func:`detect`), and which compressor's magic it starts with (:func:`sniff`), from the one table of magics.
:func:`read_head` reads the head once and gives both (:class:`Head`): an upload sniffs its file once.

The stock xdelta3 binary that the original DeltaGlider ran sniffs the compressor magics on its inputs
and, when decoding, decompresses a *source* that carries one whatever the delta says. A raw delta of
ours against such a reference would be misread by it, so such files never become a reference and are
never diffed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TypeAlias

# The one table of compressor magic numbers: everything else names these.
BZIP2_MAGIC: Final = b"BZh"
GZIP_MAGIC: Final = b"\x1f\x8b"
COMPRESS_MAGIC: Final = b"\x1f\x9d"
XZ_MAGIC: Final = b"\xfd7zXZ\x00"
#: Not among :data:`MAGICS`: the xdelta3 binary does not know zstd, so a zstd file may be a reference.
ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"

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


Container: TypeAlias = Literal["zip", "gzip", "xz", "ar", "tar", "bzip2", "zstd"]

ZIP_MAGIC: Final = b"PK\x03\x04"
# A zip holding nothing is only its end-of-central-directory record.
EMPTY_ZIP_MAGIC: Final = b"PK\x05\x06"
AR_MAGIC: Final = b"!<arch>\n"  # Debian packages, static libraries
TAR_MAGIC_OFFSET: Final = 257
TAR_MAGIC: Final = b"ustar"
_PROBE: Final = TAR_MAGIC_OFFSET + len(TAR_MAGIC)
_BZIP2_LEVELS: Final = tuple(bytes([digit]) for digit in b"123456789")
_BZIP2_NEXT: Final = (b"1AY&SY", b"\x17rE8P\x90")  # pi's and sqrt(pi)'s BCD digits


def detect_bytes(head: bytes) -> Container | None:
    """The container that a file starting with ``head`` (its first 262 bytes, or all of it) is."""
    if head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return "zip"
    # 8 is deflate, the only method gzip ever defined.
    if head.startswith(GZIP_MAGIC) and len(head) > 2 and head[2] == 8:
        return "gzip"
    if head.startswith(XZ_MAGIC):
        return "xz"
    # The digit is the block size; a block's or the end-of-stream marker's magic follows.
    if head.startswith(BZIP2_MAGIC) and head[3:4] in _BZIP2_LEVELS and head[4:10] in _BZIP2_NEXT:
        return "bzip2"
    if head.startswith(AR_MAGIC):
        return "ar"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head[TAR_MAGIC_OFFSET:_PROBE] == TAR_MAGIC:
        return "tar"
    return None


def detect(path: str | os.PathLike[str]) -> Container | None:
    """``"zip"``, ``"gzip"``, ``"xz"``, ``"ar"``, ``"tar"``, ``"bzip2"`` or ``"zstd"`` when the file's
    content says so, else ``None``."""
    with open(path, "rb") as f:
        return detect_bytes(f.read(_PROBE))


@dataclass(frozen=True)
class Head:
    """What a file's first bytes say: the container it is, and the compressor whose magic it starts
    with (a gzip or bzip2 file is both; a zip only a container)."""

    container: Container | None
    compressor: str | None


def head_of(data: bytes) -> Head:
    """:class:`Head` of a file starting with ``data`` (its first 262 bytes, or all of it)."""
    return Head(detect_bytes(data), sniff(data))


def read_head(path: str | os.PathLike[str]) -> Head:
    """One read of the file's head, judged both ways."""
    with open(path, "rb") as f:
        return head_of(f.read(max(_PROBE, _LONGEST)))
