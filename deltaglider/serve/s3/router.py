"""Which S3 operation a path-style request is, by its method, whether it names a bucket and a key, and
its query's sub-resources; and whether an anonymous caller may make it (reads only)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from starlette.responses import Response

from deltaglider.serve.s3 import batch_delete, buckets, listing, multipart, objects
from deltaglider.serve.s3.context import Call, S3Server
from deltaglider.serve.s3.errors import S3Error

Handler = Callable[[S3Server, Call], Awaitable[Response]]

#: Sub-resources of S3's API this server does not offer (answered NotImplemented, never taken for a
#: plain GET or PUT of the bucket or object).
_UNSUPPORTED: Final = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "cors", "encryption", "intelligent-tiering",
        "inventory", "legal-hold", "lifecycle", "logging", "metrics", "notification", "object-lock",
        "ownershipControls", "policy", "policyStatus", "publicAccessBlock", "replication",
        "requestPayment", "restore", "retention", "select", "tagging", "torrent", "versioning",
        "website",
    }
)  # fmt: skip


def is_read(method: str, query: dict[str, str]) -> bool:
    """What anonymous callers may do when anonymous reads are on."""
    return method in ("GET", "HEAD") and "uploadId" not in query and "uploads" not in query


def route(method: str, call: Call) -> Handler:
    query = call.query
    unsupported = _UNSUPPORTED & query.keys()
    if unsupported:
        raise S3Error("NotImplemented", f"This server does not offer ?{sorted(unsupported)[0]}.")
    if not call.bucket:
        if method in ("GET", "HEAD"):
            return buckets.list_buckets
        raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.")
    if not call.key:
        return _bucket_route(method, query)
    return _object_route(method, query)


def _bucket_route(method: str, query: dict[str, str]) -> Handler:
    if method == "GET":
        if "location" in query:
            return buckets.bucket_location
        if "uploads" in query:
            raise S3Error("NotImplemented", "ListMultipartUploads is not offered by this server.")
        if "versions" in query:
            return listing.list_object_versions
        return listing.list_objects
    if method == "HEAD":
        return buckets.head_bucket
    if method == "PUT":
        return buckets.create_bucket
    if method == "DELETE":
        return buckets.delete_bucket
    if method == "POST" and "delete" in query:
        return batch_delete.delete_objects
    raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.")


def _object_route(method: str, query: dict[str, str]) -> Handler:
    upload = "uploadId" in query
    if method == "GET":
        if upload:
            raise S3Error("NotImplemented", "ListParts is not offered by this server.")
        return objects.get_version if "versionId" in query else objects.get_object
    if method == "HEAD":
        return objects.head_version if "versionId" in query else objects.head_object
    if method == "PUT":
        return multipart.upload_part if upload else objects.put_object
    if method == "POST":
        if "uploads" in query:
            return multipart.create_upload
        if upload:
            return multipart.complete_upload
    if method == "DELETE":
        return multipart.abort_upload if upload else objects.delete_object
    raise S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.")
