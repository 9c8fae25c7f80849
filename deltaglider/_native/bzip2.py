"""Bindings of the vendored libbzip2's encoder (``native/dg_bzip2.c``)."""

from __future__ import annotations

from deltaglider._native import load
from deltaglider._native._stream import PinnedStream


class PinnedBzip2(PinnedStream):
    """A whole bzip2 stream (``BZh`` header, blocks, end-of-stream trailer) written by the vendored
    libbzip2 (``vendor/bzip2``), not the platform's.

    Archive transforms rebuild .bz2 streams with it. Same interface as ``bz2.BZ2Compressor``:
    :meth:`compress` then one :meth:`flush`. ``block_size`` is 1-9 (``bzip2 -1`` ... ``-9``, the
    digit of the stream's header); ``work_factor`` 0-250 (0: the library's default, 30).
    """

    def __init__(self, block_size: int, work_factor: int = 0) -> None:
        ffi, lib = load()
        status = ffi.new("dg_status *")
        handle = lib.dg_bzip2_new(block_size, work_factor, status)
        if handle == ffi.NULL and status.code == lib.DG_ERR_CODEC:
            raise ValueError(f"unsupported bzip2 parameters {(block_size, work_factor)}")
        super().__init__("libbzip2", handle, status, lib.dg_bzip2_code, lib.dg_bzip2_free)


def version() -> str:
    """The vendored libbzip2's version (``"1.0.8"``)."""
    ffi, lib = load()
    return ffi.string(lib.dg_bzip2_version()).decode().split(",")[0]
