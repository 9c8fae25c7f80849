"""Rebuilding deltas that the original's xdelta3 binary made over externally compressed files.

That binary gunzipped (or bunzipped, unxz'd, uncompressed) a source or target carrying a compressor's
magic, diffed the decompressed streams, and on decode piped the output back through ``gzip -c`` (etc.)
at default settings. We do the same steps and keep the result only if its SHA-256 is the recorded one:
the file comes back byte for byte, or not at all.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from deltaglider.core.context import Context
from deltaglider.errors import IntegrityError, UnsupportedDeltaError

_IDENT_PROGRAMS: Final = {"G": "gzip", "B": "bzip2", "Y": "xz", "Z": "compress"}
# Variables through which a user's environment could have changed the programs' defaults.
_COMPRESSOR_ENV: Final = ("GZIP", "BZIP", "BZIP2", "XZ_OPT", "XZ_DEFAULTS")


def _run(argv: list[str], data: bytes) -> bytes | None:
    if shutil.which(argv[0]) is None:
        return None
    env = {k: v for k, v in os.environ.items() if k not in _COMPRESSOR_ENV}
    try:
        done = subprocess.run(argv, input=data, capture_output=True, env=env, check=False, timeout=3600)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def decompress(ident: str, data: bytes) -> bytes:
    """What the binary's ``gzip -dc`` (etc.) produced."""
    try:
        if ident == "G":
            return gzip.decompress(data)
        if ident == "B":
            return bz2.decompress(data)
        if ident == "Y":
            return lzma.decompress(data)
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
        raise IntegrityError(f"cannot decompress the reference as {_IDENT_PROGRAMS[ident]}: {exc}") from exc
    if ident == "Z":
        # gzip -d reads .Z; Python has no LZW.
        out = _run(["gzip", "-dc"], data) or _run(["uncompress", "-c"], data)
        if out is not None:
            return out
        raise IntegrityError("the reference is compress(1) data and neither gzip nor uncompress is installed")
    raise IntegrityError(f"unknown external compression ident {ident!r}")


def gzip_like_cli(data: bytes) -> bytes:
    """``gzip -c < file``: level 6, no name, mtime 0, OS byte 3 (Unix). zlib's deflate matches GNU
    gzip's for small inputs only, hence the program itself is tried as well."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def _recompressors(ident: str) -> list[Callable[[bytes], bytes | None]]:
    if ident == "G":
        return [gzip_like_cli, lambda d: _run(["gzip", "-c"], d)]
    if ident == "B":
        return [lambda d: bz2.compress(d, 9), lambda d: _run(["bzip2", "-c"], d)]
    if ident == "Y":
        return [
            lambda d: lzma.compress(d, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=6),
            lambda d: _run(["xz", "-c"], d),
        ]
    if ident == "Z":
        return [lambda d: _run(["compress", "-c"], d)]
    raise IntegrityError(f"unknown external compression ident {ident!r}")


def _candidates(ident: str, data: bytes) -> Iterator[bytes]:
    for recompress in _recompressors(ident):
        out = recompress(data)
        if out is not None:
            yield out


def rebuild(
    ctx: Context,
    reference: Path,
    delta: Path,
    out: Path,
    *,
    expected_sha256: str,
    ref_sha256: str,
    error: UnsupportedDeltaError,
) -> None:
    """Writes the file into ``out`` or raises ``IntegrityError``."""
    if expected_sha256 == ref_sha256:
        # The first file of a DeltaSpace: reference.bin holds it unchanged.
        shutil.copyfile(reference, out)
        return
    source = reference.read_bytes()
    if error.source_marker:
        source = decompress(error.source_marker, source)
    raw = ctx.diff.decode_raw(source, delta.read_bytes())
    if not error.marker:
        out.write_bytes(raw)
        return
    program = _IDENT_PROGRAMS.get(error.marker, error.marker)
    for candidate in _candidates(error.marker, raw):
        if ctx.hasher.sha256_bytes(candidate) == expected_sha256:
            out.write_bytes(candidate)
            return
    raise IntegrityError(
        f"this delta was made by the original's xdelta3 over {program}-compressed data; recompressing the "
        f"rebuilt stream as `{program} -c` does gives a different SHA-256 than recorded (the file was not "
        "made by that program at its default settings), so the original could not rebuild it either"
    )
