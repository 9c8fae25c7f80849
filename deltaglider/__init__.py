"""deltaglider: store families of similar files as VCDIFF deltas against one reference.

The client API (``create_client``, ``DeltaGliderClient``, ``UploadSummary``, the service and its
models) is loaded on first access, so ``import deltaglider`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from deltaglider._version import __version__
from deltaglider.errors import (
    AccessDeniedError,
    CacheError,
    CodecError,
    CodecIOError,
    DecodeError,
    DeltaGliderError,
    FileChangedError,
    IntegrityError,
    InvalidURLError,
    MetadataError,
    NotFoundError,
    NotVerifiableError,
    OutOfMemoryError,
    ReferenceInUseError,
    StorageError,
    UnsupportedDeltaError,
)

if TYPE_CHECKING:
    from deltaglider.batch import FilterRule
    from deltaglider.boto_api.models import BucketStats, CompressionEstimate, ListObjectsResponse, ObjectInfo
    from deltaglider.boto_api.types import (
        CopyObjectResponse,
        CreateBucketResponse,
        DeleteObjectResponse,
        DeleteObjectsResponse,
        GetObjectResponse,
        HeadObjectResponse,
        ListBucketsResponse,
        ListObjectsV2Response,
        PutObjectResponse,
        S3Object,
    )
    from deltaglider.client import DeltaGliderClient, UploadSummary
    from deltaglider.config import Settings
    from deltaglider.core.models import (
        DeleteResult,
        DeltaSpace,
        GetSummary,
        ListEntry,
        ObjectKey,
        PutSummary,
        RepackResult,
        RetentionResult,
        StatsSummary,
        StoredObject,
        VerifyResult,
        VersionInfo,
    )
    from deltaglider.core.service import DeltaService
    from deltaglider.factory import S3Options, create_client
    from deltaglider.trees import TreeResult
    from deltaglider.urls import Place

_LAZY = {
    "create_client": "deltaglider.factory",
    "S3Options": "deltaglider.factory",
    "Settings": "deltaglider.config",
    "DeltaGliderClient": "deltaglider.client",
    "UploadSummary": "deltaglider.client",
    "DeltaService": "deltaglider.core.service",
    "DeltaSpace": "deltaglider.core.models",
    "ObjectKey": "deltaglider.core.models",
    "PutSummary": "deltaglider.core.models",
    "GetSummary": "deltaglider.core.models",
    "VerifyResult": "deltaglider.core.models",
    "DeleteResult": "deltaglider.core.models",
    "ListEntry": "deltaglider.core.models",
    "StatsSummary": "deltaglider.core.models",
    "RetentionResult": "deltaglider.core.models",
    "RepackResult": "deltaglider.core.models",
    "StoredObject": "deltaglider.core.models",
    "VersionInfo": "deltaglider.core.models",
    "FilterRule": "deltaglider.batch",
    "Place": "deltaglider.urls",
    "TreeResult": "deltaglider.trees",
    "BucketStats": "deltaglider.boto_api.models",
    "CompressionEstimate": "deltaglider.boto_api.models",
    "ListObjectsResponse": "deltaglider.boto_api.models",
    "ObjectInfo": "deltaglider.boto_api.models",
    "CopyObjectResponse": "deltaglider.boto_api.types",
    "CreateBucketResponse": "deltaglider.boto_api.types",
    "DeleteObjectResponse": "deltaglider.boto_api.types",
    "DeleteObjectsResponse": "deltaglider.boto_api.types",
    "GetObjectResponse": "deltaglider.boto_api.types",
    "HeadObjectResponse": "deltaglider.boto_api.types",
    "ListBucketsResponse": "deltaglider.boto_api.types",
    "ListObjectsV2Response": "deltaglider.boto_api.types",
    "PutObjectResponse": "deltaglider.boto_api.types",
    "S3Object": "deltaglider.boto_api.types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'deltaglider' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AccessDeniedError",
    "BucketStats",
    "CacheError",
    "CodecError",
    "CodecIOError",
    "CompressionEstimate",
    "CopyObjectResponse",
    "CreateBucketResponse",
    "DecodeError",
    "DeleteObjectResponse",
    "DeleteObjectsResponse",
    "DeleteResult",
    "DeltaGliderClient",
    "DeltaGliderError",
    "DeltaService",
    "DeltaSpace",
    "FileChangedError",
    "FilterRule",
    "GetObjectResponse",
    "GetSummary",
    "HeadObjectResponse",
    "IntegrityError",
    "InvalidURLError",
    "ListBucketsResponse",
    "ListEntry",
    "ListObjectsResponse",
    "ListObjectsV2Response",
    "MetadataError",
    "NotFoundError",
    "NotVerifiableError",
    "ObjectInfo",
    "ObjectKey",
    "OutOfMemoryError",
    "Place",
    "PutObjectResponse",
    "PutSummary",
    "ReferenceInUseError",
    "RepackResult",
    "RetentionResult",
    "S3Object",
    "S3Options",
    "Settings",
    "StatsSummary",
    "StorageError",
    "StoredObject",
    "TreeResult",
    "UnsupportedDeltaError",
    "UploadSummary",
    "VerifyResult",
    "VersionInfo",
    "__version__",
    "create_client",
]
