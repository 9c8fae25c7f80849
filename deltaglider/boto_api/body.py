"""``get_object``'s ``Body``: the file (or the asked range of it) streamed from the checked copy that
the download left in a scratch folder, with what botocore's ``StreamingBody`` offers: ``read(n)``,
``read()``, ``iter_chunks``, ``iter_lines``, iteration, ``close`` and ``with``.

The copy is never read whole into memory. Closing the body (or leaving its ``with`` block, or
dropping the last reference to it) removes the scratch folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final

#: What botocore's StreamingBody reads per chunk by default.
DEFAULT_CHUNK_SIZE: Final = 1024


class StreamingBody:
    """``length`` bytes of ``stream`` from where it stands; ``scratch`` is removed on close."""

    def __init__(self, stream: BinaryIO, length: int, scratch: Path | None = None) -> None:
        self._stream = stream
        self._left = length
        self._length = length
        self._scratch = scratch

    @property
    def content_length(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def read(self, amt: int | None = None) -> bytes:
        """Up to ``amt`` bytes (all that is left when None or negative); ``b""`` at the end."""
        want = self._left if amt is None or amt < 0 else min(amt, self._left)
        if want == 0:
            return b""
        data = self._stream.read(want)
        self._left -= len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer)
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def iter_lines(self, chunk_size: int = DEFAULT_CHUNK_SIZE, keepends: bool = False) -> Iterator[bytes]:
        pending = b""
        for chunk in self.iter_chunks(chunk_size):
            lines = (pending + chunk).splitlines(True)
            pending = lines.pop()
            for line in lines:
                yield line if keepends else line.splitlines()[0]
        if pending:
            yield pending if keepends else pending.splitlines()[0]

    def readlines(self) -> list[bytes]:
        return list(self.iter_lines(keepends=True))

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_chunks(DEFAULT_CHUNK_SIZE)

    def tell(self) -> int:
        return self._length - self._left

    @property
    def closed(self) -> bool:
        return self._stream.closed

    def close(self) -> None:
        self._stream.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def __enter__(self) -> StreamingBody:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # A caller that never closes the body must not leave the file's copy behind.
        self.close()
