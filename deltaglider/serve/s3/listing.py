"""Bucket listings: ListObjectsV2 (and the older ListObjects, which some tools still use), over the
client's listing, which shows files under their own names and sizes and hides what deltaglider keeps
for itself. Each file's ETag is the one its GET gives (its SHA-256 where recorded), looked up 16 at
once; ``encoding-type=url`` percent-encodes keys and prefixes in the answer, as S3 does."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Final

import anyio.to_thread
from starlette.responses import Response

from deltaglider.serve.s3.context import Call, S3Server
from deltaglider.serve.s3.errors import S3Error
from deltaglider.serve.s3.keys import check_bucket_name, check_prefix
from deltaglider.serve.s3.xmldoc import Child, document
from deltaglider.serve.store import Store, is_missing

#: S3's most keys a page, whatever max-keys asks.
PAGE_LIMIT: Final = 1000
_LOOKUPS: Final = 16


def _max_keys(text: str | None) -> int:
    if text is None:
        return PAGE_LIMIT
    if not text.isdigit():
        raise S3Error("InvalidArgument", "max-keys must be a whole number from 0", ArgumentName="max-keys")
    return min(int(text), PAGE_LIMIT)


def _etags(store: Store, bucket: str, contents: list[dict[str, Any]]) -> list[str | None]:
    """Each file's ETag as its GET gives it; None for a file removed since it was listed."""

    def etag(entry: dict[str, Any]) -> str | None:
        try:
            return store.head(bucket, entry["Key"]).etag
        except S3Error as exc:
            if is_missing(exc):
                return None
            raise

    with ThreadPoolExecutor(_LOOKUPS) as pool:
        return list(pool.map(etag, contents))


def _page(store: Store, bucket: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[str | None]]:
    answer = store.list_objects(bucket, **params)
    return answer, _etags(store, bucket, answer.get("Contents", []))


def _entries(
    contents: list[dict[str, Any]], etags: list[str | None], name: Callable[[str], str]
) -> list[Child]:
    """The page's ``Contents`` elements (a file removed since it was listed left out)."""
    entries: list[Child] = []
    for entry, etag in zip(contents, etags, strict=True):
        if etag is None:
            continue
        item: list[Child] = [("Key", name(entry["Key"]))]
        modified = entry.get("LastModified")
        if isinstance(modified, datetime):
            item.append(("LastModified", modified))
        item += [("ETag", etag), ("Size", entry["Size"]), ("StorageClass", "STANDARD")]
        entries.append(("Contents", item))
    return entries


async def list_objects(server: S3Server, call: Call) -> Response:
    bucket = check_bucket_name(call.bucket)
    query = call.query
    v2 = query.get("list-type") == "2"
    prefix = check_prefix(query.get("prefix", ""))
    delimiter = query.get("delimiter", "")
    encoding = query.get("encoding-type")
    if encoding not in (None, "url"):
        raise S3Error("InvalidArgument", "encoding-type must be url", ArgumentName="encoding-type")
    max_keys = _max_keys(query.get("max-keys"))
    params: dict[str, Any] = {"Prefix": prefix, "Delimiter": delimiter, "MaxKeys": max_keys}
    if v2:
        if "continuation-token" in query:
            params["ContinuationToken"] = query["continuation-token"]
        elif query.get("start-after"):
            params["StartAfter"] = query["start-after"]
    elif query.get("marker"):
        params["StartAfter"] = query["marker"]
    answer, etags = await anyio.to_thread.run_sync(_page, server.store, bucket, params)

    def name(text: str) -> str:
        return urllib.parse.quote(text, safe="/") if encoding == "url" else text

    children: list[Child] = [("Name", bucket), ("Prefix", name(prefix))]
    if v2:
        if "continuation-token" in query:
            children.append(("ContinuationToken", query["continuation-token"]))
        if query.get("start-after"):
            children.append(("StartAfter", name(query["start-after"])))
        children.append(("KeyCount", answer.get("KeyCount", 0)))
    else:
        children.append(("Marker", name(query.get("marker", ""))))
    children.append(("MaxKeys", max_keys))
    if delimiter:
        children.append(("Delimiter", name(delimiter)))
    if encoding:
        children.append(("EncodingType", encoding))
    truncated = bool(answer.get("IsTruncated"))
    children.append(("IsTruncated", truncated))
    contents = answer.get("Contents", [])
    prefixes = [entry["Prefix"] for entry in answer.get("CommonPrefixes", [])]
    if truncated:
        if v2:
            children.append(("NextContinuationToken", answer["NextContinuationToken"]))
        elif delimiter:
            last = max([*(entry["Key"] for entry in contents), *prefixes])
            children.append(("NextMarker", name(last)))
    children += _entries(contents, etags, name)
    children += [("CommonPrefixes", [("Prefix", name(text))]) for text in prefixes]
    return Response(document("ListBucketResult", children), media_type="application/xml")


async def list_object_versions(server: S3Server, call: Call) -> Response:
    """ListObjectVersions: each name's current version and those its history keeps (``keep_history``),
    newest first, for the names ``prefix`` starts within its folder; one page, no delete markers (a
    name deleted with its history kept shows its versions, none of them latest)."""
    bucket = check_bucket_name(call.bucket)
    prefix = check_prefix(call.query.get("prefix", ""))
    answer = await anyio.to_thread.run_sync(server.store.versions, bucket, prefix)
    children: list[Child] = [
        ("Name", bucket),
        ("Prefix", prefix),
        ("KeyMarker", ""),
        ("VersionIdMarker", ""),
        ("MaxKeys", PAGE_LIMIT),
        ("IsTruncated", False),
    ]
    for version in answer["Versions"]:
        item: list[Child] = [
            ("Key", version["Key"]),
            ("VersionId", version["VersionId"]),
            ("IsLatest", version["IsLatest"]),
        ]
        if isinstance(version["LastModified"], datetime):
            item.append(("LastModified", version["LastModified"]))
        etag = version["ChecksumSHA256"] or version["VersionId"]
        item += [("ETag", f'"{etag}"'), ("Size", version["Size"]), ("StorageClass", "STANDARD")]
        children.append(("Version", item))
    return Response(document("ListVersionsResult", children), media_type="application/xml")
