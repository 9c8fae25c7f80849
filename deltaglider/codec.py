"""The in-process xdelta3 codec: the only module that touches the CFFI ``ffi``/``lib``.

Deltas are plain RFC 3284 VCDIFF as the xdelta3 library writes them, always with Adler-32 window
checksums, so ``xdelta3 -d -s`` decodes them and a wrong reference is caught. Inputs are never
decompressed. The GIL is released for the whole native call, so calls from several threads run in
parallel.

Two forms: bytes in memory (:func:`encode`, :func:`decode`) and file to file (:func:`encode_file`,
:func:`decode_file`), where the reference is memory-mapped and the rest streamed, so memory does not
grow with the file. Both make the same encoding decisions (:func:`plan_encode`), so for the same
inputs and arguments they write byte-identical deltas.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias

from deltaglider.atomic import Part, write_output
from deltaglider.errors import (
    CodecError,
    CodecIOError,
    DecodeError,
    OutOfMemoryError,
    UnsupportedDeltaError,
)

if TYPE_CHECKING:
    from deltaglider._xdelta3 import FFI, Lib

BytesLike: TypeAlias = bytes | bytearray | memoryview | mmap.mmap
Secondary: TypeAlias = Literal["lzma", "djw", "fgk", "auto"] | None
StrPath: TypeAlias = str | os.PathLike[str]

#: What the encoder may allocate unless told otherwise: hash tables, buffers, secondary state.
DEFAULT_MEMORY_BUDGET: Final = 512 * 2**20

#: The binary's external-compression idents, as they appear in its application header.
EXTERNAL_COMPRESSION_IDENTS: Final = {"G": "gzip", "B": "bzip2", "Y": "xz", "Z": "compress"}

_NO_LIMIT: Final = 2**64 - 1


@cache
def _native() -> tuple[FFI, Lib]:
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


def _secondary_code(lib: Lib, secondary: Secondary) -> int:
    codes = {
        None: lib.DG_SECONDARY_NONE,
        "lzma": lib.DG_SECONDARY_LZMA,
        "djw": lib.DG_SECONDARY_DJW,
        "fgk": lib.DG_SECONDARY_FGK,
        "auto": lib.DG_SECONDARY_AUTO,
    }
    try:
        return int(codes[secondary])
    except (KeyError, TypeError):
        raise ValueError(
            f"secondary must be one of 'lzma', 'auto', 'djw', 'fgk' or None, not {secondary!r}"
        ) from None


def _check_level(level: int) -> None:
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
        raise ValueError(f"level must be an integer from 0 to 9, not {level!r}")


def _raise_for_status(ffi: FFI, lib: Lib, status: Any, filename: str | None = None) -> None:
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
    if code == lib.DG_ERR_IO:
        err = int(status.sys_errno) or errno.EIO
        raise CodecIOError(err, os.strerror(err), filename, detail=detail)
    if code == lib.DG_ERR_NOMEM:
        raise OutOfMemoryError(f"out of memory in the codec: {detail}", name=name, detail=detail)
    raise CodecError(f"xdelta3 failed: {detail} ({name})", name=name, detail=detail)


def _take_buffer(ffi: FFI, lib: Lib, out: Any) -> bytes:
    try:
        return bytes(ffi.buffer(out.data, out.len)) if out.len else b""
    finally:
        lib.dg_buffer_free(out)


@dataclass(frozen=True)
class EncodePlan:
    """How the encoder will run for a pair of sizes (see ``native/dg_plan.c``).

    ``window`` is the source window: the whole source when ``covers_source`` (content is found however
    far it moved), else a sliding window of that size. The encoders narrow a whole-source window to
    a sliding one when a probe of the actual content shows it did not move far (narrower finds
    better-placed copies); this size-only plan is the widest they will use.
    """

    window: int
    block_size: int
    large_step: int
    target_window: int
    hash_bytes: int
    memory: int
    covers_source: bool
    usize_bytes: int
    lzma_preset: int


def _check_budget(memory_budget: int) -> None:
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, int) or memory_budget <= 0:
        raise ValueError(f"memory_budget must be a positive integer, not {memory_budget!r}")


def _params(ffi: FFI, lib: Lib, level: int, secondary: Secondary, memory_budget: int) -> Any:
    _check_level(level)
    _check_budget(memory_budget)
    params = ffi.new("dg_encode_params *")
    params.level = level
    params.secondary = _secondary_code(lib, secondary)
    params.memory_budget = memory_budget
    return params


def _plan(ffi: FFI, lib: Lib, source_size: int, target_size: int, *, reach: int, params: Any) -> EncodePlan:
    plan = ffi.new("dg_encode_plan *")
    status = ffi.new("dg_status *")
    if lib.dg_plan_encode(source_size, target_size, reach, params, plan, status) != lib.DG_OK:
        # Only argument problems fail here, above all a budget smaller than the target window needs.
        raise ValueError(ffi.string(status.msg).decode("utf-8", "replace"))
    return EncodePlan(
        window=int(plan.window),
        block_size=int(plan.blksize),
        large_step=int(plan.large_step),
        target_window=int(plan.winsize),
        hash_bytes=int(plan.hash_bytes),
        memory=int(plan.memory),
        covers_source=bool(plan.covers_source),
        usize_bytes=int(plan.usize_bytes),
        lzma_preset=int(plan.lzma_preset),
    )


def plan_encode(
    source_size: int,
    target_size: int,
    *,
    level: int = 9,
    secondary: Secondary = "lzma",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> EncodePlan:
    """The widest source window, checksum step and memory an encode of these sizes may use.

    Raises ``ValueError`` when ``memory_budget`` cannot hold even the target window's tables.
    """
    if source_size < 0 or target_size < 0:
        raise ValueError("sizes must be non-negative")
    ffi, lib = _native()
    params = _params(ffi, lib, level, secondary, memory_budget)
    return _plan(ffi, lib, source_size, target_size, reach=_NO_LIMIT, params=params)


def encode(
    source: BytesLike,
    target: BytesLike,
    *,
    level: int = 9,
    secondary: Secondary = "lzma",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> bytes:
    """Returns a VCDIFF delta that rebuilds ``target`` from ``source``.

    ``level`` 0-9 picks the string matcher as ``xdelta3 -0``..``-9``; ``secondary`` compresses the
    delta's sections further: ``"lzma"`` as the binary does by default (LZMA preset 0); ``"auto"``
    leaves the data section of an already-compressed target alone (LZMA cannot gain 1% there, and
    it is most of the time) and, for targets of 4 MiB and more where the budget allows, uses LZMA
    preset 6 (5.8% smaller deltas on source tars). Content that moved
    anywhere in the source is found: the source window covers all of it, as far as ``memory_budget``
    allows (about 2 bytes of hash table per window byte at level 9; see :func:`plan_encode`), unless
    a quick probe of both inputs shows that content stayed near its place, in which case the
    narrowest sliding window that covers how far it moved is used (it finds better-placed copies,
    hence smaller deltas, with less memory). :func:`encode_file` with the same arguments writes the
    same bytes.
    """
    ffi, lib = _native()
    params = _params(ffi, lib, level, secondary, memory_budget)
    src = ffi.from_buffer(source)
    tgt = ffi.from_buffer(target)
    _plan(ffi, lib, len(src), len(tgt), reach=_NO_LIMIT, params=params)  # argument errors: ValueError
    out = ffi.new("dg_buffer *")
    status = ffi.new("dg_status *")
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


# ------------------------------------------------------------------------------------------------
# File to file.

_READ_FLAGS: Final = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def _io_error(exc: OSError, path: StrPath, what: str) -> CodecIOError:
    err = exc.errno or errno.EIO
    return CodecIOError(err, exc.strerror or os.strerror(err), os.fsdecode(path), detail=what)


def _open_read(path: StrPath, what: str) -> int:
    try:
        return os.open(path, _READ_FLAGS)
    except OSError as exc:
        raise _io_error(exc, path, what) from exc


def _output(path: StrPath) -> contextlib.AbstractContextManager[Part]:
    """The output file, written beside ``path`` and renamed into place only if the block succeeds; a
    FIFO or device at ``path`` is written into then instead, never replaced."""
    return write_output(path, error=lambda exc, what: _io_error(exc, os.path.abspath(path), what))


def _close_all(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _io_filename(ffi: FFI, status: Any, names: dict[str, StrPath]) -> str | None:
    """Which of the files an I/O failure was about, from the glue's message."""
    detail = ffi.string(status.msg).decode("utf-8", "replace")
    for word, path in names.items():
        if word in detail:
            return os.fsdecode(path)
    return None


def encode_file(
    source_path: StrPath,
    target_path: StrPath,
    delta_path: StrPath,
    *,
    level: int = 9,
    secondary: Secondary = "lzma",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> int:
    """Writes the delta that rebuilds ``target_path`` from ``source_path`` to ``delta_path``.

    Returns the delta's size. The source is memory-mapped (it must not be modified meanwhile), the
    target read in window-sized chunks, the delta written as it is made; the encoder stays within
    ``memory_budget`` whatever the file sizes. The delta is byte-identical to what :func:`encode`
    returns for the same inputs and arguments. It is written under a temporary name in
    ``delta_path``'s folder and renamed into place only once complete: on any failure nothing
    appears at ``delta_path``. A FIFO or device at ``delta_path`` (or a link to one) is written
    into once the delta is complete, never replaced. I/O failures raise
    :class:`~deltaglider.errors.CodecIOError` (an ``OSError``).
    """
    ffi, lib = _native()
    params = _params(ffi, lib, level, secondary, memory_budget)
    src_fd = _open_read(source_path, "cannot open the source file")
    tgt_fd = -1
    try:
        tgt_fd = _open_read(target_path, "cannot open the target file")
        _plan(ffi, lib, os.fstat(src_fd).st_size, os.fstat(tgt_fd).st_size, reach=_NO_LIMIT, params=params)
        written = ffi.new("uint64_t *")
        status = ffi.new("dg_status *")
        with _output(delta_path) as out:
            if lib.dg_encode_file(src_fd, tgt_fd, out.fd, params, written, status) != lib.DG_OK:
                names = {"source": source_path, "target": target_path, "output": delta_path}
                _raise_for_status(ffi, lib, status, _io_filename(ffi, status, names))
        return int(written[0])
    finally:
        _close_all(src_fd, *([tgt_fd] if tgt_fd >= 0 else []))


def decode_file(
    source_path: StrPath,
    delta_path: StrPath,
    output_path: StrPath,
    *,
    expected_size: int | None = None,
    allow_external_compression: bool = False,
) -> int:
    """Rebuilds into ``output_path`` the file ``delta_path`` was made from against ``source_path``.

    Returns the bytes written. The source is memory-mapped and the output streamed, so decoding takes
    the same memory (well under 256 MiB: one delta window) for any file size. The output is written
    under a temporary name in its folder and renamed into place only when decoding succeeded and,
    if ``expected_size`` is given, produced exactly that many bytes; otherwise the temporary file is
    removed and nothing appears at ``output_path``. A FIFO or device at ``output_path`` (or a link
    to one) is written into then, from a temporary file in a private folder of the system's
    temporary folder, never replaced. Errors as :func:`decode`, plus
    :class:`~deltaglider.errors.CodecIOError` for I/O failures.
    """
    if expected_size is not None and (
        isinstance(expected_size, bool) or not isinstance(expected_size, int) or expected_size < 0
    ):
        raise ValueError(f"expected_size must be a non-negative integer, not {expected_size!r}")
    ffi, lib = _native()
    src_fd = _open_read(source_path, "cannot open the source file")
    dlt_fd = -1
    try:
        dlt_fd = _open_read(delta_path, "cannot open the delta file")
        written = ffi.new("uint64_t *")
        status = ffi.new("dg_status *")
        limit = _NO_LIMIT if expected_size is None else expected_size
        with _output(output_path) as out:
            rc = lib.dg_decode_file(
                src_fd, dlt_fd, out.fd, limit, int(allow_external_compression), written, status
            )
            if rc != lib.DG_OK:
                names = {"source": source_path, "delta": delta_path, "output": output_path}
                _raise_for_status(ffi, lib, status, _io_filename(ffi, status, names))
            if expected_size is not None and written[0] != expected_size:
                raise DecodeError(
                    f"cannot decode delta: it rebuilt {written[0]} bytes, expected {expected_size} "
                    "(truncated delta?)",
                    name="SIZE_MISMATCH",
                )
        return int(written[0])
    finally:
        _close_all(src_fd, *([dlt_fd] if dlt_fd >= 0 else []))


# ------------------------------------------------------------------------------------------------
# For tests.


@contextlib.contextmanager
def _failing_allocation(nth: int) -> Iterator[Callable[[], bool]]:
    """Inside the block, the ``nth`` allocation an xdelta3 stream of this thread asks for fails.

    Yields a function telling whether that failure happened (False: the calls made fewer
    allocations). Affects only the calling thread (see native/dg_fault.c).
    """
    _, lib = _native()
    lib.dg_fault_fail_allocation(nth)
    try:
        yield lambda: int(lib.dg_fault_pending()) == 0
    finally:
        lib.dg_fault_fail_allocation(0)


_DEFLATE_OUT: Final = 1 << 16


class PinnedDeflater:
    """A raw deflate stream written by the vendored zlib (``vendor/zlib``), not the platform's.

    Archive transforms rebuild members with it, so the bytes are the same on every machine. Same
    interface as ``zlib.compressobj(...)``: :meth:`compress` then one :meth:`flush`. ``wbits`` is
    the positive window size (9-15); the stream has no zlib or gzip wrapper.
    """

    def __init__(self, level: int, wbits: int, mem_level: int, strategy: int) -> None:
        self._open = False
        ffi, zlib = _native()
        self._ffi, self._zlib = ffi, zlib
        self._stream = ffi.new("z_stream *")
        self._out = ffi.new("unsigned char[]", _DEFLATE_OUT)
        rc = zlib.deflateInit2_(
            self._stream,
            level,
            zlib.Z_DEFLATED,
            -wbits,
            mem_level,
            strategy,
            zlib.zlibVersion(),
            ffi.sizeof("z_stream"),
        )
        if rc != zlib.Z_OK:
            raise ValueError(f"unsupported deflate parameters {(level, wbits, mem_level, strategy)}")
        self._open = True

    def _run(self, data: bytes, flush: int) -> bytes:
        if not self._open:
            raise ValueError("the deflate stream is finished")
        zlib, stream = self._zlib, self._stream
        keep = self._ffi.from_buffer(data)
        stream.next_in = keep
        stream.avail_in = len(data)
        parts = []
        while True:
            stream.next_out = self._out
            stream.avail_out = _DEFLATE_OUT
            rc = zlib.deflate(stream, flush)
            if rc not in (zlib.Z_OK, zlib.Z_STREAM_END, zlib.Z_BUF_ERROR):
                raise CodecError(f"zlib deflate failed ({rc})", name="ZLIB")
            parts.append(bytes(self._ffi.buffer(self._out, _DEFLATE_OUT - stream.avail_out)))
            if rc == zlib.Z_STREAM_END or (flush == zlib.Z_NO_FLUSH and stream.avail_out):
                break
        del keep
        return b"".join(parts)

    def compress(self, data: bytes, /) -> bytes:
        return self._run(data, self._zlib.Z_NO_FLUSH)

    def flush(self) -> bytes:
        out = self._run(b"", self._zlib.Z_FINISH)
        self._close()
        return out

    def _close(self) -> None:
        if self._open:
            self._open = False
            self._zlib.deflateEnd(self._stream)

    def __del__(self) -> None:
        self._close()


def pinned_zlib_version() -> str:
    """The vendored zlib's version (``"1.2.13"``)."""
    ffi, lib = _native()
    zlib: Any = lib
    return ffi.string(zlib.zlibVersion()).decode()


#: liblzma's flag for the slower "extreme" variant of a preset (``xz -6e``).
LZMA_PRESET_EXTREME: Final = 0x80000000


class PinnedLzma2:
    """A raw LZMA2 stream (no .xz container) written by the vendored liblzma, not the platform's.

    Archive transforms rebuild .xz blocks with it. Same interface as :class:`PinnedDeflater`:
    :meth:`compress` then one :meth:`flush`. ``preset`` is 0-9, or'ed with
    :data:`LZMA_PRESET_EXTREME`; ``dict_size`` overrides the preset's, as a block header records it.
    """

    def __init__(self, preset: int, dict_size: int) -> None:
        ffi, lib = _native()
        self._enc: Any = None  # set first: __del__ runs even when the encoder cannot be made
        self._ffi, self._lib = ffi, lib
        self._status = ffi.new("dg_status *")
        self._out = ffi.new("uint8_t[]", _DEFLATE_OUT)
        self._used = ffi.new("size_t *")
        self._made = ffi.new("size_t *")
        self._done = ffi.new("int *")
        enc = lib.dg_lzma2_new(preset, dict_size, self._status)
        if enc == ffi.NULL:
            _raise_for_status(ffi, lib, self._status)
        self._enc = enc

    def _run(self, data: bytes, finish: bool) -> bytes:
        if self._enc is None:
            raise ValueError("the LZMA2 stream is finished")
        ffi, lib = self._ffi, self._lib
        keep = ffi.from_buffer("uint8_t[]", data)
        offset = 0
        parts = []
        while True:
            rc = lib.dg_lzma2_code(
                self._enc,
                keep + offset,
                len(data) - offset,
                self._out,
                _DEFLATE_OUT,
                int(finish),
                self._used,
                self._made,
                self._done,
                self._status,
            )
            if rc != lib.DG_OK:
                _raise_for_status(ffi, lib, self._status)
            offset += self._used[0]
            parts.append(bytes(ffi.buffer(self._out, self._made[0])))
            if self._done[0] or (not finish and offset == len(data) and self._made[0] < _DEFLATE_OUT):
                break
        del keep
        return b"".join(parts)

    def compress(self, data: bytes, /) -> bytes:
        return self._run(data, finish=False)

    def flush(self) -> bytes:
        out = self._run(b"", finish=True)
        self._close()
        return out

    def _close(self) -> None:
        if self._enc is not None:
            self._lib.dg_lzma2_free(self._enc)
            self._enc = None

    def __del__(self) -> None:
        self._close()


def pinned_liblzma_version() -> str:
    """The vendored liblzma's version (``"5.4.1"``)."""
    ffi, lib = _native()
    return ffi.string(lib.dg_lzma2_version()).decode()
