"""DiffPort over the in-process codec, file to file.

Encoding and decoding both stream (``codec.encode_file``/``codec.decode_file``): the reference is
memory-mapped, the other side read or written in windows, so memory does not grow with the files. An
encode runs the plan :meth:`XDelta3Diff.plan` made (``codec.plan_encode_files``). A
decode is first bounded by the size the delta's own window headers declare, which
:meth:`XDelta3Diff.inspect` reads and checks against the caller's bound (the recorded size) before
any of it is decoded; the codec then stops at that size.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Final

from deltaglider import codec
from deltaglider.errors import DecodeError
from deltaglider.ports.diff import DeltaHeader, EncodePlan

_MAGIC: Final = b"\xd6\xc3\xc4\x00"
_VCD_DECOMPRESS: Final = 0x01
_VCD_CODETABLE: Final = 0x02
_VCD_APPHEADER: Final = 0x04
_VCD_SOURCE: Final = 0x01
_VCD_SOURCE_OR_TARGET: Final = 0x03
_MAX_VARINT_BYTES: Final = 10


def _malformed(what: str) -> DecodeError:
    return DecodeError(f"cannot decode delta: {what}", name="XD3_INVALID_INPUT", detail=what)


def _byte(f: BinaryIO) -> int:
    b = f.read(1)
    if not b:
        raise _malformed("truncated header")
    return b[0]


def _varint(f: BinaryIO) -> int:
    value = 0
    for _ in range(_MAX_VARINT_BYTES):
        b = _byte(f)
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value
    raise _malformed("integer too long in a header")


def read_header(f: BinaryIO) -> DeltaHeader:
    """Walks the RFC 3284 file header and every window header (skipping their bodies)."""
    if f.read(4) != _MAGIC:
        raise _malformed("not a VCDIFF delta (bad magic)")
    indicator = _byte(f)
    if indicator & _VCD_DECOMPRESS:
        _byte(f)
    if indicator & _VCD_CODETABLE:
        f.seek(_varint(f), 1)
    external = None
    if indicator & _VCD_APPHEADER:
        length = _varint(f)
        appheader = f.read(length)
        if len(appheader) != length:
            raise _malformed("truncated application header")
        external = codec.external_idents(appheader)
    pos = f.tell()
    end = f.seek(0, 2)
    f.seek(pos)
    total = extent = 0
    while pos < end:
        window = _byte(f)
        if window & _VCD_SOURCE_OR_TARGET:
            segment = _varint(f)
            position = _varint(f)
            if window & _VCD_SOURCE:
                extent = max(extent, position + segment)
        length = _varint(f)
        body = f.tell()
        total += _varint(f)
        pos = f.seek(body + length)
        if pos > end:
            raise _malformed("truncated window")
    return DeltaHeader(target_size=total, external=external, source_extent=extent)


class XDelta3Diff:
    def __init__(
        self,
        *,
        level: int = 9,
        secondary: codec.Secondary = "auto",
        memory_budget: int = codec.DEFAULT_MEMORY_BUDGET,
    ) -> None:
        self._level = level
        self._secondary = secondary
        self._memory_budget = memory_budget

    def plan(self, source: Path, target: Path) -> codec.EncodePlan:
        return codec.plan_encode_files(
            source, target, level=self._level, secondary=self._secondary, memory_budget=self._memory_budget
        )

    def encode(self, source: Path, target: Path, out: Path, plan: EncodePlan | None = None) -> int:
        if plan is not None and not isinstance(plan, codec.EncodePlan):
            raise TypeError(f"not a plan of this codec: {plan!r}")
        return codec.encode_file(
            source,
            target,
            out,
            level=self._level,
            secondary=self._secondary,
            memory_budget=self._memory_budget,
            plan=plan,
        )

    def inspect(self, delta: Path) -> DeltaHeader:
        with open(delta, "rb") as f:
            return read_header(f)

    def decode(self, source: Path, delta: Path, out: Path, *, expected_size: int | None = None) -> int:
        header = self.inspect(delta)
        if header.external is not None:
            raise _malformed("the delta names the xdelta3 binary's external compression (use decode_raw)")
        if expected_size is None:
            raise DecodeError(
                "cannot decode delta: its file has no recorded size, and nothing else bounds what it "
                "writes (every writer records dg-file-size)",
                name="NO_SIZE",
            )
        if header.target_size != expected_size:
            raise DecodeError(
                f"cannot decode delta: it declares {header.target_size} bytes, expected {expected_size}",
                name="SIZE_MISMATCH",
            )
        return codec.decode_file(source, delta, out, expected_size=expected_size)

    def decode_raw(self, source: Path, delta: Path, out: Path, *, size_limit: int) -> int:
        declared = self.inspect(delta).target_size
        if declared > size_limit:
            raise DecodeError(
                f"cannot decode delta: it declares {declared} bytes, past the limit of {size_limit}",
                name="TOO_LARGE",
            )
        return codec.decode_file(source, delta, out, expected_size=declared, allow_external_compression=True)
