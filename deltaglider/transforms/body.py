"""The stored body of a transformed object: the recipe as a small header, then the delta.

The recipe rides in the body, not in S3 user metadata: metadata is capped at 2 KB and a wheel with a
thousand members needs a few KB of recipe. Layout: ``b"DGTB"``, the recipe's length as 4 bytes
little-endian, the recipe, then the VCDIFF delta of the decoded stream, unchanged.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Final

from deltaglider.errors import RecipeError

MAGIC: Final = b"DGTB"
#: Far above any real recipe (a few bytes per member); a larger length means a corrupt body.
MAX_RECIPE: Final = 64 << 20


def header(recipe: bytes) -> bytes:
    """The bytes to write before the delta."""
    if len(recipe) > MAX_RECIPE:
        raise ValueError("recipe too large")
    return MAGIC + struct.pack("<I", len(recipe)) + recipe


def read_header(body: BinaryIO) -> bytes:
    """Reads the recipe from the start of ``body``, leaving it positioned at the delta."""
    fixed = body.read(8)
    if len(fixed) != 8 or fixed[:4] != MAGIC:
        raise RecipeError("the object's body does not start with a transform header")
    (size,) = struct.unpack("<I", fixed[4:])
    if size > MAX_RECIPE:
        raise RecipeError("the transform header claims an impossible recipe size")
    recipe = body.read(size)
    if len(recipe) != size:
        raise RecipeError("the object's body ends inside its transform header")
    return recipe
