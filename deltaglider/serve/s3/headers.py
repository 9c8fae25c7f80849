"""Headers of object answers and uploads: S3's date form, user metadata as ``x-amz-meta-*``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Final

from deltaglider.serve.store import FileHead

META_PREFIX: Final = "x-amz-meta-"


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def object_headers(head: FileHead) -> dict[str, str]:
    """ETag, Last-Modified, Content-Type, Accept-Ranges and the user's metadata of a GET or HEAD."""
    headers = {"etag": head.etag, "accept-ranges": "bytes", "content-type": head.content_type}
    if head.last_modified is not None:
        headers["last-modified"] = http_date(head.last_modified)
    for name, value in head.metadata.items():
        if value.isascii() and "\n" not in value and "\r" not in value:
            headers[META_PREFIX + name] = value
    return headers


def user_metadata(headers: Any) -> dict[str, str]:
    """The ``x-amz-meta-*`` of a request, by their names without the prefix."""
    return {
        name[len(META_PREFIX) :].lower(): value
        for name, value in headers.items()
        if name.lower().startswith(META_PREFIX)
    }


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
