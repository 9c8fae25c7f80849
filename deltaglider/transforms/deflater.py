"""The compressor that re-creates deflate streams, injected so that a pinned one can replace it.

Rebuilding an archive recompresses its members; the bytes come out right only with the exact
compressor version that matched at upload. A :class:`Compressor` therefore carries a name that the
recipe records, and a rebuild refuses a compressor of another name instead of producing wrong bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
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


#: The interpreter's zlib: the stand-in where the extension was built without the vendored one. The
#: name carries the version, so a recipe made with it is never rebuilt by a zlib that would write
#: other bytes (a platform zlib-ng or a newer release).
SYSTEM_ZLIB: Final = Compressor(f"zlib-{zlib.ZLIB_RUNTIME_VERSION}", _system_zlib)


def _pinned_zlib(params: DeflateParams) -> Deflater:
    from deltaglider.codec import PinnedDeflater

    return PinnedDeflater(params.level, params.wbits, params.mem_level, params.strategy)


@cache
def pinned_zlib() -> Compressor | None:
    """The vendored zlib compiled into the extension (``vendor/zlib``), or ``None`` in an extension
    built before it was added. Same name as :data:`SYSTEM_ZLIB` where that is the same release: the
    fingerprint test proves their output identical."""
    from deltaglider.codec import pinned_zlib_version

    try:
        return Compressor(f"zlib-{pinned_zlib_version()}", _pinned_zlib)
    except AttributeError:  # the extension lacks zlib's symbols
        return None


def default_compressor() -> Compressor:
    """The pinned zlib when the extension has it, else the interpreter's."""
    return pinned_zlib() or SYSTEM_ZLIB


def likely_params() -> Iterator[DeflateParams]:
    """What nearly every producer uses (zlib's defaults at some level), most frequent first."""
    for level in (9, 6, 1, 2, 3, 4, 5, 7, 8):
        yield DeflateParams(level=level)


def other_params() -> Iterator[DeflateParams]:
    """The rarer settings, after :func:`likely_params`, about 40 of them: a bigger literal buffer
    (memLevel 9, as in GNU gzip and Info-ZIP's own deflaters), other strategies, smaller windows and
    memory levels. Each wrong guess costs one compressed block before it is rejected."""
    likely = set(likely_params())
    seen: set[DeflateParams] = set()
    grid = [DeflateParams(level, 15, 9) for level in (9, 6, 1, 2, 3, 4, 5, 7, 8)]
    grid += [DeflateParams(level, 15, 8, s) for s in (zlib.Z_FILTERED, zlib.Z_FIXED) for level in (9, 6, 1)]
    # Huffman-only and RLE ignore the level, so one level stands for all.
    grid += [DeflateParams(6, 15, 8, s) for s in (zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE)]
    grid += [DeflateParams(level, wbits, 8) for wbits in range(14, 8, -1) for level in (9, 6)]
    grid += [DeflateParams(level, 15, mem_level) for mem_level in range(7, 0, -1) for level in (9, 6)]
    for params in grid:
        if params not in likely and params not in seen:
            seen.add(params)
            yield params
