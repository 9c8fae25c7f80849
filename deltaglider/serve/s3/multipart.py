"""Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload.

Each part is spooled to its own file in the upload's folder under the server's scratch (checked as it
arrives, never held in memory). Completion checks the parts named against those received (numbers
ascending, ETags matching, every part but the last at least ``min_part_bytes``), joins them into one
file a chunk at a time, removing each part once copied (so the disk holds about one copy of the
file), and stores that through the SDK's upload, as a delta where it can be. While that runs the
answer is already under way: whitespace keeps the client's read timeout from firing, as S3 does, and
an error then comes as an XML error document inside the 200 (which S3's SDKs read as the error).

Uploads in progress live in this process: a restart forgets them (their parts are in its scratch).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import anyio.to_thread
from starlette.responses import Response

from deltaglider.serve.body import request_document, spool_request
from deltaglider.serve.s3.context import Call, S3Server
from deltaglider.serve.s3.errors import S3Error
from deltaglider.serve.s3.headers import user_metadata
from deltaglider.serve.s3.keys import check_bucket_name, check_object_key
from deltaglider.serve.s3.streams import KeepAlive
from deltaglider.serve.s3.xmldoc import child_text, children, document, local, parse

#: Seconds between the whitespace bytes of a completion's answer.
KEEPALIVE_SECONDS: Final = 10.0
_COPY_CHUNK: Final = 1024 * 1024


@dataclass
class Part:
    path: Path
    size: int
    etag: str  # quoted MD5, as S3 gives a part's


@dataclass
class Upload:
    bucket: str
    key: str
    folder: Path
    metadata: dict[str, str]
    content_type: str | None
    parts: dict[int, Part] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    completing: bool = False


class Uploads:
    """The uploads in progress, by upload id."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._uploads: dict[str, Upload] = {}

    def start(self, bucket: str, key: str, metadata: dict[str, str], content_type: str | None) -> str:
        upload_id = secrets.token_urlsafe(24)
        folder = Path(tempfile.mkdtemp(prefix="upload-", dir=self.folder))
        self._uploads[upload_id] = Upload(bucket, key, folder, metadata, content_type)
        return upload_id

    def get(self, upload_id: str, bucket: str, key: str) -> Upload:
        upload = self._uploads.get(upload_id)
        if upload is None or upload.bucket != bucket or upload.key != key:
            raise S3Error(
                "NoSuchUpload",
                "The specified upload does not exist (a wrong ID, or an upload aborted or completed).",
                UploadId=upload_id,
            )
        return upload

    def end(self, upload_id: str) -> None:
        upload = self._uploads.pop(upload_id, None)
        if upload is not None:
            shutil.rmtree(upload.folder, ignore_errors=True)

    def close(self) -> None:
        for upload_id in list(self._uploads):
            self.end(upload_id)


def _names(call: Call) -> tuple[str, str]:
    return check_bucket_name(call.bucket), check_object_key(call.key)


async def create_upload(server: S3Server, call: Call) -> Response:
    bucket, key = _names(call)
    if not await anyio.to_thread.run_sync(server.store.bucket_exists, bucket):
        raise S3Error("NoSuchBucket", "The specified bucket does not exist", BucketName=bucket)
    upload_id = server.uploads.start(
        bucket, key, user_metadata(call.request.headers), call.request.headers.get("content-type")
    )
    body = document(
        "InitiateMultipartUploadResult", [("Bucket", bucket), ("Key", key), ("UploadId", upload_id)]
    )
    return Response(body, media_type="application/xml")


async def upload_part(server: S3Server, call: Call) -> Response:
    bucket, key = _names(call)
    upload = server.uploads.get(call.query["uploadId"], bucket, key)
    number_text = call.query.get("partNumber", "")
    if not number_text.isdigit() or not 1 <= int(number_text) <= server.settings.max_parts:
        raise S3Error(
            "InvalidArgument",
            f"Part number must be an integer between 1 and {server.settings.max_parts}",
            ArgumentName="partNumber",
        )
    if "x-amz-copy-source" in call.request.headers:
        raise S3Error("NotImplemented", "UploadPartCopy is not supported by this server.")
    number = int(number_text)
    fd, name = tempfile.mkstemp(prefix=f"part-{number:05d}-", dir=upload.folder)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            spooled = await spool_request(server, call, out, limit=server.settings.max_object_bytes)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    etag = f'"{spooled.md5}"'
    async with upload.lock:
        if server.uploads.get(call.query["uploadId"], bucket, key) is not upload:
            path.unlink(missing_ok=True)
            raise S3Error("NoSuchUpload", "The upload ended while this part was sent.")
        if upload.completing:
            path.unlink(missing_ok=True)
            raise S3Error("InvalidRequest", "This upload is being completed: no more parts.")
        previous = upload.parts.get(number)
        upload.parts[number] = Part(path, spooled.size, etag)
    if previous is not None:
        previous.path.unlink(missing_ok=True)
    return Response(status_code=200, headers={"etag": etag})


def _chosen_parts(server: S3Server, upload: Upload, body: bytes) -> list[Part]:
    try:
        root = parse(body)
    except ValueError as exc:
        raise S3Error("MalformedXML", f"The XML you provided was not well-formed: {exc}") from None
    if local(root.tag) != "CompleteMultipartUpload":
        raise S3Error("MalformedXML", "The XML you provided is not a CompleteMultipartUpload document.")
    chosen: list[Part] = []
    last_number = 0
    for element in children(root, "Part"):
        number_text = (child_text(element, "PartNumber") or "").strip()
        etag = (child_text(element, "ETag") or "").strip()
        if not number_text.isdigit():
            raise S3Error("MalformedXML", "Each Part needs a PartNumber.")
        number = int(number_text)
        if number <= last_number:
            raise S3Error("InvalidPartOrder", "The list of parts was not in ascending order.")
        last_number = number
        part = upload.parts.get(number)
        if part is None or etag.strip('"') != part.etag.strip('"'):
            raise S3Error(
                "InvalidPart",
                f"Part {number} was not uploaded, or its ETag does not match.",
                PartNumber=str(number),
            )
        chosen.append(part)
    if not chosen:
        raise S3Error("MalformedXML", "A CompleteMultipartUpload names at least one part.")
    for part in chosen[:-1]:
        if part.size < server.settings.min_part_bytes:
            raise S3Error(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
                MinSizeAllowed=str(server.settings.min_part_bytes),
            )
    return chosen


def _join(parts: list[Part], target: Path) -> None:
    with open(target, "wb") as out:
        for part in parts:
            with open(part.path, "rb") as source:
                shutil.copyfileobj(source, out, _COPY_CHUNK)
            part.path.unlink()


async def complete_upload(server: S3Server, call: Call) -> Response:
    bucket, key = _names(call)
    upload_id = call.query["uploadId"]
    upload = server.uploads.get(upload_id, bucket, key)
    body = await request_document(server, call)
    async with upload.lock:
        if upload.completing:
            raise S3Error("InvalidRequest", "This upload is being completed already.")
        parts = _chosen_parts(server, upload, body)
        upload.completing = True

    async def finish() -> bytes:
        try:
            target = upload.folder / "joined"
            await anyio.to_thread.run_sync(_join, parts, target)
            async with server.writes:
                etag = await anyio.to_thread.run_sync(
                    lambda: server.store.put(
                        bucket, key, target, metadata=upload.metadata, content_type=upload.content_type
                    )
                )
        except S3Error as exc:
            server.uploads.end(upload_id)  # its parts are spent (joined): it cannot be completed again
            return exc.body(upload_id)
        except Exception as exc:  # the answer is under way: the error goes in its body
            server.uploads.end(upload_id)
            return S3Error("InternalError", f"{type(exc).__name__}: {exc}").body(upload_id)
        server.uploads.end(upload_id)
        return document(
            "CompleteMultipartUploadResult",
            [("Location", f"/{bucket}/{key}"), ("Bucket", bucket), ("Key", key), ("ETag", etag)],
        )

    return KeepAlive(finish, interval=KEEPALIVE_SECONDS)


async def abort_upload(server: S3Server, call: Call) -> Response:
    bucket, key = _names(call)
    upload_id = call.query["uploadId"]
    server.uploads.get(upload_id, bucket, key)
    server.uploads.end(upload_id)
    return Response(status_code=204)
