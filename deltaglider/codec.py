"""The in-process xdelta3 codec: the only module that touches the CFFI ``ffi``/``lib``.

Deltas are plain RFC 3284 VCDIFF as the xdelta3 library writes them, always with Adler-32 window
checksums, so ``xdelta3 -d -s`` decodes them and a wrong reference is caught. Inputs are never
decompressed. The GIL is released for the whole native call, so calls from several threads run in
parallel.
"""

from __future__ import annotations

import mmap
from functools import cache
from typing import Any, Final, Literal, TypeAlias

from deltaglider.errors import CodecError, DecodeError, OutOfMemoryError, UnsupportedDeltaError

BytesLike: TypeAlias = bytes | bytearray | memoryview | mmap.mmap
Secondary: TypeAlias = Literal["lzma", "djw", "fgk"] | None

#: The binary's external-compression idents, as they appear in its application header.
EXTERNAL_COMPRESSION_IDENTS: Final = {"G": "gzip", "B": "bzip2", "Y": "xz", "Z": "compress"}

_NO_LIMIT: Final = 2**64 - 1


@cache
def _native() -> tuple[Any, Any]:
    """Loads the extension on first use, so that importing deltaglider costs nothing native."""
    try:
        from deltaglider import _xdelta3  # type: ignore[attr-defined]
    except ImportError as exc:  # pragma: no cover - only on a broken install
        raise CodecError(
            f"the native xdelta3 extension (deltaglider._xdelta3) cannot be loaded: {exc}; "
            "reinstall deltaglider so that its C extension is built",
            name="IMPORT",
        ) from exc
    return _xdelta3.ffi, _xdelta3.lib


def _secondary_code(lib: Any, secondary: Secondary) -> int:
    codes = {
        None: lib.DG_SECONDARY_NONE,
        "lzma": lib.DG_SECONDARY_LZMA,
        "djw": lib.DG_SECONDARY_DJW,
        "fgk": lib.DG_SECONDARY_FGK,
    }
    try:
        return int(codes[secondary])
    except KeyError:
        raise ValueError(
            f"secondary must be one of 'lzma', 'djw', 'fgk' or None, not {secondary!r}"
        ) from None


def _check_level(level: int) -> None:
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
        raise ValueError(f"level must be an integer from 0 to 9, not {level!r}")


def _raise_for_status(ffi: Any, lib: Any, status: Any) -> None:
    code = status.code
    name = ffi.string(status.name).decode("ascii", "replace")
    detail = ffi.string(status.msg).decode("utf-8", "replace")
    if code == lib.DG_ERR_EXTERNAL:
        fields = detail.split("/")
        marker = fields[1] if len(fields) > 1 else ""
        source_marker = fields[3] if len(fields) > 3 else ""
        raise UnsupportedDeltaError(
            "delta was written by the xdelta3 binary over "
            f"{EXTERNAL_COMPRESSION_IDENTS.get(marker or source_marker, 'external')}-compressed data "
            f"(application header {detail!r}); the VCDIFF alone does not rebuild the stored file",
            appheader=detail,
            marker=marker,
            source_marker=source_marker,
        )
    if code in (lib.DG_ERR_DECODE, lib.DG_ERR_TOO_LARGE):
        raise DecodeError(f"cannot decode delta: {detail} ({name})", name=name, detail=detail)
    if code == lib.DG_ERR_NOMEM:
        raise OutOfMemoryError(f"out of memory in the codec: {detail}", name=name, detail=detail)
    raise CodecError(f"xdelta3 failed: {detail} ({name})", name=name, detail=detail)


def _take_buffer(ffi: Any, lib: Any, out: Any) -> bytes:
    try:
        return bytes(ffi.buffer(out.data, out.len)) if out.len else b""
    finally:
        lib.dg_buffer_free(out)


def encode(
    source: BytesLike,
    target: BytesLike,
    *,
    level: int = 9,
    secondary: Secondary = "lzma",
) -> bytes:
    """Returns a VCDIFF delta that rebuilds ``target`` from ``source``.

    ``level`` 0-9 picks the string matcher as ``xdelta3 -0``..``-9``; ``secondary`` compresses the
    delta's sections further (``"lzma"`` as the binary does by default). The source window spans the
    whole source, so content that moved anywhere in it is found.
    """
    _check_level(level)
    ffi, lib = _native()
    params = ffi.new("dg_encode_params *")
    params.level = level
    params.secondary = _secondary_code(lib, secondary)
    params.src_window = 0
    out = ffi.new("dg_buffer *")
    status = ffi.new("dg_status *")
    src = ffi.from_buffer(source)
    tgt = ffi.from_buffer(target)
    rc = lib.dg_encode_memory(src, len(src), tgt, len(tgt), params, out, status)
    if rc != lib.DG_OK:
        lib.dg_buffer_free(out)
        _raise_for_status(ffi, lib, status)
    return _take_buffer(ffi, lib, out)


def decode(
    source: BytesLike,
    delta: BytesLike,
    *,
    expected_size: int | None = None,
    allow_external_compression: bool = False,
) -> bytes:
    """Rebuilds the file that ``delta`` was made from, given the ``source`` it was made against.

    Raises :class:`DecodeError` for a corrupt, truncated or empty delta, a wrong source (window
    checksum mismatch), or an output that is not exactly ``expected_size`` bytes when that is given.
    VCDIFF has no trailer: without ``expected_size`` (or a hash check by the caller) a delta cut at a
    window boundary decodes to a shorter file.

    A delta whose application header shows the xdelta3 binary's external compression raises
    :class:`UnsupportedDeltaError` unless ``allow_external_compression`` is set, in which case the
    raw VCDIFF is decoded (giving the decompressed stream the binary diffed).
    """
    if expected_size is not None and (isinstance(expected_size, bool) or expected_size < 0):
        raise ValueError(f"expected_size must be a non-negative integer, not {expected_size!r}")
    ffi, lib = _native()
    out = ffi.new("dg_buffer *")
    status = ffi.new("dg_status *")
    src = ffi.from_buffer(source)
    dlt = ffi.from_buffer(delta)
    limit = _NO_LIMIT if expected_size is None else expected_size
    rc = lib.dg_decode_memory(
        src, len(src), dlt, len(dlt), limit, int(allow_external_compression), out, status
    )
    if rc != lib.DG_OK:
        lib.dg_buffer_free(out)
        _raise_for_status(ffi, lib, status)
    if expected_size is not None and out.len != expected_size:
        got = out.len
        lib.dg_buffer_free(out)
        raise DecodeError(
            f"cannot decode delta: it rebuilt {got} bytes, expected {expected_size} (truncated delta?)",
            name="SIZE_MISMATCH",
        )
    return _take_buffer(ffi, lib, out)
