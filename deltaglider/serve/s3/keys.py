"""Bucket and key names as they arrive in a path-style request (``/bucket/key``), refusing those that
could step out of their folder in a folder store: ``.`` or ``..`` components (also once more
percent-encoded, ``%2e%2e``), backslashes, NUL, empty components."""

from __future__ import annotations

import re
import urllib.parse
from typing import Final

from deltaglider.errors import InvalidURLError
from deltaglider.serve.s3.errors import S3Error
from deltaglider.urls import check_relative_key

#: S3's own limit on a key's length, in UTF-8 bytes.
MAX_KEY_BYTES: Final = 1024
#: What botocore lets through as a bucket name (a folder store's folders may hold capitals).
_BUCKET: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]{0,254}")


def split_path(raw_path: bytes) -> tuple[str, str]:
    """(bucket, key) of a path-style request's raw path, decoded once; either may be empty."""
    try:
        path = urllib.parse.unquote(raw_path.decode("ascii"), encoding="utf-8", errors="strict")
    except UnicodeError:
        raise S3Error("InvalidURI", "Couldn't parse the specified URI.") from None
    bucket, _, key = path.removeprefix("/").partition("/")
    return bucket, key


def check_bucket_name(bucket: str) -> str:
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise S3Error("InvalidBucketName", "The specified bucket is not valid.", BucketName=bucket)
    return bucket


def check_object_key(key: str) -> str:
    """The key, or ``InvalidArgument`` (400) for one that is not a safe relative name."""
    why = _refusal(key)
    if why is not None:
        raise S3Error("InvalidArgument", f"Invalid key: {why}", ArgumentName="key")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: no ``.``/``..`` component (encoded or not), backslash or NUL."""
    if "\\" in prefix or "\x00" in prefix or prefix.startswith("/"):
        raise S3Error(
            "InvalidArgument", "Invalid prefix: a backslash, NUL or leading /", ArgumentName="prefix"
        )
    if any(urllib.parse.unquote(part) in (".", "..") for part in prefix.split("/")):
        raise S3Error("InvalidArgument", "Invalid prefix: a . or .. component", ArgumentName="prefix")
    return prefix


def _refusal(key: str) -> str | None:
    if not key:
        return "it is empty"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return f"it is longer than {MAX_KEY_BYTES} bytes"
    if "\x00" in key:
        return "it holds a NUL"
    for component in key.split("/"):
        if urllib.parse.unquote(component) in (".", ".."):
            return "it holds a . or .. component (or an encoded one)"
    try:
        check_relative_key(key.rstrip("/") if key.endswith("/") else key, "key")
    except InvalidURLError as exc:
        return str(exc)
    return None
