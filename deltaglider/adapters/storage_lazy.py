"""A StoragePort that builds the real adapter on first use.

``create_client()`` must not import boto3 (slow) nor need credentials unless S3 is actually used: a
client used only with local folders never builds its S3 adapter.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path

from deltaglider.ports.storage import (
    BucketAdmin,
    BucketInfo,
    LifecycleRule,
    ObjectHead,
    ProgressCallback,
    PutOptions,
    StoragePort,
)


class LazyStorage:
    def __init__(self, factory: Callable[[], StoragePort]) -> None:
        self._factory = factory
        self._storage: StoragePort | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._storage is not None

    def _get(self) -> StoragePort:
        if self._storage is None:
            with self._lock:
                if self._storage is None:
                    self._storage = self._factory()
        return self._storage

    def url(self, bucket: str, key: str) -> str:
        # Naming an object in a message must not build the S3 client (and import boto3).
        return f"s3://{bucket}/{key}"

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        return self._get().head(bucket, key)

    def list(
        self, bucket: str, prefix: str, *, recursive: bool = True, start_after: str = ""
    ) -> Iterator[ObjectHead]:
        return self._get().list(bucket, prefix, recursive=recursive, start_after=start_after)

    def get_file(
        self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None = None
    ) -> ObjectHead:
        return self._get().get_file(bucket, key, dest, progress)

    def put_file(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
        *,
        options: PutOptions | None = None,
    ) -> str | None:
        return self._get().put_file(bucket, key, src, metadata, progress, options=options)

    def put_file_if_absent(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
        *,
        options: PutOptions | None = None,
    ) -> bool:
        return self._get().put_file_if_absent(bucket, key, src, metadata, progress, options=options)

    def put_file_if_match(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
        *,
        etag: str,
        options: PutOptions | None = None,
    ) -> bool:
        return self._get().put_file_if_match(bucket, key, src, metadata, progress, etag=etag, options=options)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        self._get().copy(src_bucket, src_key, dst_bucket, dst_key)

    def delete(self, bucket: str, key: str) -> None:
        self._get().delete(bucket, key)

    def delete_if_match(self, bucket: str, key: str, etag: str) -> bool:
        return self._get().delete_if_match(bucket, key, etag)

    def list_buckets(self) -> builtins.list[BucketInfo]:
        return self._get().list_buckets()

    def cleanup(self, bucket: str, prefix: str, older_than: timedelta) -> builtins.list[str]:
        return self._get().cleanup(bucket, prefix, older_than)

    def set_lifecycle_rule(self, bucket: str, rule: LifecycleRule) -> None:
        self._get().set_lifecycle_rule(bucket, rule)

    def bucket_admin(self) -> BucketAdmin:
        return self._get().bucket_admin()
