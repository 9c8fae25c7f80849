"""Which container a file is, judged by its first bytes: names lie (a wheel is a zip, so is a jar)."""

from __future__ import annotations

import os
from typing import Final, Literal, TypeAlias

from deltaglider.core.magic import GZIP_MAGIC, XZ_MAGIC

Container: TypeAlias = Literal["zip", "gzip", "xz", "ar", "tar"]

ZIP_MAGIC: Final = b"PK\x03\x04"
# A zip holding nothing is only its end-of-central-directory record.
EMPTY_ZIP_MAGIC: Final = b"PK\x05\x06"
AR_MAGIC: Final = b"!<arch>\n"  # Debian packages, static libraries
TAR_MAGIC_OFFSET: Final = 257
TAR_MAGIC: Final = b"ustar"
_PROBE: Final = TAR_MAGIC_OFFSET + len(TAR_MAGIC)


def detect_bytes(head: bytes) -> Container | None:
    """The container that a file starting with ``head`` (its first 262 bytes, or all of it) is."""
    if head.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return "zip"
    # 8 is deflate, the only method gzip ever defined.
    if head.startswith(GZIP_MAGIC) and len(head) > 2 and head[2] == 8:
        return "gzip"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(AR_MAGIC):
        return "ar"
    if head[TAR_MAGIC_OFFSET:_PROBE] == TAR_MAGIC:
        return "tar"
    return None


def detect(path: str | os.PathLike[str]) -> Container | None:
    """``"zip"``, ``"gzip"``, ``"xz"``, ``"ar"`` or ``"tar"`` when the file's content says so, else
    ``None``."""
    with open(path, "rb") as f:
        return detect_bytes(f.read(_PROBE))
