"""Makes moto verify upload checksums as S3 does.

moto 5.2.1 stores whatever body arrives: it records ``x-amz-checksum-*`` and ``Content-MD5`` but never
compares them with the body (``test_moto_alone_stores_a_corrupted_body`` pins that). S3 refuses such a
request with 400 ``BadDigest``. ``verify_upload_checksums`` wraps moto's PutObject and UploadPart
handlers to do the same, for the checksum in a header or in an aws-chunked trailer, so the tests can
show that a body corrupted in flight is refused. Requests without a checksum pass unchecked, as on S3.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

_TRAILER_RE = re.compile(rb"x-amz-checksum-(crc32c|crc32|sha1|sha256):([A-Za-z0-9+/=]+)")


def _digest(algorithm: str, body: bytes) -> str:
    if algorithm == "crc32":
        raw = binascii.crc32(body).to_bytes(4, "big")
    elif algorithm == "sha1":
        raw = hashlib.sha1(body).digest()
    elif algorithm == "sha256":
        raw = hashlib.sha256(body).digest()
    else:
        return ""  # crc32c needs a library moto may not have: not checked
    return base64.b64encode(raw).decode()


def _claimed(response: Any) -> tuple[str, str] | None:
    """(algorithm, value) the client sent, from a header or the trailer of an aws-chunked body."""
    headers = response.headers
    for name in ("crc32", "crc32c", "sha1", "sha256"):
        value = headers.get(f"x-amz-checksum-{name}")
        if value:
            return name, value
    if headers.get("x-amz-trailer"):
        found = _TRAILER_RE.search(response.raw_body or b"")
        if found:
            return found.group(1).decode(), found.group(2).decode()
    return None


def _check(response: Any) -> None:
    from moto.s3.exceptions import S3ClientError

    body = response.body if isinstance(response.body, bytes) else bytes(response.body or b"")
    md5 = response.headers.get("Content-MD5")
    if md5 and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
        raise S3ClientError("BadDigest", "The Content-MD5 you specified did not match what we received.")
    claimed = _claimed(response)
    if claimed is not None:
        algorithm, value = claimed
        actual = _digest(algorithm, body)
        if actual and actual != value:
            raise S3ClientError(
                "BadDigest", f"The {algorithm.upper()} you specified did not match the calculated checksum."
            )


def verify_upload_checksums(set_attr: Callable[[Any, str, Any], None] = setattr) -> None:
    """Patch moto's S3 handlers (pass ``monkeypatch.setattr`` to undo it after a test)."""
    from moto.s3.responses import S3Response

    for name in ("put_object", "upload_part"):
        original = getattr(S3Response, name)
        if getattr(original, "_dg_verifies", False):
            continue

        @functools.wraps(original)
        def verified(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            _check(self)
            return _original(self, *args, **kwargs)

        verified._dg_verifies = True  # type: ignore[attr-defined]
        set_attr(S3Response, name, verified)
