"""One zstd frame (RFC 8878): its header, the encoder settings that may have written it, and the
compressor that re-creates it.

The zstd tool compresses a file with a level (``-3`` by default, ``-19``, ``--fast=N``), a checksum,
the file's size pledged when it can measure it (a pipe, as ``tar --zstd`` uses, has none) and, with
``--long``, long-distance matching over a 128 MiB window; since 1.5 it runs worker threads, whose
frames differ from a single-threaded encoder's once the input passes one job. The same libzstd
release with the same settings writes the same bytes, so a frame is rebuilt from its decoded content
and those settings, with the vendored libzstd (``vendor/zstd``), never the platform's.

The header narrows the search: it records the checksum flag and, when the size was pledged, the
content size; its window (absent when the frame fits in one window) rules out every level whose own
window is another. Frames with a dictionary, or a window no zstd level picks, are not searched.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from typing import Final

from deltaglider.transforms.deflater import Deflater

MAGIC: Final = b"\x28\xb5\x2f\xfd"
#: Skippable frames: magic 0x184D2A50 to 0x184D2A5F, a 4-byte size, then that many bytes.
SKIPPABLE_MAGIC_HIGH: Final = b"\x2a\x4d\x18"
#: The largest window a frame may name and still be decoded and rebuilt (``deltaglider._native.zstd``).
WINDOW_LOG_MAX: Final = 27
WINDOW_LOG_MIN: Final = 10
#: libzstd's level range (negative: ``--fast=N``).
LEVELS: Final = range(-(1 << 17), 23)
#: ``zstd --long`` without a number.
LONG_WINDOW_LOG: Final = 27
#: Tried in this order: the tool's default, ``-19``, the rest, then the fastest few ``--fast`` ones.
_ORDER: Final = (3, 19, 1, 2, *range(4, 19), 20, 21, 22, -1, -2, -3, -4, -5)
#: The levels tried with ``--long`` on a frame whose content fits the level's own window.
_LONG_FITTING: Final = frozenset((*range(-5, 10), 19))
#: A block decodes to at most 128 KiB and an RLE block takes 4 bytes (its header and the byte).
MAX_EXPANSION: Final = (128 << 10) // 4


@dataclass(frozen=True)
class ZstdParams:
    """How a frame was written: ``level``; ``window_log`` (0: the level's own, else set, as
    ``--long`` does); ``long_distance`` matching; the ``checksum`` flag; ``pledged_size``, the content
    size given up front and recorded in the header (None: unknown); ``multithreaded`` (the tool's
    worker threads, any number of them) or not."""

    level: int
    window_log: int = 0
    long_distance: bool = False
    checksum: bool = True
    pledged_size: int | None = None
    multithreaded: bool = True

    def __post_init__(self) -> None:
        window_ok = self.window_log == 0 or WINDOW_LOG_MIN <= self.window_log <= WINDOW_LOG_MAX
        if self.level not in LEVELS or not window_ok or (self.pledged_size or 0) < 0:
            raise ValueError(f"unsupported zstd parameters: {self}")

    def single_threaded(self) -> ZstdParams:
        return replace(self, multithreaded=False)


@dataclass(frozen=True)
class FrameHeader:
    """What a frame's header says: its length, its window (None: a single-segment frame, whose
    window is its content), the content size when recorded, the checksum flag, the dictionary."""

    size: int
    window_log: int | None
    content_size: int | None
    checksum: bool
    dict_id: int
    window_mantissa: int = 0


def parse_header(data: bytes) -> FrameHeader | None:
    """The header at the start of ``data`` (at least its first 18 bytes, or all the frame), or None
    if it is not a zstd frame header."""
    if len(data) < 5 or not data.startswith(MAGIC):
        return None
    fhd = data[4]
    if fhd & 0x08:  # reserved bit
        return None
    fcs_flag, single, checksum, dict_flag = fhd >> 6, bool(fhd & 0x20), bool(fhd & 0x04), fhd & 0x03
    pos = 5
    window_log = None
    mantissa = 0
    if not single:
        if len(data) < pos + 1:
            return None
        window_log, mantissa = 10 + (data[pos] >> 3), data[pos] & 0x07
        pos += 1
    dict_size = (0, 1, 2, 4)[dict_flag]
    fcs_size = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if len(data) < pos + dict_size + fcs_size:
        return None
    dict_id = int.from_bytes(data[pos : pos + dict_size], "little")
    pos += dict_size
    content_size = None
    if fcs_size:
        content_size = int.from_bytes(data[pos : pos + fcs_size], "little") + (256 if fcs_size == 2 else 0)
    pos += fcs_size
    return FrameHeader(pos, window_log, content_size, checksum, dict_id, mantissa)


def quick_check_size(head: bytes, header: FrameHeader, limit: int) -> int:
    """How many of the frame's first bytes a single-threaded encoder must match before its setting
    is worth compressing the frame in full: ``limit``, but no more than the header and first block
    (``head`` holds the frame's start): with ``--long`` the tool's threaded frame parts from a
    single-threaded one from the second block on."""
    raw = head[header.size : header.size + 3]
    if len(raw) < 3:
        return limit
    value = int.from_bytes(raw, "little")
    first = header.size + 3 + (1 if (value >> 1) & 3 == 1 else value >> 3)
    return max(1, min(limit, first))


def skippable_size(head: bytes) -> int | None:
    """The whole length of the skippable frame ``head`` starts (its first 8 bytes), or None."""
    if len(head) < 8 or head[1:4] != SKIPPABLE_MAGIC_HIGH or head[0] & 0xF0 != 0x50:
        return None
    return 8 + int(struct.unpack("<I", head[4:8])[0])


@dataclass(frozen=True)
class ZstdCompressor:
    """A named zstd implementation. Equal names must mean byte-identical output."""

    name: str
    new: Callable[[ZstdParams], Deflater]


def _pinned(params: ZstdParams) -> Deflater:
    from deltaglider._native.zstd import PinnedZstd

    return PinnedZstd(
        params.level,
        window_log=params.window_log,
        long_distance=params.long_distance,
        checksum=params.checksum,
        pledged_size=params.pledged_size,
        workers=1 if params.multithreaded else 0,
    )


@cache
def pinned_libzstd() -> ZstdCompressor:
    """The vendored libzstd compiled into the extension."""
    from deltaglider._native.zstd import version

    return ZstdCompressor(f"zstd-{version()}", _pinned)


def encoder_memory(params: ZstdParams) -> int:
    """About what one encoder of ``params`` holds (libzstd's estimate), plus a worker's job buffers."""
    from deltaglider._native.zstd import encoder_memory as estimate

    single = estimate(params.level, params.window_log, params.long_distance)
    return 3 * single if params.multithreaded else single


def candidates(header: FrameHeader, decoded_size: int, last: ZstdParams | None) -> Iterator[ZstdParams]:
    """The settings that may have written a frame with ``header`` and ``decoded_size`` bytes of
    content, likeliest first (the one the previous frame matched, then :data:`_ORDER`); each
    multi-threaded: the single-threaded twin writes the same start, and is the caller's to try."""
    from deltaglider._native.zstd import window_log

    if header.dict_id or header.window_mantissa:
        return  # a dictionary we do not have; a window no level picks
    if header.window_log is not None and header.window_log > WINDOW_LOG_MAX:
        return
    pledged = header.content_size
    if pledged is not None and pledged != decoded_size:
        return
    seen: set[ZstdParams] = set()
    options: list[ZstdParams] = []
    if last is not None:
        options.append(replace(last, checksum=header.checksum, pledged_size=pledged))
    # A window larger than the level's own was set by hand: ``--long``. Those come last.
    longs: list[ZstdParams] = []
    for level in _ORDER:
        own = window_log(level, pledged)
        plain = ZstdParams(level, checksum=header.checksum, pledged_size=pledged)
        if header.window_log is None:
            # One segment: ``--long`` shrinks its window to the content as the level does, so both
            # are possible; only ``--long`` gets past the level's own window. Content that fits is
            # rarely compressed with ``--long`` at the slow levels, which would double the cost of
            # a frame nothing reproduces: those are not tried.
            fits = pledged is not None and decoded_size <= 1 << own
            if fits:
                options.append(plain)
            if not fits or level in _LONG_FITTING:
                longs.append(replace(plain, window_log=LONG_WINDOW_LOG, long_distance=True))
        elif header.window_log == own:
            options.append(plain)
        elif header.window_log > own:
            longs.append(replace(plain, window_log=header.window_log, long_distance=True))
    for params in options + longs:
        if params not in seen:
            seen.add(params)
            yield params
