"""The diff port: VCDIFF deltas between files."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class DiffPort(Protocol):
    def encode(self, source: Path, target: Path, out: Path) -> int:
        """Writes to ``out`` a delta that rebuilds ``target`` from ``source``; returns its size."""
        ...

    def decode(self, source: Path, delta: Path, out: Path, *, expected_size: int | None = None) -> int:
        """Rebuilds into ``out`` the file ``delta`` was made from; returns its size.

        Raises ``DecodeError`` for a corrupt delta, a wrong source or a size other than
        ``expected_size``, and ``UnsupportedDeltaError`` for a delta the xdelta3 binary made over
        externally compressed data.
        """
        ...

    def decode_raw(self, source: bytes, delta: bytes) -> bytes:
        """Decodes the bare VCDIFF even when its header names an external compressor (the binary's
        gzip/xz/bzip2 step): the result is the decompressed stream the binary diffed."""
        ...
