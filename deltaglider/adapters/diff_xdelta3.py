"""DiffPort over the in-process codec.

Files are memory-mapped and handed to the in-memory codec functions. When the codec gains its
streaming ``encode_file``/``decode_file``, only ``encode`` and ``decode`` below change.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from deltaglider import codec


@contextmanager
def _mapped(path: Path) -> Iterator[bytes | mmap.mmap]:
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        if size == 0:
            # mmap refuses empty files.
            yield b""
            return
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield mapped
        finally:
            # A codec exception's traceback still holds a view of the map, which is then unmapped when
            # that goes: closing here must not replace the codec's error with a BufferError.
            with suppress(BufferError):
                mapped.close()


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


class XDelta3Diff:
    def __init__(self, *, level: int = 9, secondary: codec.Secondary = "lzma") -> None:
        self._level = level
        self._secondary = secondary

    def encode(self, source: Path, target: Path, out: Path) -> int:
        with _mapped(source) as src, _mapped(target) as tgt:
            delta = codec.encode(src, tgt, level=self._level, secondary=self._secondary)
        _write(out, delta)
        return len(delta)

    def decode(self, source: Path, delta: Path, out: Path, *, expected_size: int | None = None) -> int:
        with _mapped(source) as src, _mapped(delta) as dlt:
            data = codec.decode(src, dlt, expected_size=expected_size)
        _write(out, data)
        return len(data)

    def decode_raw(self, source: bytes, delta: bytes) -> bytes:
        return codec.decode(source, delta, allow_external_compression=True)
