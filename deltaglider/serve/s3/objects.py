"""Object requests: HeadObject, GetObject (ranges, conditions), PutObject, DeleteObject.

A GET rebuilds the file once for every reader asking for the same version at once
(:mod:`deltaglider.serve.rebuilds`) and streams it from the finished file. A PUT spools its body to
the server's scratch folder, checked as it arrives, and stores it through the SDK's upload (a delta
where it can be).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any, Final

import anyio.to_thread
from starlette.responses import Response

from deltaglider.serve.body import spool_request
from deltaglider.serve.s3.context import Call, S3Server
from deltaglider.serve.s3.errors import S3Error
from deltaglider.serve.s3.headers import object_headers, user_metadata
from deltaglider.serve.s3.keys import check_bucket_name, check_object_key
from deltaglider.serve.s3.ranges import parse_range
from deltaglider.serve.s3.streams import FileStream
from deltaglider.serve.store import FileHead, Rebuilt

#: GETs retried when the name was written again between its HEAD and its rebuild.
_ATTEMPTS: Final = 3


def _etags(text: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in text.split(",")}


def check_conditions(call: Call, head: FileHead) -> Response | None:
    """S3's If-Match / If-None-Match answers (412, 304), or None to go on."""
    headers = call.request.headers
    if_match = headers.get("if-match")
    if if_match is not None and "*" not in _etags(if_match) and head.etag not in _etags(if_match):
        raise S3Error(
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            Condition="If-Match",
        )
    if_none = headers.get("if-none-match")
    if if_none is not None and ("*" in _etags(if_none) or head.etag in _etags(if_none)):
        return Response(status_code=304, headers={"etag": head.etag})
    return None


async def head_object(server: S3Server, call: Call) -> Response:
    head = await anyio.to_thread.run_sync(
        server.store.head, check_bucket_name(call.bucket), check_object_key(call.key)
    )
    answered = check_conditions(call, head)
    if answered is not None:
        return answered
    headers = object_headers(head)
    span = parse_range(call.request.headers.get("range"), head.size)
    if span is None:
        return Response(status_code=200, headers={**headers, "content-length": str(head.size)})
    first, last = span
    headers["content-range"] = f"bytes {first}-{last}/{head.size}"
    return Response(status_code=206, headers={**headers, "content-length": str(last - first + 1)})


async def get_object(server: S3Server, call: Call) -> Response:
    bucket, key = check_bucket_name(call.bucket), check_object_key(call.key)
    for _ in range(_ATTEMPTS):
        head = await anyio.to_thread.run_sync(server.store.head, bucket, key)
        answered = check_conditions(call, head)
        if answered is not None:
            return answered
        parse_range(call.request.headers.get("range"), head.size)  # 416 before any rebuild
        lease = server.rebuilds.file(bucket, key, head.version, server.store.rebuild)
        rebuilt = await lease.__aenter__()
        if head.sha256 is not None and rebuilt.sha256 != head.sha256:
            await lease.__aexit__(None, None, None)  # written again meanwhile: look it up afresh
            continue
        try:
            span = parse_range(call.request.headers.get("range"), rebuilt.size)
        except S3Error:
            await lease.__aexit__(None, None, None)
            raise
        return _streamed(server, rebuilt, span, object_headers(head), lease)
    raise S3Error("InternalError", "The object kept changing while it was read; try again.", status=503)


async def head_version(server: S3Server, call: Call) -> Response:
    """HeadObject of one version of a name (its history: ``keep_history``)."""
    bucket, key = check_bucket_name(call.bucket), check_object_key(call.key)
    version_id = call.query["versionId"]
    head = await anyio.to_thread.run_sync(server.store.version_head, bucket, key, version_id)
    headers = {**object_headers(head), "x-amz-version-id": version_id}
    return Response(status_code=200, headers={**headers, "content-length": str(head.size)})


async def get_version(server: S3Server, call: Call) -> Response:
    """GetObject of one version of a name: rebuilt for this request alone (an old version is rarely
    read by many at once), then streamed; a ``Range`` is served from the rebuilt file."""
    bucket, key = check_bucket_name(call.bucket), check_object_key(call.key)
    version_id = call.query["versionId"]
    head = await anyio.to_thread.run_sync(server.store.version_head, bucket, key, version_id)
    parse_range(call.request.headers.get("range"), head.size)  # 416 before any rebuild
    folder = Path(tempfile.mkdtemp(prefix="version-", dir=server.scratch))
    try:
        rebuilt = await anyio.to_thread.run_sync(
            server.store.rebuild_version, bucket, key, version_id, folder / "file"
        )
        span = parse_range(call.request.headers.get("range"), rebuilt.size)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    headers = {**object_headers(head), "x-amz-version-id": version_id}
    return _streamed(server, rebuilt, span, headers, _Removed(folder))


def _streamed(
    server: S3Server,
    rebuilt: Rebuilt,
    span: tuple[int, int] | None,
    headers: dict[str, str],
    lease: contextlib.AbstractAsyncContextManager[Any],
) -> FileStream:
    """The rebuilt file's bytes (``span``'s, with 206 and ``Content-Range``), holding ``lease`` until
    the last is sent."""
    first, last, status = 0, rebuilt.size - 1, 200
    if span is not None:
        first, last = span
        status = 206
        headers["content-range"] = f"bytes {first}-{last}/{rebuilt.size}"
    return FileStream(
        rebuilt.path,
        first,
        last - first + 1,
        lease=lease,
        status_code=status,
        headers=headers,
        chunk_bytes=server.settings.chunk_bytes,
    )


class _Removed(contextlib.AbstractAsyncContextManager[Path]):
    """The lease of a file rebuilt for one response: its folder goes when the response ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def __aenter__(self) -> Path:
        return self.folder

    async def __aexit__(self, *exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


async def put_object(server: S3Server, call: Call) -> Response:
    bucket, key = check_bucket_name(call.bucket), check_object_key(call.key)
    if "x-amz-copy-source" in call.request.headers:
        raise S3Error("NotImplemented", "CopyObject is not supported by this server.")
    metadata = user_metadata(call.request.headers)
    content_type = call.request.headers.get("content-type")
    with tempfile.TemporaryDirectory(prefix="put-", dir=server.scratch) as folder:
        path = Path(folder) / "body"
        with open(path, "wb") as out:
            await spool_request(server, call, out, limit=server.settings.max_object_bytes)
        async with server.writes:
            etag = await anyio.to_thread.run_sync(
                lambda: server.store.put(bucket, key, path, metadata=metadata, content_type=content_type)
            )
    return Response(status_code=200, headers={"etag": etag})


async def delete_object(server: S3Server, call: Call) -> Response:
    bucket, key = check_bucket_name(call.bucket), check_object_key(call.key)
    await anyio.to_thread.run_sync(server.store.delete, bucket, key)
    return Response(status_code=204)
