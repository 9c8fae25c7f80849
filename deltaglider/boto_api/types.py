"""The shapes of the boto3-shaped calls' answers, as ``TypedDict``s, under the names the original
DeltaGlider 6.2.0 exported (``from deltaglider.types import PutObjectResponse``).

At run time every answer is a plain ``dict``, as boto3's are; these only let a type checker and an
editor know the keys. Each lists the keys boto3 gives for the same call on a plain bucket that these
calls also give, plus deltaglider's own (``DeltaGliderInfo``: how the file was stored), which are
marked as such.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "Bucket",
    "BucketName",
    "CommonPrefix",
    "CompleteMultipartUploadResponse",
    "CompletedPart",
    "CopyObjectResponse",
    "CreateBucketResponse",
    "DeleteError",
    "DeleteObjectResponse",
    "DeleteObjectsResponse",
    "DeletedObject",
    "Delimiter",
    "GetObjectResponse",
    "HeadObjectResponse",
    "ListBucketsResponse",
    "ListObjectsV2Response",
    "ObjectKey",
    "Prefix",
    "PutObjectResponse",
    "ResponseMetadata",
    "S3Object",
    "StorageClass",
]

BucketName = str
ObjectKey = str
Prefix = str
Delimiter = str

StorageClass = Literal[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
]


class ResponseMetadata(TypedDict):
    """What every answer carries about the request; ``HTTPStatusCode`` as S3 would have answered."""

    HTTPStatusCode: int
    RequestId: NotRequired[str]
    HostId: NotRequired[str]
    HTTPHeaders: NotRequired[dict[str, str]]
    RetryAttempts: NotRequired[int]


class S3Object(TypedDict):
    """One file of a listing. ``Size`` is the file's size, whatever its stored form;
    ``Metadata`` is deltaglider's (``deltaglider-is-delta``...), not S3's."""

    Key: str
    Size: int
    LastModified: datetime
    ETag: NotRequired[str]
    StorageClass: NotRequired[str]
    Owner: NotRequired[dict[str, str]]
    Metadata: NotRequired[dict[str, str]]


class CommonPrefix(TypedDict):
    """A sub-folder of a listing with a ``Delimiter``."""

    Prefix: str


class ListObjectsV2Response(TypedDict):
    """``list_objects``: ListObjectsV2's shape. ``Contents`` is always there (empty for none), as the
    original gave it; boto3 leaves it out when no key matched."""

    Contents: list[S3Object]
    Name: NotRequired[str]
    Prefix: NotRequired[str]
    Delimiter: NotRequired[str]
    MaxKeys: NotRequired[int]
    CommonPrefixes: NotRequired[list[CommonPrefix]]
    EncodingType: NotRequired[str]
    KeyCount: NotRequired[int]
    ContinuationToken: NotRequired[str]
    NextContinuationToken: NotRequired[str]
    StartAfter: NotRequired[str]
    IsTruncated: NotRequired[bool]
    ResponseMetadata: NotRequired[ResponseMetadata]


class PutObjectResponse(TypedDict):
    """``put_object``; ``DeltaGliderInfo`` (ours) says how the file was stored."""

    ETag: str
    VersionId: NotRequired[str]
    ServerSideEncryption: NotRequired[str]
    ResponseMetadata: NotRequired[ResponseMetadata]
    DeltaGliderInfo: NotRequired[dict[str, Any]]


class GetObjectResponse(TypedDict):
    """``get_object``: ``Body`` streams the file (or the asked range), as botocore's StreamingBody."""

    Body: Any
    ContentLength: int
    ContentType: NotRequired[str]
    ContentRange: NotRequired[str]
    AcceptRanges: NotRequired[str]
    ETag: NotRequired[str]
    LastModified: NotRequired[datetime]
    Metadata: NotRequired[dict[str, str]]
    VersionId: NotRequired[str]
    StorageClass: NotRequired[str]
    ResponseMetadata: NotRequired[ResponseMetadata]


class HeadObjectResponse(TypedDict):
    """``head_object``: what ``get_object`` says, without the body."""

    ContentLength: int
    ContentType: NotRequired[str]
    AcceptRanges: NotRequired[str]
    ETag: NotRequired[str]
    LastModified: NotRequired[datetime]
    Metadata: NotRequired[dict[str, str]]
    VersionId: NotRequired[str]
    StorageClass: NotRequired[str]
    ResponseMetadata: NotRequired[ResponseMetadata]


class DeleteObjectResponse(TypedDict):
    """``delete_object``; ``DeltaGliderInfo`` (ours) lists the stored keys removed."""

    DeleteMarker: NotRequired[bool]
    VersionId: NotRequired[str]
    ResponseMetadata: NotRequired[ResponseMetadata]
    DeltaGliderInfo: NotRequired[dict[str, Any]]


class DeletedObject(TypedDict):
    """One key ``delete_objects`` removed (or found already gone, as S3 reports it)."""

    Key: str
    VersionId: NotRequired[str]
    DeleteMarker: NotRequired[bool]
    DeleteMarkerVersionId: NotRequired[str]


class DeleteError(TypedDict):
    """One key ``delete_objects`` could not remove."""

    Key: str
    Code: str
    Message: str
    VersionId: NotRequired[str]


class DeleteObjectsResponse(TypedDict):
    """``delete_objects``: what went (left out with ``Quiet``) and what could not."""

    Deleted: NotRequired[list[DeletedObject]]
    Errors: NotRequired[list[DeleteError]]
    ResponseMetadata: NotRequired[ResponseMetadata]
    DeltaGliderInfo: NotRequired[dict[str, Any]]


class Bucket(TypedDict):
    """One bucket of ``list_buckets``."""

    Name: str
    CreationDate: datetime


class ListBucketsResponse(TypedDict):
    """``list_buckets``."""

    Buckets: list[Bucket]
    Owner: NotRequired[dict[str, str]]
    ResponseMetadata: NotRequired[ResponseMetadata]


class CreateBucketResponse(TypedDict):
    """``create_bucket``."""

    Location: NotRequired[str]
    ResponseMetadata: NotRequired[ResponseMetadata]


class CompletedPart(TypedDict):
    """One part of a multipart upload."""

    PartNumber: int
    ETag: str


class CompleteMultipartUploadResponse(TypedDict):
    """A multipart upload's completion."""

    Location: NotRequired[str]
    Bucket: NotRequired[str]
    Key: NotRequired[str]
    ETag: NotRequired[str]
    VersionId: NotRequired[str]
    ResponseMetadata: NotRequired[ResponseMetadata]


class CopyObjectResponse(TypedDict):
    """A copy of one object."""

    CopyObjectResult: NotRequired[dict[str, Any]]
    ETag: NotRequired[str]
    LastModified: NotRequired[datetime]
    VersionId: NotRequired[str]
    ResponseMetadata: NotRequired[ResponseMetadata]


def response_metadata(status: int = 200) -> ResponseMetadata:
    """The ``ResponseMetadata`` of an answer: the status S3 would have given, no request went out as
    one (a call may make several, or none on a folder store)."""
    return {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0}
