"""The compressor that re-creates the LZMA2 payload of an .xz block, and the settings to try.

xz writes each block's data as one raw LZMA2 stream made from a preset (``xz -0`` ... ``-9``, ``-e``
for "extreme"), with the dictionary size recorded in the block header. The same liblzma release with
the same preset and dictionary writes the same bytes, whether the producer ran single-threaded (one
block) or multi-threaded (blocks encoded independently): so a block is rebuilt from its decoded data,
its preset and its dictionary size. The rebuild uses the vendored liblzma (``vendor/xz``), never the
platform's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Final

from deltaglider.transforms.deflater import Deflater

PRESETS: Final = range(10)
#: The largest dictionary liblzma's encoder (and so xz) writes with: a block header may name up to
#: 4 GiB, but a block that names more than this was not made by it, cannot be rebuilt, and stays raw.
MAX_DICT: Final = (1 << 30) + (1 << 29)


@dataclass(frozen=True)
class Lzma2Params:
    """A preset (0-9, ``extreme`` for ``-e``) with the block's dictionary size."""

    preset: int
    extreme: bool
    dict_size: int

    def __post_init__(self) -> None:
        if self.preset not in PRESETS or not 4096 <= self.dict_size <= MAX_DICT:
            raise ValueError(f"unsupported LZMA2 parameters: {self}")


@dataclass(frozen=True)
class Lzma2Compressor:
    """A named LZMA2 implementation. Equal names must mean byte-identical output."""

    name: str
    new: Callable[[Lzma2Params], Deflater]


def _pinned(params: Lzma2Params) -> Deflater:
    from deltaglider.codec import LZMA_PRESET_EXTREME, PinnedLzma2

    return PinnedLzma2(params.preset | (LZMA_PRESET_EXTREME if params.extreme else 0), params.dict_size)


@cache
def pinned_liblzma() -> Lzma2Compressor:
    """The vendored liblzma compiled into the extension."""
    from deltaglider.codec import pinned_liblzma_version

    return Lzma2Compressor(f"liblzma-{pinned_liblzma_version()}", _pinned)


def dict_size_of(props: int) -> int | None:
    """The dictionary size an LZMA2 properties byte names (xz's filter flags), or None if invalid."""
    if props > 40:
        return None
    if props == 40:
        return 0xFFFFFFFF
    return (2 | (props & 1)) << (props // 2 + 11)


def candidates(dict_size: int, last: Lzma2Params | None) -> Iterator[Lzma2Params]:
    """Presets in the order producers use them: the one that matched the previous block, xz's default
    6, then 9, the rest, then the extreme variants; none for a dictionary past :data:`MAX_DICT`."""
    if dict_size > MAX_DICT:
        return
    seen: set[Lzma2Params] = set()
    order = [6, 9, 1, 2, 3, 4, 5, 7, 8, 0]
    options = [Lzma2Params(p, False, dict_size) for p in order] + [
        Lzma2Params(p, True, dict_size) for p in order
    ]
    if last is not None:
        options.insert(0, Lzma2Params(last.preset, last.extreme, dict_size))
    for params in options:
        if params not in seen:
            seen.add(params)
            yield params
