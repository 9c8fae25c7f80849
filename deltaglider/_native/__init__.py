"""The bindings to the compiled extension ``deltaglider._xdelta3``: the only code that touches its CFFI
``ffi`` and ``lib``.

One extension holds our C glue over three vendored libraries; each has its own binding module here,
as pynacl keeps one bindings module per C area: :mod:`.xdelta3` (plan, encode, decode),
:mod:`.deflate` (the pinned zlib's deflater), :mod:`.lzma2` (liblzma's raw LZMA2 encoder) and
:mod:`.faults` (the test switches), with :mod:`.status` (the one translation of a C status into an
exception) and :mod:`.appheader` (the xdelta3 binary's application header) beside them.
:mod:`deltaglider.codec` is the public API over them. C values never leave this package: every
function here returns Python values.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Final

from deltaglider.errors import CodecError

if TYPE_CHECKING:
    from deltaglider._xdelta3 import FFI, Lib

#: The glue's "no limit" for 64-bit sizes (UINT64_MAX).
NO_LIMIT: Final = 2**64 - 1


@cache
def load() -> tuple[FFI, Lib]:
    """Loads the extension on first use, so that importing deltaglider costs nothing native."""
    try:
        import deltaglider._xdelta3 as native
    except ImportError as exc:  # pragma: no cover - only on a broken install
        raise CodecError(
            f"the native xdelta3 extension (deltaglider._xdelta3) cannot be loaded: {exc}; "
            "reinstall deltaglider so that its C extension is built",
            name="IMPORT",
        ) from exc
    return native.ffi, native.lib
