"""The diff port: VCDIFF deltas between files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

#: How much a delta may rebuild when no size is recorded for its file (old metadata): decoding then
#: streams to disk and stops past this many bytes, so a crafted delta cannot fill memory or the disk.
UNSIZED_DECODE_LIMIT: Final = 64 * 2**30


@dataclass(frozen=True)
class DeltaHeader:
    """What a delta says about itself before any of it is decoded."""

    #: The total size its windows declare: exactly what decoding it produces, if it decodes.
    target_size: int
    #: The xdelta3 binary's external-compression idents from the application header (``G`` gzip,
    #: ``B`` bzip2, ``Y`` xz, ``Z`` compress; ``""`` for none), for the target and for the source;
    #: None when the delta is plain VCDIFF.
    external: tuple[str, str] | None


class DiffPort(Protocol):
    def encode(self, source: Path, target: Path, out: Path) -> int:
        """Writes to ``out`` a delta that rebuilds ``target`` from ``source``; returns its size.
        Streams: memory stays within :meth:`encode_memory` whatever the file sizes."""
        ...

    def encode_memory(self, source_size: int, target_size: int) -> int:
        """The most memory (bytes) an encode of files of these sizes holds: what the service reserves
        before encoding, so that concurrent encodes stay within a limit."""
        ...

    def inspect(self, delta: Path) -> DeltaHeader:
        """Reads the delta's headers; raises ``DecodeError`` when they are malformed or truncated."""
        ...

    def decode(self, source: Path, delta: Path, out: Path, *, expected_size: int | None = None) -> int:
        """Rebuilds into ``out`` the file ``delta`` was made from; returns its size. Streams to disk in
        bounded memory; ``out`` appears only complete.

        Raises ``DecodeError`` for a corrupt delta, a wrong source, a size other than ``expected_size``
        or, without one, an output past :data:`UNSIZED_DECODE_LIMIT` (checked before decoding), and
        for a delta that names an external compressor (see :meth:`inspect`; use :meth:`decode_raw`).
        """
        ...

    def decode_raw(self, source: Path, delta: Path, out: Path, *, size_limit: int) -> int:
        """Decodes the bare VCDIFF even when its header names an external compressor (the binary's
        gzip/xz/bzip2 step): ``out`` gets the decompressed stream the binary diffed. Refuses (with
        ``DecodeError``, before decoding) a delta that declares more than ``size_limit`` bytes."""
        ...
