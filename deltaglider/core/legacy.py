"""Rebuilding deltas that the original's xdelta3 binary made over externally compressed files.

That binary gunzipped (or bunzipped, unxz'd, uncompressed) a source or target carrying a compressor's
magic, diffed the decompressed streams, and on decode piped the output back through ``gzip -c`` (etc.)
at default settings. We do the same steps and keep the result only if its SHA-256 is the recorded one:
the file comes back byte for byte, or not at all.

Unlike the rest of the core, this path runs programs itself (``gzip``, ``bzip2``, ``xz``,
``compress``) when Python's own compressors do not reproduce theirs. Every step streams through files
in scratch space, never holding a stream in memory, and is bounded: the decompressed streams by
:data:`DECOMPRESSED_LIMIT` (and, for gzip, by deflate's largest ratio over the recorded size), the
recompressed file by its recorded size. A crafted delta that would expand without end is refused
before it is decoded.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import shutil
import struct
import subprocess
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import IO, BinaryIO, Final

from deltaglider.core.context import Context
from deltaglider.core.magic import GZIP_MAGIC
from deltaglider.errors import IntegrityError
from deltaglider.ports.diff import UNSIZED_DECODE_LIMIT

_IDENT_PROGRAMS: Final = {"G": "gzip", "B": "bzip2", "Y": "xz", "Z": "compress"}
# Variables through which a user's environment could have changed the programs' defaults.
_COMPRESSOR_ENV: Final = ("GZIP", "BZIP", "BZIP2", "XZ_OPT", "XZ_DEFAULTS")
#: How large a decompressed stream (the source's or the rebuilt target's) may grow.
DECOMPRESSED_LIMIT: Final = UNSIZED_DECODE_LIMIT
#: Deflate emits at most 258 bytes per two bits: no gzip file expands more than this (plus slack).
_DEFLATE_MAX_RATIO: Final = 1032
_CHUNK: Final = 1 << 20

#: Writes one recompression of ``raw`` through the callback; False if it could not be made.
Recompressor = Callable[[Path, Callable[[bytes], None]], bool]


class _TooLargeError(Exception):
    """A stream grew past its bound."""


def _bounded_writer(f: BinaryIO, limit: int) -> Callable[[bytes], None]:
    written = 0

    def write(chunk: bytes) -> None:
        nonlocal written
        written += len(chunk)
        if written > limit:
            raise _TooLargeError
        f.write(chunk)

    return write


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def _feed(src: Path, sink: IO[bytes]) -> None:
    with suppress(OSError), sink:
        for chunk in _chunks(src):
            sink.write(chunk)


def _pipe(argv: list[str], src: Path, emit: Callable[[bytes], None]) -> bool:
    """Runs ``argv`` with ``src`` on stdin, handing its output to ``emit`` chunk by chunk. The input
    goes through a pipe, as the binary sent it: given a regular file, gzip would record its mtime."""
    if shutil.which(argv[0]) is None:
        return False
    env = {k: v for k, v in os.environ.items() if k not in _COMPRESSOR_ENV}
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
    except OSError:
        return False
    assert proc.stdin is not None and proc.stdout is not None
    feeder = threading.Thread(target=_feed, args=(src, proc.stdin), daemon=True)
    feeder.start()
    try:
        while chunk := proc.stdout.read(_CHUNK):
            emit(chunk)
    except BaseException:
        proc.kill()  # the output grew past its bound: stop the program, not just the reading
        raise
    finally:
        proc.stdout.close()
        proc.wait()
        feeder.join()
    return proc.returncode == 0


def _decompress_stream(ident: str, src: Path) -> io.BufferedIOBase:
    if ident == "G":
        return gzip.open(src, "rb")
    if ident == "B":
        return bz2.open(src, "rb")
    return lzma.open(src, "rb")


def decompress(ident: str, src: Path, dest: Path) -> None:
    """Writes to ``dest`` what the binary's ``gzip -dc`` (etc.) produced from ``src``."""
    program = _IDENT_PROGRAMS.get(ident)
    if program is None:
        raise IntegrityError(f"unknown external compression ident {ident!r}")
    try:
        with open(dest, "wb") as out:
            write = _bounded_writer(out, DECOMPRESSED_LIMIT)
            if ident == "Z":
                # gzip -d reads .Z; Python has no LZW.
                if not (_pipe(["gzip", "-dc"], src, write) or _pipe(["uncompress", "-c"], src, write)):
                    raise IntegrityError(
                        "the reference is compress(1) data and neither gzip nor uncompress could read it"
                    )
                return
            with _decompress_stream(ident, src) as stream:
                while chunk := stream.read(_CHUNK):
                    write(chunk)
    except _TooLargeError:
        raise IntegrityError(
            f"the reference decompresses as {program} past {DECOMPRESSED_LIMIT} bytes"
        ) from None
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
        raise IntegrityError(f"cannot decompress the reference as {program}: {exc}") from exc


def _gzip_like_cli_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    crc = length = 0
    header = GZIP_MAGIC + b"\x08\x00\x00\x00\x00\x00\x00\x03"
    yield header
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        length += len(chunk)
        yield compressor.compress(chunk)
    yield compressor.flush() + struct.pack("<II", crc, length & 0xFFFFFFFF)


def gzip_like_cli(data: bytes) -> bytes:
    """``gzip -c < file``: level 6, no name, mtime 0, OS byte 3 (Unix). zlib's deflate matches GNU
    gzip's for small inputs only, hence the program itself is tried as well."""
    return b"".join(_gzip_like_cli_chunks([data]))


def _in_process(make: Callable[[Iterable[bytes]], Iterator[bytes]]) -> Recompressor:
    def run(raw: Path, emit: Callable[[bytes], None]) -> bool:
        for piece in make(_chunks(raw)):
            emit(piece)
        return True

    return run


def _compressor_chunks(
    factory: Callable[[], bz2.BZ2Compressor | lzma.LZMACompressor],
) -> Callable[[Iterable[bytes]], Iterator[bytes]]:
    def make(chunks: Iterable[bytes]) -> Iterator[bytes]:
        compressor = factory()
        for chunk in chunks:
            yield compressor.compress(chunk)
        yield compressor.flush()

    return make


def _program(argv: list[str]) -> Recompressor:
    return lambda raw, emit: _pipe(argv, raw, emit)


def _recompressors(ident: str) -> list[Recompressor]:
    if ident == "G":
        return [_in_process(_gzip_like_cli_chunks), _program(["gzip", "-c"])]
    if ident == "B":
        return [_in_process(_compressor_chunks(lambda: bz2.BZ2Compressor(9))), _program(["bzip2", "-c"])]
    if ident == "Y":
        xz = _compressor_chunks(
            lambda: lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=6)
        )
        return [_in_process(xz), _program(["xz", "-c"])]
    if ident == "Z":
        return [_program(["compress", "-c"])]
    raise IntegrityError(f"unknown external compression ident {ident!r}")


def _raw_limit(ident: str, expected_size: int | None) -> int:
    if ident == "G" and expected_size is not None:
        return min(DECOMPRESSED_LIMIT, expected_size * _DEFLATE_MAX_RATIO + _CHUNK)
    return DECOMPRESSED_LIMIT


def _recompress_into(
    ctx: Context, recompress: Recompressor, raw: Path, out: Path, expected: tuple[str, int | None]
) -> bool:
    """One candidate: True if it made the recorded file into ``out``."""
    sha256, size = expected
    try:
        with open(out, "wb") as f:
            if not recompress(raw, _bounded_writer(f, DECOMPRESSED_LIMIT if size is None else size)):
                return False
    except _TooLargeError:
        return False
    return ctx.hasher.sha256_file(out) == sha256


def rebuild(
    ctx: Context,
    reference: Path,
    delta: Path,
    out: Path,
    *,
    expected_sha256: str,
    expected_size: int | None,
    ref_sha256: str,
    external: tuple[str, str],
) -> None:
    """Writes the file into ``out`` or raises ``IntegrityError``. ``external`` holds the delta's
    external-compression idents for its target and its source."""
    if expected_sha256 == ref_sha256:
        # The first file of a DeltaSpace: reference.bin holds it unchanged.
        shutil.copyfile(reference, out)
        return
    marker, source_marker = external
    with ctx.scratch() as scratch:
        source = reference
        if source_marker:
            source = scratch / "source"
            decompress(source_marker, reference, source)
        if not marker:
            ctx.diff.decode_raw(
                source,
                delta,
                out,
                size_limit=expected_size if expected_size is not None else DECOMPRESSED_LIMIT,
            )
            return
        raw = scratch / "raw"
        ctx.diff.decode_raw(source, delta, raw, size_limit=_raw_limit(marker, expected_size))
        for recompress in _recompressors(marker):
            if _recompress_into(ctx, recompress, raw, out, (expected_sha256, expected_size)):
                return
    out.unlink(missing_ok=True)
    program = _IDENT_PROGRAMS.get(marker, marker)
    raise IntegrityError(
        f"this delta was made by the original's xdelta3 over {program}-compressed data; recompressing the "
        f"rebuilt stream as `{program} -c` does gives a different SHA-256 than recorded (the file was not "
        "made by that program at its default settings), so the original could not rebuild it either"
    )
