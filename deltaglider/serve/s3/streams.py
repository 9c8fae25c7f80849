"""Answers that stream a file: a rebuilt file from an offset, a chunk at a time (memory per request is
one chunk), holding the rebuild's lease until the last byte is sent or the client goes away."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, BinaryIO

import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class FileStream(Response):
    """``length`` bytes of ``path`` from ``offset``, then releases ``lease`` (entered already)."""

    def __init__(
        self,
        path: Path,
        offset: int,
        length: int,
        *,
        lease: AbstractAsyncContextManager[Any],
        status_code: int,
        headers: dict[str, str],
        chunk_bytes: int,
        with_body: bool = True,
    ) -> None:
        super().__init__(status_code=status_code, headers={**headers, "content-length": str(length)})
        self._path = path
        self._offset = offset
        self._length = length
        self._lease = lease
        self._chunk = chunk_bytes
        self._with_body = with_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            if not self._with_body:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            stream: BinaryIO = await anyio.to_thread.run_sync(open, self._path, "rb")
            try:
                await anyio.to_thread.run_sync(stream.seek, self._offset)
                left = self._length
                while left > 0:
                    data = await anyio.to_thread.run_sync(stream.read, min(self._chunk, left))
                    if not data:
                        raise OSError(f"{self._path} ended {left} bytes early")
                    left -= len(data)
                    await send({"type": "http.response.body", "body": data, "more_body": left > 0})
                if self._length == 0:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                stream.close()
        finally:
            await self._lease.__aexit__(None, None, None)


class KeepAlive(Response):
    """A 200 whose body is decided by a long job: whitespace every ``interval`` seconds while it runs
    (so that a client's read timeout does not end the wait, as S3 does for CompleteMultipartUpload),
    then the job's XML, which may be an error document."""

    def __init__(self, job: Callable[[], Awaitable[bytes]], *, interval: float) -> None:
        super().__init__(status_code=200, media_type="application/xml")
        # Its length is not known when it starts: chunked, with no Content-Length.
        self.raw_headers = [(name, value) for name, value in self.raw_headers if name != b"content-length"]
        self._job = job
        self._interval = interval

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        import asyncio

        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        task = asyncio.ensure_future(self._job())
        sent_declaration = False
        while True:
            done, _ = await asyncio.wait({task}, timeout=self._interval)
            if done:
                break
            if not sent_declaration:
                await send(
                    {
                        "type": "http.response.body",
                        "body": b'<?xml version="1.0" encoding="UTF-8"?>\n',
                        "more_body": True,
                    }
                )
                sent_declaration = True
            await send({"type": "http.response.body", "body": b" ", "more_body": True})
        body = task.result()
        if sent_declaration:
            body = body.split(b"\n", 1)[1] if body.startswith(b"<?xml") else body
        await send({"type": "http.response.body", "body": body, "more_body": False})
