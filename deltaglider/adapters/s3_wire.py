"""How objects look on the wire to S3: metadata headers, ETags, part sizes, checksums, responses
read back as ``ObjectHead``s, lifecycle rules as S3's JSON."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deltaglider.errors import StorageError
from deltaglider.ports.storage import LifecycleRule, ObjectHead

#: A file is read this much at a time.
CHUNK = 1024 * 1024

# S3's multipart limits: parts of at least 5 MiB (except the last), at most 5 GiB, at most 10,000.
_MIN_PART_SIZE = 5 * 1024 * 1024
_MAX_PART_SIZE = 5 * 1024 * 1024 * 1024
_MAX_PARTS = 10_000


def strip_etag(etag: str | None) -> str | None:
    # S3 quotes ETags in headers and listings alike; callers compare them, so store them bare.
    return etag.strip('"') if etag else None


def s3_metadata(bucket: str, key: str, metadata: Mapping[str, str]) -> dict[str, str]:
    """User metadata as S3 stores it: lowercase keys, ASCII values (they travel as HTTP headers).

    S3 would lowercase the keys anyway; doing it here makes what we send equal what HEAD returns.
    Non-ASCII values are refused here with a clear message instead of failing inside the HTTP layer
    or being mangled by the store.
    """
    result: dict[str, str] = {}
    for name, value in metadata.items():
        if not (name.isascii() and value.isascii()):
            raise StorageError(
                f"PutObject s3://{bucket}/{key}: metadata {name!r} must be ASCII to travel as an "
                f"S3 header (got {value!r})"
            )
        result[name.lower()] = value
    return result


def part_size(configured: int, file_size: int) -> int:
    """A part size near the configured one that stays within S3's multipart limits."""
    size = min(max(configured, _MIN_PART_SIZE), _MAX_PART_SIZE)
    while -(-file_size // size) > _MAX_PARTS:
        size *= 2
    return min(size, _MAX_PART_SIZE)


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def md5_file_b64(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def head_from_response(bucket: str, key: str, response: Mapping[str, Any], size: int) -> ObjectHead:
    return ObjectHead(
        bucket=bucket,
        key=key,
        size=size,
        metadata={name.lower(): value for name, value in response.get("Metadata", {}).items()},
        etag=strip_etag(response.get("ETag")),
        last_modified=response.get("LastModified"),
    )


def total_size(response: Mapping[str, Any]) -> int:
    """The whole object's size from a GET response (``Content-Range: bytes a-b/total`` for a ranged one)."""
    content_range = str(response.get("ContentRange") or "")
    if "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    return int(response["ContentLength"])


def lifecycle_filter(rule: LifecycleRule) -> dict[str, Any]:
    tags = [{"Key": name, "Value": value} for name, value in sorted(rule.tags.items())]
    if not tags:
        return {"Prefix": rule.prefix}
    if len(tags) == 1 and not rule.prefix:
        return {"Tag": tags[0]}
    return {"And": {"Prefix": rule.prefix, "Tags": tags}}


def lifecycle_rule(rule: LifecycleRule) -> dict[str, Any]:
    s3_rule: dict[str, Any] = {"ID": rule.rule_id, "Status": "Enabled", "Filter": lifecycle_filter(rule)}
    if rule.archive_after_days is not None:
        s3_rule["Transitions"] = [{"Days": rule.archive_after_days, "StorageClass": rule.archive_class}]
    if rule.expire_after_days is not None:
        s3_rule["Expiration"] = {"Days": rule.expire_after_days}
    return s3_rule
