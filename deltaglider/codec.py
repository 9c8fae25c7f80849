"""The public codec API: xdelta3 deltas, and the pinned deflate, LZMA2 and bzip2 encoders that
archive transforms rebuild with. The native bindings are below it, in :mod:`deltaglider._native` (one module
per C library); this module checks arguments, opens and names files and writes outputs atomically.

Deltas are plain RFC 3284 VCDIFF as the xdelta3 library writes them, always with Adler-32 window
checksums, so ``xdelta3 -d -s`` decodes them and a wrong reference is caught. Inputs are never
decompressed. The GIL is released for the whole native call, so calls from several threads run in
parallel.

Two forms: bytes in memory (:func:`encode`, :func:`decode`) and file to file (:func:`encode_file`,
:func:`decode_file`), where the reference is memory-mapped and the rest streamed, so memory does not
grow with the file. Both make the same encoding decisions, so for the same inputs and arguments they
write byte-identical deltas. Each encode is planned once (:func:`plan_encode_files` for files, or
inside :func:`encode`) and runs that plan.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
from collections.abc import Iterator
from typing import Final, TypeAlias

from deltaglider._native import NO_LIMIT, xdelta3
from deltaglider._native.appheader import EXTERNAL_COMPRESSION_IDENTS, external_idents
from deltaglider._native.bzip2 import PinnedBzip2
from deltaglider._native.bzip2 import version as pinned_libbzip2_version
from deltaglider._native.deflate import PinnedDeflater
from deltaglider._native.deflate import version as pinned_zlib_version
from deltaglider._native.lzma2 import LZMA_PRESET_EXTREME, PinnedLzma2
from deltaglider._native.lzma2 import version as pinned_liblzma_version
from deltaglider._native.status import StrPath, file_roles
from deltaglider._native.xdelta3 import EncodePlan, Secondary
from deltaglider.atomic import Part, write_output
from deltaglider.errors import CodecIOError, DecodeError

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "EXTERNAL_COMPRESSION_IDENTS",
    "LZMA_PRESET_EXTREME",
    "BytesLike",
    "EncodePlan",
    "PinnedBzip2",
    "PinnedDeflater",
    "PinnedLzma2",
    "Secondary",
    "StrPath",
    "decode",
    "decode_file",
    "encode",
    "encode_file",
    "external_idents",
    "pinned_libbzip2_version",
    "pinned_liblzma_version",
    "pinned_zlib_version",
    "plan_encode",
    "plan_encode_files",
]

BytesLike: TypeAlias = bytes | bytearray | memoryview | mmap.mmap

#: What the encoder may allocate unless told otherwise: hash tables, buffers, secondary state.
DEFAULT_MEMORY_BUDGET: Final = 512 * 2**20


def plan_encode(
    source_size: int,
    target_size: int,
    *,
    level: int = 9,
    secondary: Secondary = "auto",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> EncodePlan:
    """The widest source window, checksum step and memory an encode of these sizes may use.

    A plan from sizes alone, for sizing; no encode runs it (:func:`plan_encode_files` plans one).
    Raises ``ValueError`` when ``memory_budget`` cannot hold even the target window's tables.
    """
    if source_size < 0 or target_size < 0:
        raise ValueError("sizes must be non-negative")
    return xdelta3.plan_sizes(source_size, target_size, xdelta3.params(level, secondary, memory_budget))


def encode(
    source: BytesLike,
    target: BytesLike,
    *,
    level: int = 9,
    secondary: Secondary = "auto",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> bytes:
    """Returns a VCDIFF delta that rebuilds ``target`` from ``source``.

    ``level`` 0-9 picks the string matcher as ``xdelta3 -0``..``-9``; ``secondary`` compresses the
    delta's sections further: ``"lzma"`` as the binary does by default (LZMA preset 0); ``"auto"``
    (the default) chooses for each window from its new bytes: no secondary compression where a
    trial on a sample of them shows LZMA would not gain 1% (the deflated members of a wheel: LZMA
    would only spend time there), LZMA where it pays (machine code), and, for targets of 4 MiB and
    more where the budget allows, LZMA preset 6 where they compress like text (source tars). Every
    choice is one that stock ``xdelta3 -d`` decodes. Content that moved
    anywhere in the source is found: the source window covers all of it, as far as ``memory_budget``
    allows (about 2 bytes of hash table per window byte at level 9; see :func:`plan_encode`), unless
    a quick probe of both inputs shows that content stayed near its place, in which case the
    narrowest sliding window that covers how far it moved is used (it finds better-placed copies,
    hence smaller deltas, with less memory). :func:`encode_file` with the same arguments writes the
    same bytes.
    """
    settings = xdelta3.params(level, secondary, memory_budget)
    src = xdelta3.buffer(source)
    tgt = xdelta3.buffer(target)
    return xdelta3.encode_memory(src, tgt, xdelta3.plan_memory(src, tgt, settings))


def _check_expected_size(expected_size: int | None) -> int:
    """The decoder's output limit for ``expected_size``."""
    if expected_size is None:
        return NO_LIMIT
    if isinstance(expected_size, bool) or not isinstance(expected_size, int) or expected_size < 0:
        raise ValueError(f"expected_size must be a non-negative integer, not {expected_size!r}")
    return expected_size


def _size_mismatch(got: int, expected_size: int) -> DecodeError:
    return DecodeError(
        f"cannot decode delta: it rebuilt {got} bytes, expected {expected_size} (truncated delta?)",
        name="SIZE_MISMATCH",
    )


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
    limit = _check_expected_size(expected_size)
    src = xdelta3.buffer(source)
    dlt = xdelta3.buffer(delta)
    out = xdelta3.decode_memory(src, dlt, limit, allow_external_compression)
    if expected_size is not None and len(out) != expected_size:
        raise _size_mismatch(len(out), expected_size)
    return out


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


@contextlib.contextmanager
def _opened(first: tuple[StrPath, str], second: tuple[StrPath, str]) -> Iterator[tuple[int, int]]:
    """Both files open for reading, closed afterwards; each ``(path, what a failure to open says)``."""
    fds: list[int] = []
    try:
        for path, what in (first, second):
            fds.append(_open_read(path, what))
        yield fds[0], fds[1]
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


_OPEN_SOURCE: Final = "cannot open the source file"
_OPEN_TARGET: Final = "cannot open the target file"


def plan_encode_files(
    source_path: StrPath,
    target_path: StrPath,
    *,
    level: int = 9,
    secondary: Secondary = "auto",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
) -> EncodePlan:
    """The plan an :func:`encode_file` of these files with these settings runs: the content probed
    and sniffed as the encode would, its ``memory`` what the encode will hold.

    Hand it to :func:`encode_file` (``plan=``) to run it; an encode refuses it if either file has
    changed size since. Raises ``ValueError`` as :func:`plan_encode`, and
    :class:`~deltaglider.errors.CodecIOError` when a file cannot be read.
    """
    settings = xdelta3.params(level, secondary, memory_budget)
    with _opened((source_path, _OPEN_SOURCE), (target_path, _OPEN_TARGET)) as (src_fd, tgt_fd):
        roles = file_roles(source=source_path, target=target_path)
        return xdelta3.plan_files(src_fd, tgt_fd, settings, roles)


def encode_file(
    source_path: StrPath,
    target_path: StrPath,
    delta_path: StrPath,
    *,
    level: int = 9,
    secondary: Secondary = "auto",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    plan: EncodePlan | None = None,
) -> int:
    """Writes the delta that rebuilds ``target_path`` from ``source_path`` to ``delta_path``.

    Returns the delta's size. The source is memory-mapped (it must not be modified meanwhile), the
    target read in window-sized chunks, the delta written as it is made; the encoder stays within
    ``memory_budget`` whatever the file sizes. The delta is byte-identical to what :func:`encode`
    returns for the same inputs and arguments. It is written under a temporary name in
    ``delta_path``'s folder and renamed into place only once complete: on any failure nothing
    appears at ``delta_path``. A FIFO or device at ``delta_path`` (or a link to one) is written
    into once the delta is complete, never replaced. I/O failures raise
    :class:`~deltaglider.errors.CodecIOError` (an ``OSError``) naming the file that failed.

    ``plan``: what :func:`plan_encode_files` returned for these files and settings, run as it is;
    without it the encode plans itself (once).
    """
    settings = xdelta3.params(level, secondary, memory_budget)
    planned = None if plan is None else xdelta3.check_plan(plan, settings)
    with _opened((source_path, _OPEN_SOURCE), (target_path, _OPEN_TARGET)) as (src_fd, tgt_fd):
        roles = file_roles(source=source_path, target=target_path, output=delta_path)
        if planned is None:
            planned = xdelta3.plan_files(src_fd, tgt_fd, settings, roles).native
        with _output(delta_path) as out:
            return xdelta3.encode_files(src_fd, tgt_fd, out.fd, planned, roles)


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
    :class:`~deltaglider.errors.CodecIOError` for I/O failures, naming the file that failed.
    """
    limit = _check_expected_size(expected_size)
    with _opened((source_path, _OPEN_SOURCE), (delta_path, "cannot open the delta file")) as (src_fd, dlt_fd):
        roles = file_roles(source=source_path, delta=delta_path, output=output_path)
        with _output(output_path) as out:
            written = xdelta3.decode_files(
                src_fd, dlt_fd, out.fd, limit, allow_external=allow_external_compression, files=roles
            )
            if expected_size is not None and written != expected_size:
                raise _size_mismatch(written, expected_size)
        return written
