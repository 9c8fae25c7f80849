"""The diff port: VCDIFF deltas between files.

Every decode is bounded before it starts: the caller says how large the output may be (the file's
recorded size, or what the recorded size allows for an intermediate stream), the delta's own window
headers say how large it will be, and a delta that declares more is refused without decoding any of
it. While decoding, output stops at that size, so a delta whose windows lie cannot write more either.

Every encode is planned once, before it runs: the plan says how much memory the encode will hold,
which the service reserves, and the encode then runs that plan rather than planning again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class DeltaHeader:
    """What a delta says about itself before any of it is decoded."""

    #: The total size its windows declare: exactly what decoding it produces, if it decodes.
    target_size: int
    #: The xdelta3 binary's external-compression idents from the application header (``""`` for
    #: none; what each stands for: ``codec.EXTERNAL_COMPRESSION_IDENTS``), for the target and for the
    #: source; None when the delta is plain VCDIFF.
    external: tuple[str, str] | None
    #: How far into the source its windows read: no byte past it is ever needed to decode it.
    source_extent: int = 0


class EncodePlan(Protocol):
    """How one encode of two files will run, decided before it runs."""

    @property
    def memory(self) -> int:
        """The most memory (bytes) the encode holds: what the service reserves before running it, so
        that concurrent encodes stay within a limit."""
        ...


class DiffPort(Protocol):
    def plan(self, source: Path, target: Path) -> EncodePlan:
        """The plan of an encode of ``target`` against ``source``, for :meth:`encode` to run."""
        ...

    def encode(self, source: Path, target: Path, out: Path, plan: EncodePlan | None = None) -> int:
        """Writes to ``out`` a delta that rebuilds ``target`` from ``source``; returns its size.
        Runs ``plan`` (from :meth:`plan` for these files), or plans once itself without one.
        Streams: memory stays within the plan's whatever the file sizes."""
        ...

    def inspect(self, delta: Path) -> DeltaHeader:
        """Reads the delta's headers; raises ``DecodeError`` when they are malformed or truncated."""
        ...

    def decode(self, source: Path, delta: Path, out: Path, *, expected_size: int | None = None) -> int:
        """Rebuilds into ``out`` the file ``delta`` was made from; returns its size. Streams to disk in
        bounded memory; ``out`` appears only complete.

        Raises ``DecodeError`` for a corrupt delta, a wrong source, and a delta that names an external
        compressor (see :meth:`inspect`; use :meth:`decode_raw`); before decoding any of it, for a
        delta whose windows declare another size than ``expected_size``, and for any delta without
        ``expected_size``: every writer records its file's size, and nothing else bounds the output.
        """
        ...

    def decode_raw(self, source: Path, delta: Path, out: Path, *, size_limit: int) -> int:
        """Decodes the bare VCDIFF even when its header names an external compressor (the binary's
        gzip/xz/bzip2 step): ``out`` gets the decompressed stream the binary diffed. Refuses (with
        ``DecodeError``, before decoding) a delta that declares more than ``size_limit`` bytes, and
        stops there if its windows produce more than they declared."""
        ...
