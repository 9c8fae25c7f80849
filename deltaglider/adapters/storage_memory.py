"""An in-process object store for tests: dict-backed, thread-safe, with a log of calls."""

from __future__ import annotations

import builtins
import itertools
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deltaglider.errors import NotFoundError, StorageError
from deltaglider.ports.storage import (
    COPY_MAX_BYTES,
    BucketAdmin,
    BucketInfo,
    LifecycleRule,
    ObjectHead,
    ProgressCallback,
    PutOptions,
)

#: Every write makes a new version: its ETag is unique, even for the same bytes (S3's are MD5s).
_versions = itertools.count(1)


@dataclass
class _Object:
    data: bytes
    metadata: dict[str, str]
    last_modified: datetime
    options: PutOptions = field(default_factory=PutOptions)
    etag: str = field(default_factory=lambda: f"v{next(_versions)}")


def _merged(metadata: Mapping[str, str], options: PutOptions | None) -> dict[str, str]:
    # As on S3: user metadata beside ours, ours winning a clash.
    extra = options.metadata if options is not None else {}
    return {**{k.lower(): v for k, v in extra.items()}, **metadata}


class MemoryStorage:
    """Buckets spring into being on first write. ``calls`` records ``(operation, bucket, key)`` for
    every call, so tests can count GETs and PUTs."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str], _Object] = {}
        self._lock = threading.Lock()
        self.calls: list[tuple[str, str, str]] = []
        self.lifecycle: dict[str, dict[str, LifecycleRule]] = {}

    def _record(self, operation: str, bucket: str, key: str) -> None:
        self.calls.append((operation, bucket, key))

    def count(self, operation: str, key: str | None = None) -> int:
        return sum(1 for op, _, k in self.calls if op == operation and (key is None or k == key))

    def _head_of(self, bucket: str, key: str, obj: _Object, *, with_metadata: bool = True) -> ObjectHead:
        meta = dict(obj.metadata) if with_metadata else {}
        return ObjectHead(bucket, key, len(obj.data), meta, obj.etag, obj.last_modified)

    def url(self, bucket: str, key: str) -> str:
        return f"s3://{bucket}/{key}"  # it stands in for S3 in tests

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        with self._lock:
            self._record("head", bucket, key)
            obj = self._objects.get((bucket, key))
            return None if obj is None else self._head_of(bucket, key, obj)

    def list(
        self, bucket: str, prefix: str, *, recursive: bool = True, start_after: str = ""
    ) -> Iterator[ObjectHead]:
        with self._lock:
            self._record("list", bucket, prefix)
            found: dict[str, ObjectHead] = {}
            for (b, key), obj in self._objects.items():
                if b != bucket or not key.startswith(prefix):
                    continue
                folder, slash, _ = key[len(prefix) :].partition("/")
                if slash and not recursive:
                    sub = prefix + folder + "/"
                    found[sub] = ObjectHead(bucket, sub, 0, is_prefix=True)
                else:
                    found[key] = self._head_of(bucket, key, obj, with_metadata=False)
        for key in sorted(found):
            if key > start_after:
                yield found[key]

    def _get(self, bucket: str, key: str, operation: str) -> _Object:
        with self._lock:
            self._record(operation, bucket, key)
            obj = self._objects.get((bucket, key))
        if obj is None:
            raise NotFoundError(f"no such object: s3://{bucket}/{key}")
        return obj

    def get_file(
        self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None = None
    ) -> ObjectHead:
        obj = self._get(bucket, key, "get")
        Path(dest).write_bytes(obj.data)
        if progress is not None:
            progress(len(obj.data))
        return self._head_of(bucket, key, obj)

    def put_file(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
        *,
        options: PutOptions | None = None,
    ) -> str:
        data = Path(src).read_bytes()
        with self._lock:
            self._record("put", bucket, key)
            obj = _Object(data, _merged(metadata, options), datetime.now(UTC), options or PutOptions())
            self._objects[(bucket, key)] = obj
        if progress is not None:
            progress(len(data))
        return obj.etag

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
        data = Path(src).read_bytes()
        if progress is not None:
            progress(len(data))
        with self._lock:
            self._record("put_if_absent", bucket, key)
            if (bucket, key) in self._objects:
                return False
            self._objects[(bucket, key)] = _Object(
                data, _merged(metadata, options), datetime.now(UTC), options or PutOptions()
            )
            return True

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
        data = Path(src).read_bytes()
        if progress is not None:
            progress(len(data))
        with self._lock:
            self._record("put_if_match", bucket, key)
            old = self._objects.get((bucket, key))
            if old is None or old.etag != etag:
                return False
            self._objects[(bucket, key)] = _Object(
                data, _merged(metadata, options), datetime.now(UTC), options or PutOptions()
            )
            return True

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        with self._lock:
            self._record("copy", src_bucket, src_key)
            source = self._objects.get((src_bucket, src_key))
            if source is None:
                raise NotFoundError(f"s3://{src_bucket}/{src_key}: no such object")
            if len(source.data) > COPY_MAX_BYTES:
                raise StorageError(f"s3://{src_bucket}/{src_key}: too large to copy in one step")
            self._objects[(dst_bucket, dst_key)] = _Object(
                source.data, dict(source.metadata), datetime.now(UTC), source.options
            )

    def delete(self, bucket: str, key: str) -> None:
        with self._lock:
            self._record("delete", bucket, key)
            self._objects.pop((bucket, key), None)

    def delete_if_match(self, bucket: str, key: str, etag: str) -> bool:
        with self._lock:
            self._record("delete_if_match", bucket, key)
            obj = self._objects.get((bucket, key))
            if obj is None or obj.etag != etag:
                return False
            del self._objects[(bucket, key)]
            return True

    def list_buckets(self) -> builtins.list[BucketInfo]:
        with self._lock:
            return [BucketInfo(name) for name in sorted({b for (b, _) in self._objects})]

    def cleanup(self, bucket: str, prefix: str, older_than: timedelta) -> builtins.list[str]:
        # Writes here are single dict assignments: nothing is ever left half-done.
        return []

    def set_lifecycle_rule(self, bucket: str, rule: LifecycleRule) -> None:
        with self._lock:
            self.lifecycle.setdefault(bucket, {})[rule.rule_id] = rule

    def bucket_admin(self) -> BucketAdmin:
        raise StorageError("the in-memory test store has no bucket calls (its buckets exist once written to)")

    def options(self, bucket: str, key: str) -> PutOptions:
        """How the object was stored (tags, storage class...): a test helper."""
        return self._objects[(bucket, key)].options

    # Test helpers: reach past the port to plant or damage objects.
    def raw(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        obj = self._objects[(bucket, key)]
        return obj.data, dict(obj.metadata)

    def set_raw(self, bucket: str, key: str, data: bytes, metadata: Mapping[str, str] | None = None) -> None:
        with self._lock:
            old = self._objects.get((bucket, key))
            meta = dict(metadata) if metadata is not None else dict(old.metadata) if old else {}
            self._objects[(bucket, key)] = _Object(bytes(data), meta, datetime.now(UTC))

    def keys(self, bucket: str) -> builtins.list[str]:
        return sorted(key for (b, key) in self._objects if b == bucket)
