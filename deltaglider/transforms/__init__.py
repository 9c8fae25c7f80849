"""Archive transforms: a compressed container stored as the delta of its decoded content.

One changed byte early in a deflate stream changes everything after it, so deltas between two
``.tar.gz`` or two wheels barely shrink. Decoded, the same pair differs only where the content does.
:func:`encode_container` writes the decoded stream plus a small recipe; :func:`rebuild` recompresses it
into the original bytes, exactly, with a named compressor (see :mod:`.deflater`).
"""

from deltaglider.errors import RecipeError
from deltaglider.transforms import body
from deltaglider.transforms.container import Encoded, encode_container, rebuild
from deltaglider.transforms.deflater import (
    SYSTEM_ZLIB,
    Compressor,
    DeflateParams,
    Deflater,
    default_compressor,
    pinned_zlib,
)
from deltaglider.transforms.recipe import Recipe, Segment, pack, unpack
from deltaglider.transforms.sniff import Container, detect, detect_bytes

__all__ = [
    "SYSTEM_ZLIB",
    "Compressor",
    "Container",
    "DeflateParams",
    "Deflater",
    "Encoded",
    "Recipe",
    "RecipeError",
    "Segment",
    "body",
    "default_compressor",
    "detect",
    "detect_bytes",
    "encode_container",
    "pack",
    "pinned_zlib",
    "rebuild",
    "unpack",
]
