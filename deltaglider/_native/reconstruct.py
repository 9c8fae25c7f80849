"""Bindings of the deflate reconstructor (``native/dg_reconstruct.cc`` over ``vendor/grittibanzli``).

Both calls run with the GIL released and return plain bytes: the library's buffers are copied out
and freed before they return.
"""

from __future__ import annotations

from typing import Any, Final

from deltaglider._native import load
from deltaglider._native.status import raise_for_status

#: The upstream commit compiled in (vendor/grittibanzli/README.md): a recipe names it, and a build of
#: another commit refuses the recipe rather than writing other bytes.
VERSION: Final = "429cc56"
_LIBRARY: Final = "grittibanzli"


def _take(result: Any, part: int) -> bytes:
    ffi, lib = load()
    size = lib.dg_gritti_size(result, part)
    return bytes(ffi.buffer(lib.dg_gritti_data(result, part), size)) if size else b""


def split(deflated: bytes, max_decoded: int) -> tuple[bytes, bytes] | None:
    """The raw deflate stream ``deflated`` as (its decoded bytes, the choices that rebuild it), or
    ``None`` when the reconstructor cannot take it apart (not a deflate stream, or one it does not
    model) or it decodes past ``max_decoded``. Out of memory raises."""
    ffi, lib = load()
    status = ffi.new("dg_status *")
    result = lib.dg_gritti_split(ffi.from_buffer("uint8_t[]", deflated), len(deflated), max_decoded, status)
    if result == ffi.NULL:
        if status.code == lib.DG_ERR_NOMEM:
            raise_for_status(status, library=_LIBRARY)
        return None
    try:
        return _take(result, lib.DG_GRITTI_DECODED), _take(result, lib.DG_GRITTI_CHOICES)
    finally:
        lib.dg_gritti_free(result)


def join(decoded: bytes, choices: bytes, deflated_size: int) -> bytes:
    """The deflate stream that ``choices`` and ``decoded`` rebuild, exactly ``deflated_size`` bytes:
    :class:`~deltaglider.errors.DecodeError` when they do not fit each other or give another size."""
    ffi, lib = load()
    status = ffi.new("dg_status *")
    result = lib.dg_gritti_join(
        ffi.from_buffer("uint8_t[]", decoded),
        len(decoded),
        ffi.from_buffer("uint8_t[]", choices),
        len(choices),
        deflated_size,
        status,
    )
    if result == ffi.NULL:
        raise_for_status(status, library=_LIBRARY)
    try:
        return _take(result, lib.DG_GRITTI_DEFLATED)
    finally:
        lib.dg_gritti_free(result)
