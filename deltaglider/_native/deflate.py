"""Bindings of the vendored zlib's raw deflate encoder (``native/dg_deflate.c``)."""

from __future__ import annotations

from deltaglider._native import load
from deltaglider._native._stream import PinnedStream


class PinnedDeflater(PinnedStream):
    """A raw deflate stream written by the vendored zlib (``vendor/zlib``), not the platform's.

    Archive transforms rebuild members with it, so the bytes are the same on every machine. Same
    interface as ``zlib.compressobj(...)``: :meth:`compress` then one :meth:`flush`. ``wbits`` is
    the positive window size (9-15); the stream has no zlib or gzip wrapper.
    """

    def __init__(self, level: int, wbits: int, mem_level: int, strategy: int) -> None:
        ffi, lib = load()
        status = ffi.new("dg_status *")
        handle = lib.dg_deflate_new(level, wbits, mem_level, strategy, status)
        if handle == ffi.NULL and status.code == lib.DG_ERR_CODEC:
            raise ValueError(f"unsupported deflate parameters {(level, wbits, mem_level, strategy)}")
        super().__init__("zlib", handle, status, lib.dg_deflate_code, lib.dg_deflate_free)


def version() -> str:
    """The vendored zlib's version (``"1.2.13"``)."""
    ffi, lib = load()
    return ffi.string(lib.dg_deflate_version()).decode()
