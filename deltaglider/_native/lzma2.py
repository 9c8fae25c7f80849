"""Bindings of the vendored liblzma's raw LZMA2 encoder (``native/dg_lzma2.c``)."""

from __future__ import annotations

from typing import Final

from deltaglider._native import load
from deltaglider._native._stream import PinnedStream

#: liblzma's flag for the slower "extreme" variant of a preset (``xz -6e``).
LZMA_PRESET_EXTREME: Final = 0x80000000


class PinnedLzma2(PinnedStream):
    """A raw LZMA2 stream (no .xz container) written by the vendored liblzma, not the platform's.

    Archive transforms rebuild .xz blocks with it. Same interface as ``zlib.compressobj(...)``:
    :meth:`compress` then one :meth:`flush`. ``preset`` is 0-9, or'ed with
    :data:`LZMA_PRESET_EXTREME`; ``dict_size`` overrides the preset's, as a block header records it.
    """

    def __init__(self, preset: int, dict_size: int) -> None:
        ffi, lib = load()
        status = ffi.new("dg_status *")
        handle = lib.dg_lzma2_new(preset, dict_size, status)
        super().__init__("liblzma", handle, status, lib.dg_lzma2_code, lib.dg_lzma2_free)


def version() -> str:
    """The vendored liblzma's version (``"5.4.1"``)."""
    ffi, lib = load()
    return ffi.string(lib.dg_lzma2_version()).decode()
