"""Request bodies, spooled to a file a chunk at a time (never whole in memory), and checked as S3 checks
them: no more and no fewer bytes than declared, the declared SHA-256 (``x-amz-content-sha256``),
``Content-MD5``, and the ``x-amz-checksum-*`` a client adds (CRC32, SHA-1 and SHA-256 are verified; a
kind we cannot compute is taken on trust).

An ``aws-chunked`` body (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: each chunk signed, chaining from the
request's signature; ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``: unsigned chunks and a checksum trailer) is
decoded as it arrives; its decoded length must be ``x-amz-decoded-content-length``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import tempfile
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import anyio.to_thread

from deltaglider.serve.s3.errors import S3Error
from deltaglider.serve.sigv4 import (
    STREAMING_SIGNED,
    STREAMING_UNSIGNED_TRAILER,
    ChunkSigner,
    Verified,
)

if TYPE_CHECKING:
    from deltaglider.serve.s3.context import Call, S3Server

#: The longest chunk header or trailer line of an aws-chunked body.
_MAX_LINE: Final = 4096
_CHECKSUM_PREFIX: Final = "x-amz-checksum-"


class _Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


_CHECKSUMS: Final[dict[str, Callable[[], Any]]] = {
    "crc32": _Crc32,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
}


@dataclass
class Spooled:
    """A body written to its file: its length and MD5 (S3's ETag of an upload's part)."""

    size: int
    md5: str


@dataclass
class _Digests:
    """The hashes computed over the decoded body as it is written."""

    md5: Any = field(default_factory=lambda: hashlib.md5(usedforsecurity=False))
    sha256: Any = None
    checksums: dict[str, Any] = field(default_factory=dict)

    def update(self, data: bytes) -> None:
        self.md5.update(data)
        if self.sha256 is not None:
            self.sha256.update(data)
        for digest in self.checksums.values():
            digest.update(data)


class ChunkedDecoder:
    """An aws-chunked body, fed as it arrives: ``feed`` returns the decoded data, checking each chunk's
    signature when the body is signed; ``trailers`` holds the trailing headers once ``finish`` passed."""

    def __init__(self, signer: ChunkSigner | None) -> None:
        self._signer = signer
        self._buffer = b""
        self._remaining = 0
        self._state = "header"
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()
        self.trailers: dict[str, str] = {}

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        self._buffer += data
        while self._buffer and self._state != "done":
            if self._state == "data":
                piece = self._buffer[: self._remaining]
                self._buffer = self._buffer[len(piece) :]
                self._remaining -= len(piece)
                self._chunk_hash.update(piece)
                out.append(piece)
                if self._remaining == 0:
                    self._end_chunk()
                    self._state = "crlf"
                continue
            line = self._line()
            if line is None:
                break
            if self._state == "crlf":
                if line:
                    raise _malformed("a chunk's data is not followed by CRLF")
                self._state = "header"
            elif self._state == "header":
                self._start_chunk(line)
            elif not line:  # trailer lines, up to an empty one
                self._state = "done"
            else:
                name, colon, value = line.partition(":")
                if not colon:
                    raise _malformed(f"a trailer line without a colon: {line[:64]!r}")
                self.trailers[name.strip().lower()] = value.strip()
        if self._state == "done" and self._buffer.strip(b"\r\n"):
            raise _malformed("data after the body's last chunk")
        return out

    def finish(self) -> None:
        if self._state != "done":
            raise S3Error("IncompleteBody", "The request body ended before its last chunk.")

    def _line(self) -> str | None:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_LINE:
                raise _malformed("a chunk header or trailer line is too long")
            return None
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line.decode("latin-1")

    def _start_chunk(self, line: str) -> None:
        size_text, _, extension = line.partition(";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise _malformed(f"a chunk size that is not hexadecimal: {size_text[:32]!r}") from None
        name, _, signature = extension.partition("=")
        if self._signer is not None and name.strip() != "chunk-signature":
            raise S3Error("SignatureDoesNotMatch", "A chunk of a signed body carries no chunk-signature.")
        self._chunk_signature = signature.strip()
        self._chunk_hash = hashlib.sha256()
        self._remaining = size
        if size == 0:
            self._end_chunk()
            self._state = "trailer"
        else:
            self._state = "data"

    def _end_chunk(self) -> None:
        if self._signer is not None:
            self._signer.check(self._chunk_signature, self._chunk_hash.hexdigest())


def _malformed(why: str) -> S3Error:
    return S3Error("IncompleteBody", f"The aws-chunked body is malformed: {why}.")


def declared_length(headers: Any) -> int:
    """The request's Content-Length; ``MissingContentLength`` when it gives none (as S3 requires)."""
    text = headers.get("content-length")
    if text is None or not text.strip().isdigit():
        raise S3Error("MissingContentLength", "You must provide the Content-Length HTTP header.")
    return int(text)


async def spool(
    stream: AsyncIterator[bytes],
    headers: Any,
    verified: Verified | None,
    out: BinaryIO,
    *,
    limit: int,
    chunk_bytes: int,
) -> Spooled:
    """Writes the body of a request to ``out`` and checks it (module doc); ``limit``: the most bytes
    the decoded body may hold (``EntityTooLarge`` past it)."""
    declared = declared_length(headers)
    payload = verified.payload if verified is not None else "UNSIGNED-PAYLOAD"
    decoder: ChunkedDecoder | None = None
    expected_size = declared
    if payload in (STREAMING_SIGNED, STREAMING_UNSIGNED_TRAILER):
        assert verified is not None
        decoder = ChunkedDecoder(verified.chunk_signer() if payload == STREAMING_SIGNED else None)
        decoded = headers.get("x-amz-decoded-content-length")
        if decoded is None or not decoded.strip().isdigit():
            raise S3Error("MissingContentLength", "An aws-chunked body needs x-amz-decoded-content-length.")
        expected_size = int(decoded)
    if expected_size > limit:
        raise S3Error(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size.",
            MaxSizeAllowed=str(limit),
        )
    digests = _Digests()
    if len(payload) == 64:  # a hex SHA-256 (the signature checked its form)
        digests.sha256 = hashlib.sha256()
    wanted = {
        name[len(_CHECKSUM_PREFIX) :]: value
        for name, value in headers.items()
        if name.lower().startswith(_CHECKSUM_PREFIX) and name.lower() != "x-amz-checksum-type"
    }
    trailer_names = headers.get("x-amz-trailer", "")
    for name in [
        *wanted,
        *(n.strip().lower()[len(_CHECKSUM_PREFIX) :] for n in trailer_names.split(",") if n.strip()),
    ]:
        if name in _CHECKSUMS:
            digests.checksums[name] = _CHECKSUMS[name]()
    received = 0
    size = 0
    pending: list[bytes] = []
    pending_bytes = 0

    async def flush() -> None:
        nonlocal pending, pending_bytes
        data = b"".join(pending)
        pending, pending_bytes = [], 0
        await anyio.to_thread.run_sync(_write, out, digests, data)

    async for data in stream:
        received += len(data)
        if received > declared:
            raise S3Error("IncompleteBody", "The request body is longer than its Content-Length.")
        pieces = decoder.feed(data) if decoder is not None else [data]
        for piece in pieces:
            size += len(piece)
            if size > expected_size:
                raise S3Error("IncompleteBody", "The request body is longer than it declared.")
            pending.append(piece)
            pending_bytes += len(piece)
        if pending_bytes >= chunk_bytes:
            await flush()
    await flush()
    if received < declared or size < expected_size:
        raise S3Error(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        )
    if decoder is not None:
        decoder.finish()
        wanted.update(
            {
                name[len(_CHECKSUM_PREFIX) :]: value
                for name, value in decoder.trailers.items()
                if name.startswith(_CHECKSUM_PREFIX)
            }
        )
    _check(digests, payload, headers.get("content-md5"), wanted)
    return Spooled(size=size, md5=digests.md5.hexdigest())


def _write(out: BinaryIO, digests: _Digests, data: bytes) -> None:
    digests.update(data)
    out.write(data)


def _check(digests: _Digests, payload: str, content_md5: str | None, wanted: dict[str, str]) -> None:
    if digests.sha256 is not None and digests.sha256.hexdigest() != payload:
        raise S3Error(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    if content_md5 is not None:
        try:
            given = base64.b64decode(content_md5, validate=True)
        except binascii.Error:
            raise S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.") from None
        if given != digests.md5.digest():
            raise S3Error("BadDigest", "The Content-MD5 you specified did not match what we received.")
    for name, digest in digests.checksums.items():
        value = wanted.get(name)
        if value is not None and base64.b64encode(digest.digest()).decode() != value.strip():
            raise S3Error(
                "BadDigest", f"The {name.upper()} you specified did not match the calculated checksum."
            )


async def spool_request(server: S3Server, call: Call, out: BinaryIO, *, limit: int) -> Spooled:
    """:func:`spool` of the request ``call`` carries, at most ``limit`` bytes, in the server's chunks."""
    return await spool(
        call.request.stream(),
        call.request.headers,
        call.verified,
        out,
        limit=limit,
        chunk_bytes=server.settings.chunk_bytes,
    )


async def request_document(server: S3Server, call: Call) -> bytes:
    """The request's XML body (DeleteObjects, CompleteMultipartUpload), checked as any body is and
    at most ``max_xml_bytes``: spooled to the server's scratch, then read whole."""
    with tempfile.TemporaryFile(dir=server.scratch) as buffer:
        await spool_request(server, call, buffer, limit=server.settings.max_xml_bytes)
        buffer.seek(0)
        return buffer.read()
