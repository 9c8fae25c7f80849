"""Bindings of the vendored libzstd (``native/dg_zstd.c``): a frame encoder driven as the zstd tool
drives it, and the frame decoder."""

from __future__ import annotations

from typing import Final

from deltaglider._native import NO_LIMIT, load
from deltaglider._native._stream import CHUNK, PinnedStream
from deltaglider._native.status import raise_for_status

#: The largest window the decoder accepts, as libzstd's own default limit (128 MiB): a frame that
#: asks for more (``zstd --long=31``) is not decoded, so no hostile header makes it allocate more.
WINDOW_LOG_MAX: Final = 27


class PinnedZstd(PinnedStream):
    """One zstd frame written by the vendored libzstd, not the platform's. Same interface as
    ``zlib.compressobj(...)``: :meth:`compress` then one :meth:`flush`.

    ``window_log`` 0 keeps the level's window; ``pledged_size`` (None: unknown) is the frame's
    content size, written into its header and used to fit the parameters to it, as the zstd tool
    does for a file it can measure; ``workers`` 0 compresses in this thread, any number from 1 on
    writes the tool's default multi-threaded frame (the same bytes for every number of workers).
    """

    def __init__(
        self,
        level: int,
        *,
        window_log: int = 0,
        long_distance: bool = False,
        checksum: bool = True,
        pledged_size: int | None = None,
        workers: int = 1,
    ) -> None:
        ffi, lib = load()
        status = ffi.new("dg_status *")
        pledged = NO_LIMIT if pledged_size is None else pledged_size
        handle = lib.dg_zstd_enc_new(
            level, window_log, int(long_distance), int(checksum), pledged, workers, status
        )
        if handle == ffi.NULL and status.code == lib.DG_ERR_CODEC:
            raise ValueError(f"unsupported zstd parameters: level {level}, window log {window_log}")
        super().__init__("libzstd", handle, status, lib.dg_zstd_enc_code, lib.dg_zstd_enc_free)


class ZstdFrameDecoder:
    """Decodes one zstd frame fed piece by piece: :meth:`feed` returns what it decoded (at most
    ``max_output`` bytes per call) and how much of the input it used; :attr:`done` once the frame
    ended (its checksum, if it has one, verified). :class:`deltaglider.errors.DecodeError` if the
    frame is corrupt or asks for a window past :data:`WINDOW_LOG_MAX`."""

    def __init__(self, window_log_max: int = WINDOW_LOG_MAX) -> None:
        ffi, lib = load()
        self._status = ffi.new("dg_status *")
        handle = lib.dg_zstd_dec_new(window_log_max, self._status)
        if handle == ffi.NULL:
            raise_for_status(self._status, library="libzstd")
        self._handle = ffi.gc(handle, lib.dg_zstd_dec_free)
        self._out = ffi.new("uint8_t[]", CHUNK)
        self._used = ffi.new("size_t *")
        self._made = ffi.new("size_t *")
        self._done = ffi.new("int *")
        self.done = False

    def feed(self, data: bytes, max_output: int = CHUNK) -> tuple[bytes, int]:
        """(decoded bytes, input bytes used). Call again with the unused rest, or with ``b""`` to
        drain, while it returns output."""
        ffi, lib = load()
        keep = ffi.from_buffer("uint8_t[]", data)
        cap = max(1, min(max_output, CHUNK))
        args = (self._handle, keep, len(data), self._out, cap, self._used, self._made, self._done)
        if lib.dg_zstd_dec_code(*args, self._status) != lib.DG_OK:
            raise_for_status(self._status, library="libzstd")
        self.done = bool(self._done[0])
        out = bytes(ffi.buffer(self._out, self._made[0]))
        used = int(self._used[0])
        del keep
        return out, used

    def close(self) -> None:
        """Frees the native decoder now; later calls fail."""
        handle, self._handle = self._handle, None
        if handle is not None:
            load()[0].release(handle)


def window_log(level: int, src_size: int | None) -> int:
    """The window (log2) the vendored libzstd picks for ``level`` and a frame of ``src_size`` bytes
    (None: unknown size)."""
    _, lib = load()
    return int(lib.dg_zstd_window_log(level, NO_LIMIT if src_size is None else src_size))


def encoder_memory(level: int, window_log: int, long_distance: bool) -> int:
    """libzstd's estimate of what one streaming encoder of these settings allocates."""
    _, lib = load()
    return int(lib.dg_zstd_enc_memory(level, window_log, int(long_distance)))


def levels() -> range:
    """The compression levels the vendored libzstd accepts (negative ones are ``--fast=N``)."""
    _, lib = load()
    return range(int(lib.dg_zstd_min_level()), int(lib.dg_zstd_max_level()) + 1)


def version() -> str:
    """The vendored libzstd's version (``"1.5.4"``)."""
    ffi, lib = load()
    return ffi.string(lib.dg_zstd_version()).decode()
