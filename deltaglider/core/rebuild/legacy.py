"""Rebuilding deltas that the original's xdelta3 binary made over externally compressed files.

That binary gunzipped (or bunzipped, unxz'd, uncompressed) a source or target carrying a compressor's
magic, diffed the decompressed streams, and on decode piped the output back through ``gzip -c`` (etc.)
at default settings. We do the same steps and keep the result only if its SHA-256 is the recorded one:
the file comes back byte for byte, or not at all.

Unlike the rest of the core, this path runs programs itself (``gzip``, ``bzip2``, ``xz``,
``compress``) when Python's own compressors do not reproduce theirs. Every step streams through files
in scratch space, never holding a stream in memory, and is bounded by the recorded size: the rebuilt
stream by the most that the ident's format can expand that many bytes to (:func:`raw_limit`), the
recompressed file by the size itself, the decompressed reference by how far the delta reads into it.
A delta that names an ident the binary never wrote, records no size, or declares more than its
format allows is refused before any of it is decoded.
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

from deltaglider.codec import EXTERNAL_COMPRESSION_IDENTS
from deltaglider.core.context import Context
from deltaglider.errors import IntegrityError
from deltaglider.transforms.recipe import DEFLATE_MAX_EXPANSION, LZMA2_MAX_EXPANSION
from deltaglider.transforms.sniff import GZIP_MAGIC

# Variables through which a user's environment could have changed the programs' defaults.
_COMPRESSOR_ENV: Final = ("GZIP", "BZIP", "BZIP2", "XZ_OPT", "XZ_DEFAULTS")
#: How large a decompressed stream (the source's or the rebuilt target's) may ever grow.
DECOMPRESSED_LIMIT: Final = 64 * 2**30
_CHUNK: Final = 1 << 20
#: The most each format expands, as (bytes out per byte in, bytes out for free): its limit, not a
#: typical ratio, so that no file the program wrote is refused (deflate and LZMA: transforms.recipe).
_EXPANSION: Final = {
    "G": (DEFLATE_MAX_EXPANSION, _CHUNK),
    "Y": (LZMA2_MAX_EXPANSION, _CHUNK),
    # bzip2 -9: a block holds 899981 bytes after run-length coding (255 bytes in 5), so at most
    # 45.9 MB, in no fewer than 21 bytes of block header, tables and codes; plus one block.
    "B": (2_200_000, 46_000_000),
    # compress: a code of b bits (at most 16) stands for fewer than 2**b bytes.
    "Z": (32768, _CHUNK),
}

#: Writes one recompression of ``raw`` through the callback; False if it could not be made.
Recompressor = Callable[[Path, Callable[[bytes], None]], bool]


class _TooLargeError(Exception):
    """A stream grew past its bound."""


class _EnoughError(Exception):
    """A stream reached all that is needed of it."""


def _bounded_writer(f: BinaryIO, limit: int) -> Callable[[bytes], None]:
    written = 0

    def write(chunk: bytes) -> None:
        nonlocal written
        written += len(chunk)
        if written > limit:
            raise _TooLargeError
        f.write(chunk)

    return write


def _prefix_writer(f: BinaryIO, needed: int) -> Callable[[bytes], None]:
    """Writes the first ``needed`` bytes, then stops the stream: nothing past them is ever read."""
    written = 0

    def write(chunk: bytes) -> None:
        nonlocal written
        f.write(chunk[: needed - written])
        written = min(needed, written + len(chunk))
        if written == needed:
            raise _EnoughError

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
        proc.kill()  # past its bound, or all that is needed came: stop the program, not just the reading
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


def decompress(ident: str, src: Path, dest: Path, *, needed: int = DECOMPRESSED_LIMIT) -> None:
    """Writes to ``dest`` what the binary's ``gzip -dc`` (etc.) produced from ``src``, up to its
    first ``needed`` bytes (a delta reads no further into its source)."""
    program = _program_of(ident)
    needed = min(needed, DECOMPRESSED_LIMIT)
    try:
        with open(dest, "wb") as out:
            write = _prefix_writer(out, needed)
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
    except _EnoughError:
        pass
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


def _program_of(ident: str) -> str:
    program = EXTERNAL_COMPRESSION_IDENTS.get(ident)
    if program is None:
        raise IntegrityError(
            f"unknown external compression ident {ident!r}: the xdelta3 binary writes only "
            f"{', '.join(EXTERNAL_COMPRESSION_IDENTS)}; not decoded"
        )
    return program


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
    return [_program(["compress", "-c"])]


def raw_limit(ident: str, size: int) -> int:
    """The most that a file of ``size`` bytes written by the ident's program decompresses to."""
    ratio, allowance = _EXPANSION[ident]
    return min(DECOMPRESSED_LIMIT, size * ratio + allowance)


def _recompress_into(
    ctx: Context, recompress: Recompressor, raw: Path, out: Path, expected: tuple[str, int]
) -> bool:
    """One candidate: True if it made the recorded file into ``out``."""
    sha256, size = expected
    try:
        with open(out, "wb") as f:
            if not recompress(raw, _bounded_writer(f, size)):
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
    marker, source_marker = external
    program = _program_of(marker) if marker else None
    if source_marker:
        _program_of(source_marker)
    if expected_sha256 == ref_sha256:
        # The first file of a DeltaSpace: reference.bin holds it unchanged.
        shutil.copyfile(reference, out)
        return
    if expected_size is None:
        raise IntegrityError(
            "this delta's file has no recorded size, and nothing else bounds what it decodes to "
            "(every writer records dg-file-size); not decoded"
        )
    with ctx.scratch() as scratch:
        source = reference
        if source_marker:
            source = scratch / "source"
            decompress(source_marker, reference, source, needed=ctx.diff.inspect(delta).source_extent)
        if not marker:
            ctx.diff.decode_raw(source, delta, out, size_limit=expected_size)
            return
        raw = scratch / "raw"
        ctx.diff.decode_raw(source, delta, raw, size_limit=raw_limit(marker, expected_size))
        for recompress in _recompressors(marker):
            if _recompress_into(ctx, recompress, raw, out, (expected_sha256, expected_size)):
                return
    out.unlink(missing_ok=True)
    raise IntegrityError(
        f"this delta was made by the original's xdelta3 over {program}-compressed data; recompressing the "
        f"rebuilt stream as `{program} -c` does gives a different SHA-256 than recorded (the file was not "
        "made by that program at its default settings), so the original could not rebuild it either"
    )
