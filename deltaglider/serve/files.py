"""Serving one stored file over HTTP: rebuilt once into a scratch file that every concurrent reader of
that file shares, then streamed to each in chunks, so that memory per request stays one chunk.

A rebuild runs apart from the requests that asked for it: a reader that goes away, or reads slowly,
neither stops it nor holds it up, and at most ``FileOptions.max_rebuilds`` run at once (the others
wait their turn). The scratch file is unlinked as soon as every reader waiting for it has opened it;
each reader's open file keeps the bytes until it is closed.

The route, ``/files/{bucket}/{key}``, is what the package index and the browse page link to
(:func:`file_path` builds those links). It serves the files a listing shows, by the name the user
knows: keys with ``.``, ``..`` or empty components, hidden bases and ``.delta`` objects are refused.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import quote

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from deltaglider.client import DeltaGliderClient
from deltaglider.core.format.layout import DELTA_SUFFIX, display_name, is_helper_key
from deltaglider.core.models import GetSummary
from deltaglider.errors import DeltaGliderError, InvalidURLError, NotFoundError
from deltaglider.urls import check_component, check_relative_key

__all__ = ["ROUTE_NAME", "FileOptions", "FileServer", "file_path", "routes", "safe_key"]

#: The download route's name, for ``url_path_for``.
ROUTE_NAME: Final = "deltaglider-file"
CHUNK_SIZE: Final = 64 * 1024


@dataclass(frozen=True)
class FileOptions:
    """``scratch_dir``: where rebuilt files wait while served (None: the system's temporary folder).
    ``on_rebuild`` hears each rebuild's duration and summary, ``on_shared`` each reader that joined a
    rebuild already under way (both for metrics; called on the event loop)."""

    scratch_dir: str | None = None
    max_rebuilds: int = 4
    chunk_size: int = CHUNK_SIZE
    on_rebuild: Callable[[float, GetSummary], None] | None = None
    on_shared: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.max_rebuilds < 1:
            raise ValueError(f"max_rebuilds must be at least 1, not {self.max_rebuilds}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {self.chunk_size}")


def safe_key(key: str, *, folder: bool = False) -> str:
    """``key`` if it names something a listing shows (a folder, ending in ``/``, when ``folder``);
    ``InvalidURLError`` for ``.``/``..``/empty components, a backslash or a leading ``/``;
    ``NotFoundError`` for hidden objects (bases, ``.delta`` objects, deltaglider's own folder)."""
    inner = key.removesuffix("/") if folder else key
    if inner or not folder:
        check_relative_key(inner, "key")
    if is_helper_key(key) or (
        inner and not folder and (inner.endswith(DELTA_SUFFIX) or display_name(inner) is None)
    ):
        raise NotFoundError(f"{key!r} is not a file of the store")
    return key


def file_path(request: Request, bucket: str, key: str) -> str:
    """The path (from the server's root) of the download route for one file, every part quoted."""
    return request.url_for(ROUTE_NAME, bucket=quote(bucket, safe=""), key=quote(key, safe="/")).path


@dataclass
class _Rebuild:
    """One rebuild in progress, or done and waiting for its last reader to open it."""

    folder: Path
    done: asyncio.Event = field(default_factory=asyncio.Event)
    readers: int = 0
    summary: GetSummary | None = None
    error: BaseException | None = None
    task: asyncio.Task[None] | None = None

    @property
    def path(self) -> Path:
        return self.folder / "file"

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass(frozen=True)
class Opened:
    """A rebuilt file, open for one reader (its scratch copy may already be unlinked)."""

    file: BinaryIO
    summary: GetSummary


class SharedRebuilds:
    """Rebuilds stored files into scratch files, one rebuild per file for all concurrent readers.

    Every method runs on the event loop (the rebuild itself in a worker thread), so the bookkeeping
    needs no lock."""

    def __init__(self, client: DeltaGliderClient, options: FileOptions) -> None:
        self._client = client
        self._options = options
        self._limiter = anyio.CapacityLimiter(options.max_rebuilds)
        self._pending: dict[tuple[str, str], _Rebuild] = {}

    @property
    def in_progress(self) -> int:
        """Rebuilds running or waiting for readers to open them."""
        return len(self._pending)

    async def open(self, bucket: str, key: str) -> Opened:
        """The file rebuilt, open: ``NotFoundError`` and the rebuild's other errors are raised."""
        name = (bucket, key)
        rebuild = self._pending.get(name)
        if rebuild is None:
            rebuild = self._pending[name] = _Rebuild(
                Path(tempfile.mkdtemp(prefix="dg-serve-", dir=self._options.scratch_dir))
            )
            rebuild.task = asyncio.get_running_loop().create_task(self._run(name, rebuild))
        elif self._options.on_shared is not None:
            self._options.on_shared()
        rebuild.readers += 1
        try:
            await rebuild.done.wait()
            if rebuild.error is not None:
                raise rebuild.error
            assert rebuild.summary is not None
            return Opened(rebuild.path.open("rb"), rebuild.summary)
        finally:
            rebuild.readers -= 1
            self._release(name, rebuild)

    async def _run(self, name: tuple[str, str], rebuild: _Rebuild) -> None:
        bucket, key = name
        started = time.monotonic()
        try:
            rebuild.summary = await anyio.to_thread.run_sync(
                self._client.download, f"s3://{bucket}/{key}", rebuild.path, limiter=self._limiter
            )
        except Exception as exc:  # every reader hears it
            rebuild.error = exc
        else:
            if self._options.on_rebuild is not None:
                self._options.on_rebuild(time.monotonic() - started, rebuild.summary)
        finally:
            rebuild.done.set()
            self._release(name, rebuild)

    def _release(self, name: tuple[str, str], rebuild: _Rebuild) -> None:
        """Forgets the rebuild, and removes its scratch file, once done and opened by every reader
        that waited for it (the readers' open files keep its bytes)."""
        if rebuild.done.is_set() and rebuild.readers == 0 and self._pending.get(name) is rebuild:
            del self._pending[name]
            rebuild.discard()


def _disposition(name: str) -> str:
    """``attachment`` with the name both as plain ASCII and, exactly, as RFC 5987 UTF-8."""
    plain = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _headers(name: str, size: int, sha256: str | None) -> dict[str, str]:
    headers = {
        "content-length": str(size),
        "content-type": mimetypes.guess_type(name)[0] or "application/octet-stream",
        "content-disposition": _disposition(name),
    }
    if sha256:
        headers["etag"] = f'"{sha256}"'
    return headers


class _OpenedFileResponse(Response):
    """Streams an open file in chunks and closes it, however the response ends (a reader that goes
    away stops the reads at once: the server would otherwise drop the chunks silently)."""

    def __init__(self, opened: Opened, name: str, chunk_size: int) -> None:
        super().__init__(headers=_headers(name, os.fstat(opened.file.fileno()).st_size, opened.summary.hash))
        self._file = opened.file
        self._chunk_size = chunk_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stop_on_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(stop_on_disconnect)
                await self._stream(send)
                group.cancel_scope.cancel()
        finally:
            self._file.close()

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        while chunk := await anyio.to_thread.run_sync(self._file.read, self._chunk_size):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class FileServer:
    """The download route's endpoint over one client."""

    def __init__(self, client: DeltaGliderClient, options: FileOptions | None = None) -> None:
        self._client = client
        self._options = options or FileOptions()
        self.rebuilds = SharedRebuilds(client, self._options)

    async def endpoint(self, request: Request) -> Response:
        bucket, key = request.path_params["bucket"], request.path_params["key"]
        try:
            check_component(bucket, "bucket")
            safe_key(key)
            if request.method == "HEAD":
                head = await anyio.to_thread.run_sync(self._client.head, f"s3://{bucket}/{key}")
                if head.size is None:
                    return Response(status_code=200, headers={"content-type": "application/octet-stream"})
                return Response(status_code=200, headers=_headers(key, head.size, head.sha256))
            opened = await self.rebuilds.open(bucket, key)
        except InvalidURLError as exc:
            return PlainTextResponse(f"bad name: {exc}\n", status_code=400)
        except NotFoundError:
            return PlainTextResponse("no such file\n", status_code=404)
        except DeltaGliderError as exc:
            return PlainTextResponse(
                f"the file could not be rebuilt: {type(exc).__name__}\n", status_code=502
            )
        return _OpenedFileResponse(opened, key.rpartition("/")[2], self._options.chunk_size)


def routes(client: DeltaGliderClient, options: FileOptions | None = None) -> list[BaseRoute]:
    """``GET``/``HEAD /files/{bucket}/{key}``: one stored file, rebuilt and streamed."""
    server = FileServer(client, options)
    return [Route("/files/{bucket}/{key:path}", server.endpoint, methods=["GET", "HEAD"], name=ROUTE_NAME)]
