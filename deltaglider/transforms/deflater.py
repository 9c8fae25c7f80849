"""The compressor that re-creates deflate streams, injected so that a pinned one can replace it.

Rebuilding an archive recompresses its members; the bytes come out right only with the exact
compressor version that matched at upload. A :class:`Compressor` therefore carries a name that the
recipe records, and a rebuild refuses a compressor of another name instead of producing wrong bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final, Protocol

LEVELS: Final = range(1, 10)
WBITS: Final = range(9, 16)
MEM_LEVELS: Final = range(1, 10)
STRATEGIES: Final = (
    zlib.Z_DEFAULT_STRATEGY,
    zlib.Z_FILTERED,
    zlib.Z_HUFFMAN_ONLY,
    zlib.Z_RLE,
    zlib.Z_FIXED,
)


@dataclass(frozen=True)
class DeflateParams:
    """zlib's ``deflateInit2`` settings for a raw deflate stream (``wbits`` is the positive window).

    Level 0 is left out on purpose: zlib's stored blocks depend on how the input was chunked, so
    they would not rebuild the same on every machine.
    """

    level: int = 6
    wbits: int = 15
    mem_level: int = 8
    strategy: int = zlib.Z_DEFAULT_STRATEGY

    def __post_init__(self) -> None:
        if (
            self.level not in LEVELS
            or self.wbits not in WBITS
            or self.mem_level not in MEM_LEVELS
            or self.strategy not in STRATEGIES
        ):
            raise ValueError(f"unsupported deflate parameters: {self}")


class Deflater(Protocol):
    """One raw deflate stream being written: zlib's ``compressobj`` has this shape."""

    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


@dataclass(frozen=True)
class Compressor:
    """A named deflate implementation. Equal names must mean byte-identical output."""

    name: str
    new: Callable[[DeflateParams], Deflater]


def _system_zlib(params: DeflateParams) -> Deflater:
    return zlib.compressobj(params.level, zlib.DEFLATED, -params.wbits, params.mem_level, params.strategy)


#: The interpreter's zlib. Stands in for the vendored, pinned zlib 1.2.13 (``vendor/zlib``) until the
#: extension compiles it; the name carries the version so a recipe made with it is never rebuilt by a
#: zlib that would write other bytes.
SYSTEM_ZLIB: Final = Compressor(f"zlib-{zlib.ZLIB_RUNTIME_VERSION}", _system_zlib)


def likely_params() -> Iterator[DeflateParams]:
    """What nearly every producer uses (zlib's defaults at some level), most frequent first."""
    for level in (9, 6, 1, 2, 3, 4, 5, 7, 8):
        yield DeflateParams(level=level)


def other_params() -> Iterator[DeflateParams]:
    """The rarer settings, after :func:`likely_params`: other strategies, memory levels, windows."""
    likely = set(likely_params())
    seen: set[DeflateParams] = set()
    # Huffman-only and RLE ignore the level, so one level stands for all.
    grid = [
        DeflateParams(level, 15, mem_level, strategy)
        for mem_level in (8, 9)
        for strategy in STRATEGIES
        for level in ((6,) if strategy in (zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE) else (9, 6, 1, 2, 3, 4, 5, 7, 8))
    ]
    grid += [DeflateParams(level, wbits, 8) for wbits in range(14, 8, -1) for level in (9, 6, 1)]
    grid += [DeflateParams(level, 15, mem_level) for mem_level in range(7, 0, -1) for level in (9, 6, 1)]
    for params in grid:
        if params not in likely and params not in seen:
            seen.add(params)
            yield params
