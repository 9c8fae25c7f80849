"""What the two pinned encoders share: a native handle freed by the garbage collector unless closed
first, and the loop that feeds it one native call at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from deltaglider._native import load
from deltaglider._native.status import raise_for_status

#: Output buffer of one native call.
CHUNK: Final = 1 << 16


class PinnedStream:
    """One native encoder handle (``dg_lzma2 *``, ``dg_deflate *``) behind ``compress``/``flush``.

    The handle is tied to this object with ``ffi.gc``: dropped unfinished, it is freed when the object
    is collected; :meth:`flush` and :meth:`close` free it at once, and only once.
    """

    def __init__(self, library: str, handle: Any, status: Any, code: Callable[..., int], free: Any) -> None:
        """``handle`` is what the glue's constructor returned (NULL: it failed, as ``status`` says);
        ``code`` and ``free`` are its ``dg_<name>_code`` and ``dg_<name>_free``."""
        ffi, _ = load()
        self._library = library
        self._handle: Any = None
        if handle == ffi.NULL:
            raise_for_status(status, library=library)
        self._handle = ffi.gc(handle, free)
        self._code = code
        self._status = status
        self._out = ffi.new("uint8_t[]", CHUNK)
        self._used = ffi.new("size_t *")
        self._made = ffi.new("size_t *")
        self._done = ffi.new("int *")

    def _run(self, data: bytes, finish: bool) -> bytes:
        if self._handle is None:
            raise ValueError(f"the {self._library} stream is finished")
        ffi, lib = load()
        keep = ffi.from_buffer("uint8_t[]", data)
        offset = 0
        parts = []
        while True:
            args = (keep + offset, len(data) - offset, self._out, CHUNK, int(finish))
            rc = self._code(self._handle, *args, self._used, self._made, self._done, self._status)
            if rc != lib.DG_OK:
                raise_for_status(self._status, library=self._library)
            offset += self._used[0]
            parts.append(bytes(ffi.buffer(self._out, self._made[0])))
            # Not finishing, the input is taken once a call leaves room in the output buffer.
            if self._done[0] or (not finish and offset == len(data) and self._made[0] < CHUNK):
                break
        del keep
        return b"".join(parts)

    def compress(self, data: bytes, /) -> bytes:
        return self._run(data, finish=False)

    def flush(self) -> bytes:
        out = self._run(b"", finish=True)
        self.close()
        return out

    def close(self) -> None:
        """Frees the native handle now; later calls do nothing."""
        handle, self._handle = self._handle, None
        if handle is not None:
            load()[0].release(handle)
