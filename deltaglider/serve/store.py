"""The server's view of a delta store, over the SDK's client: the calls the handlers make, each
synchronous (the handlers run them in worker threads), with the SDK's not-found and access errors
turned into S3's.

Every read and write goes through the client, so what it hides (references, ``.deltaglider/``
helpers, ``.delta`` suffixes) stays hidden, and what is written is stored as the SDK stores it, as a
delta where it can be.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deltaglider.boto_api.stored import check_key, file_size, info_of, locate, user_metadata
from deltaglider.core.format.layout import split_key
from deltaglider.core.models import ObjectKey
from deltaglider.core.put.policy import guess_type
from deltaglider.errors import AccessDeniedError, InvalidURLError, MetadataError, NotFoundError
from deltaglider.serve.s3.errors import S3Error

if TYPE_CHECKING:
    from deltaglider.client import DeltaGliderClient


@dataclass(frozen=True)
class FileHead:
    """What a GET or HEAD says of a file before rebuilding it. ``version``: what changes when the name
    is written again (the stored key and its ETag), naming one rebuild."""

    bucket: str
    key: str
    stored_key: str
    version: str
    size: int
    sha256: str | None
    last_modified: datetime | None
    metadata: Mapping[str, str]
    content_type: str

    @property
    def etag(self) -> str:
        """Stable per content: the file's SHA-256 where recorded (64 hex digits, which no client takes
        for an MD5), else the stored object's own ETag."""
        return f'"{self.sha256 or self.version.partition(":")[2]}"'


@dataclass(frozen=True)
class Rebuilt:
    """A file rebuilt into ``path``: its size and SHA-256."""

    path: Path
    size: int
    sha256: str


@contextlib.contextmanager
def s3_errors(store_call: str) -> Iterator[None]:
    """S3's errors for what the SDK and its boto3-shaped calls raise."""
    from deltaglider.boto_api.errors import S3CallError

    try:
        yield
    except S3Error:
        raise
    except S3CallError as exc:
        error = exc.response["Error"]
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
        extra = {name: str(value) for name, value in error.items() if name not in ("Code", "Message")}
        raise S3Error(error["Code"], error.get("Message", ""), status=status, **extra) from exc
    except AccessDeniedError as exc:
        raise S3Error("AccessDenied", str(exc)) from exc
    except MetadataError as exc:
        raise S3Error("InvalidArgument", str(exc)) from exc
    except InvalidURLError as exc:
        raise S3Error("InvalidArgument", f"{store_call}: {exc}") from exc


class Store:
    """The operations the S3 handlers need, over one client."""

    def __init__(self, client: DeltaGliderClient) -> None:
        self.client = client

    @property
    def _storage(self) -> Any:
        return self.client.service.storage

    def buckets(self) -> dict[str, Any]:
        with s3_errors("ListBuckets"):
            return self.client.list_buckets()

    def create_bucket(self, bucket: str) -> None:
        with s3_errors("CreateBucket"):
            self.client.create_bucket(Bucket=bucket)

    def delete_bucket(self, bucket: str) -> None:
        with s3_errors("DeleteBucket"):
            self.client.delete_bucket(Bucket=bucket)

    def bucket_exists(self, bucket: str) -> bool:
        from deltaglider.boto_api.errors import check_bucket

        try:
            with s3_errors("HeadBucket"):
                check_bucket(self._storage, bucket, "HeadBucket")
                if self._storage.url(bucket, "").startswith("s3://"):
                    self.client.list_objects(Bucket=bucket, MaxKeys=1)
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                return False
            raise
        return True

    def list_objects(self, bucket: str, **params: Any) -> dict[str, Any]:
        with s3_errors("ListObjectsV2"):
            return self.client.list_objects(Bucket=bucket, **params)

    def head(self, bucket: str, key: str) -> FileHead:
        """The file behind ``key``; ``NoSuchKey``/``NoSuchBucket`` when it is not there."""
        from deltaglider.boto_api.errors import boto_errors

        with s3_errors("GetObject"), boto_errors(self._storage, bucket, key, "GetObject"):
            head = locate(self._storage, bucket, check_key(key))
        info = info_of(head)
        return FileHead(
            bucket=bucket,
            key=key,
            stored_key=head.key,
            version=f"{head.key}:{head.etag or ''}",
            size=file_size(head, info),
            sha256=info.file_sha256.lower() if info.file_sha256 else None,
            last_modified=head.last_modified,
            metadata=user_metadata(head.metadata),
            content_type=guess_type(split_key(key)[1]),
        )

    def rebuild(self, bucket: str, key: str, path: Path) -> Rebuilt:
        """Writes the file, rebuilt and checked against its SHA-256, to ``path``."""
        from deltaglider.boto_api.errors import boto_errors

        with s3_errors("GetObject"), boto_errors(self._storage, bucket, key, "GetObject"):
            summary = self.client.service.get(ObjectKey(bucket, key), path)
        return Rebuilt(path=path, size=path.stat().st_size, sha256=summary.hash.lower())

    def versions(self, bucket: str, prefix: str) -> dict[str, Any]:
        """ListObjectVersions' answer: the versions of the names ``prefix`` starts."""
        with s3_errors("ListObjectVersions"):
            return self.client.list_object_versions(Bucket=bucket, Prefix=prefix)

    def version_head(self, bucket: str, key: str, version_id: str) -> FileHead:
        """The version ``version_id`` of the file ``key``; ``NoSuchVersion`` when the name has none."""
        from deltaglider.boto_api.errors import boto_errors

        with s3_errors("GetObject"), boto_errors(self._storage, bucket, key, "GetObject"):
            found = self.client.service.versions(ObjectKey(bucket, check_key(key)))
        match = [v for v in found if v.version_id == version_id]
        if not match:
            raise S3Error(
                "NoSuchVersion",
                "The specified version does not exist.",
                status=404,
                Key=key,
                VersionId=version_id,
            )
        version = match[0]
        return FileHead(
            bucket=bucket,
            key=key,
            stored_key=version.key,
            version=f"{version.key}:{version.version_id}",
            size=version.size if version.size is not None else version.stored_size,
            sha256=version.sha256,
            last_modified=version.created_at,
            metadata={},
            content_type=guess_type(split_key(key)[1]),
        )

    def rebuild_version(self, bucket: str, key: str, version_id: str, path: Path) -> Rebuilt:
        """Writes the version ``version_id`` of the file, rebuilt and checked, to ``path``."""
        from deltaglider.boto_api.errors import boto_errors

        with s3_errors("GetObject"), boto_errors(self._storage, bucket, key, "GetObject"):
            summary = self.client.service.get(ObjectKey(bucket, key), path, version=version_id)
        return Rebuilt(path=path, size=path.stat().st_size, sha256=summary.hash.lower())

    def put(
        self, bucket: str, key: str, path: Path, *, metadata: Mapping[str, str], content_type: str | None
    ) -> str:
        """Stores the file at ``path`` as ``key`` through the SDK's upload; returns its ETag."""
        with s3_errors("PutObject"):
            answer = self.client.put_object(
                Bucket=bucket, Key=key, Body=path, Metadata=dict(metadata) or None, ContentType=content_type
            )
        del answer
        try:
            return self.head(bucket, key).etag
        except S3Error as exc:  # replaced or removed meanwhile: the upload itself succeeded
            if exc.code in ("NoSuchKey", "NoSuchBucket"):
                return '""'
            raise

    def delete(self, bucket: str, key: str) -> None:
        with s3_errors("DeleteObject"):
            self.client.delete_object(Bucket=bucket, Key=key)

    def delete_many(self, bucket: str, keys: list[str], *, quiet: bool) -> dict[str, Any]:
        with s3_errors("DeleteObjects"):
            return self.client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": quiet}
            )


def is_missing(error: BaseException) -> bool:
    return isinstance(error, NotFoundError) or (
        isinstance(error, S3Error) and error.code in ("NoSuchKey", "NoSuchBucket")
    )
