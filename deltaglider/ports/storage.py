"""The storage port: what the service needs from an object store (S3, a local directory, memory)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

#: Called with the number of bytes just transferred (may be called from worker threads). An upload
#: counts the user's file as it is read; its later writes to the store call it with 0 at each block.
#: A download counts what it fetches: the stored object, and on a cold cache the reference too.
ProgressCallback = Callable[[int], None]

#: The largest object ``StoragePort.copy`` copies (S3's CopyObject limit, 5 GiB); a larger one is
#: copied the long way, through a download.
COPY_MAX_BYTES = 5 * 1024**3


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created: datetime | None = None


@dataclass(frozen=True)
class ObjectHead:
    """What a HEAD (or a listing entry) says about one stored object.

    ``metadata`` holds the user metadata with lowercased keys and no ``x-amz-meta-`` prefix. Listings
    may leave it empty (S3 lists no metadata); call ``head`` for it. ``etag`` names the version: what
    the conditional writes and deletes compare (every store gives one on ``head`` and ``get_file``;
    listings may leave it None).
    """

    bucket: str
    key: str
    size: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: datetime | None = None
    is_prefix: bool = False


@dataclass(frozen=True)
class PutOptions:
    """How an object is stored, beyond its bytes and deltaglider metadata. Empty fields mean the
    store's defaults. Stores without a notion of one (a local folder has no storage class) ignore it.

    ``metadata`` is user metadata stored beside the ``dg-*`` keys; ``tags`` become object tags.
    """

    content_type: str | None = None
    storage_class: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LifecycleRule:
    """One bucket lifecycle rule: objects under ``prefix`` carrying every tag in ``tags`` move to
    ``archive_class`` after ``archive_after_days`` and are removed after ``expire_after_days`` (either
    may be None: no such step). ``rule_id`` names the rule, so that setting it again replaces it."""

    rule_id: str
    prefix: str
    tags: Mapping[str, str]
    archive_after_days: int | None
    expire_after_days: int | None
    archive_class: str = "GLACIER"


class BucketAdmin(Protocol):
    """The bucket-level calls of the boto3-shaped API (``deltaglider.boto_api``), in S3's own terms:
    ``params`` are the keyword arguments boto3 takes beyond ``Bucket``, and each call returns the
    response document boto3 returns. Failures are S3's too: botocore's ``ClientError`` with S3's error
    code (``NoSuchBucket``, ``BucketNotEmpty``...), which a store that is not S3 raises alike for the
    same cases. What a store cannot do at all (a presigned link to a folder) raises ``StorageError``."""

    def list_buckets(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """ListBuckets: ``Buckets`` (``Name``, ``CreationDate``) and ``Owner``."""
        ...

    def create_bucket(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """CreateBucket: ``Location``."""
        ...

    def delete_bucket(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """DeleteBucket, of an empty bucket only (``BucketNotEmpty`` otherwise)."""
        ...

    def get_bucket_acl(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """GetBucketAcl: ``Owner`` and ``Grants``."""
        ...

    def put_bucket_acl(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """PutBucketAcl with a canned ``ACL``, ``Grant*`` headers or an ``AccessControlPolicy``."""
        ...

    def presigned_url(self, method: str, params: Mapping[str, Any], expires_in: int) -> str:
        """A link that performs ``method`` (``get_object``, ``put_object``...) with ``params``, signed
        with the store's own endpoint and credentials, valid ``expires_in`` seconds."""
        ...

    def presigned_post(
        self,
        bucket: str,
        key: str,
        fields: Mapping[str, Any] | None,
        conditions: builtins.list[Any] | None,
        expires_in: int,
    ) -> dict[str, Any]:
        """An HTML form upload to ``key``: ``url`` and the ``fields`` to send with the file."""
        ...


class StoragePort(Protocol):
    """Objects addressed by (bucket, key). Every method raises the errors of ``deltaglider.errors``:
    ``NotFoundError`` for a missing bucket or object (except ``head``, which returns None for a
    missing object), ``AccessDeniedError``, ``StorageError`` for anything else."""

    def url(self, bucket: str, key: str) -> str:
        """How a user names this object (``s3://bucket/key``, or a local path): for messages."""
        ...

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        """The object's size and metadata, or None if there is no such object."""
        ...

    def list(
        self, bucket: str, prefix: str, *, recursive: bool = True, start_after: str = ""
    ) -> Iterator[ObjectHead]:
        """Every object whose key starts with ``prefix``, in key order, across all pages; with
        ``start_after``, only the entries whose key sorts after it (S3's ``StartAfter``: a listing
        resumed there costs no request for the keys before it).

        With ``recursive=False`` only keys with no ``/`` after the prefix are yielded as objects; each
        deeper folder comes once instead, as an ``is_prefix`` entry (``<prefix><name>/``), in key
        order among them (what S3 gives for ``Delimiter="/"``).
        """
        ...

    def get_file(
        self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None = None
    ) -> ObjectHead:
        """Writes the object's bytes to ``dest`` (which the caller owns: a temporary path) and returns
        what the read said about the object (size, metadata, ETag): no ``head`` is needed before it.
        Raises ``NotFoundError`` for a missing object (or bucket)."""
        ...

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
        """Stores the file under ``key``, replacing any object there; never leaves a partial object.
        Returns the ETag of the object it wrote (as ``head`` and listings give it), or None where the
        store does not say: the writer can then tell its own object from a listing, with no HEAD."""
        ...

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
        """Atomically creates ``key`` only if no object is there. True if this call created it,
        False if another writer's object was already there (which is left untouched)."""
        ...

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
        """Atomically replaces the object at ``key`` only while it is still the version whose ETag is
        ``etag`` (as ``head`` gave it). False, changing nothing, when another write replaced it or it
        is gone: a rewrite never undoes a newer write nor brings back a removed object."""
        ...

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        """Copies the object (bytes, metadata, Content-Type, tags) to ``dst_key``, within the store
        and without bringing its bytes here (S3: CopyObject), replacing any object there; never
        leaves a partial object. ``NotFoundError`` for a missing source; ``StorageError`` for one
        larger than :data:`COPY_MAX_BYTES`."""
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Removes the object; removing a missing object is not an error."""
        ...

    def delete_if_match(self, bucket: str, key: str, etag: str) -> bool:
        """Removes the object only while it is still the version whose ETag is ``etag``. True if this
        call removed it; False when it changed since or is already gone."""
        ...

    def list_buckets(self) -> builtins.list[BucketInfo]:
        """The buckets this store holds (S3: those the credentials may list; a folder store: the
        folders under its root), by name."""
        ...

    def cleanup(self, bucket: str, prefix: str, older_than: timedelta) -> builtins.list[str]:
        """Removes what interrupted writes left under ``prefix`` more than ``older_than`` ago
        (temporary files, pending multipart uploads) and returns a line naming each thing removed."""
        ...

    def set_lifecycle_rule(self, bucket: str, rule: LifecycleRule) -> None:
        """Adds ``rule`` to the bucket's lifecycle configuration, replacing a rule of the same ID and
        keeping every other rule. ``StorageError`` on a store without lifecycle rules."""
        ...

    def bucket_admin(self) -> BucketAdmin:
        """The bucket calls of the boto3-shaped API on this store."""
        ...
