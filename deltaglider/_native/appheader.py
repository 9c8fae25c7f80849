"""The xdelta3 binary's application header, read one way everywhere.

The binary writes ``<target>/<ident>/<source>/<ident>`` into a delta's application header, an ident
naming the compressor it piped that side through (:data:`EXTERNAL_COMPRESSION_IDENTS`). The decoder
refuses such a delta by the glue's reading of the header (``dg_appheader_external``); this module
hands Python the same reading, so that what the decoder refuses and what a header inspection reports
cannot disagree.
"""

from __future__ import annotations

from typing import Final

from deltaglider._native import load

#: The binary's external-compression idents, as they appear in its application header, and the
#: program each stands for.
EXTERNAL_COMPRESSION_IDENTS: Final = {"G": "gzip", "B": "bzip2", "Y": "xz", "Z": "compress"}


def external_idents(appheader: bytes) -> tuple[str, str] | None:
    """The target's and the source's idents (``""`` for none), or None when the header names no
    external compression (a plain delta)."""
    ffi, lib = load()
    idents = ffi.new("dg_appheader_idents *")
    if not lib.dg_appheader_external(ffi.from_buffer(appheader), len(appheader), idents):
        return None
    target = appheader[idents.target_at : idents.target_at + idents.target_len]
    source = appheader[idents.source_at : idents.source_at + idents.source_len]
    return target.decode("latin-1"), source.decode("latin-1")
