"""The user's upload options checked before anything is read (:func:`check_options`), and
:class:`OptionsStorage`, the store that gives the client's storage class to the writes that bring no
options of their own.

How each object an upload writes is stored (tags, storage class, Content-Type, user metadata) is a
plain function of its role and the upload's options: :func:`deltaglider.core.put.policy.policy`,
applied by the core's one write. Nothing here reads deltaglider's metadata back.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Final

from deltaglider.core.format.metadata import encode_value
from deltaglider.core.put.policy import ARCHIVE_CLASSES, DELTA_CONTENT_TYPE, FILE_TAG
from deltaglider.errors import MetadataError
from deltaglider.ports.storage import (
    BucketAdmin,
    BucketInfo,
    LifecycleRule,
    ObjectHead,
    ProgressCallback,
    PutOptions,
    StoragePort,
)

__all__ = [
    "ARCHIVE_CLASSES",
    "DELTA_CONTENT_TYPE",
    "FILE_TAG",
    "OptionsStorage",
    "check_options",
    "merge_options",
]

# S3's limits on object tags.
_MAX_TAGS: Final = 10
_TAG_KEY_MAX: Final = 128
_TAG_VALUE_MAX: Final = 256
_TAG_CHARS = re.compile(r"^[\w\s+\-=.:/@]*$")
#: A metadata key travels as part of an HTTP header name (``x-amz-meta-<key>``).
_HEADER_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_RESERVED_PREFIX: Final = "dg-"
#: The fields of deltaglider's metadata (core.metadata), which it reads in every spelling the original
#: wrote (``dg-x``, ``dg_x``, bare ``x`` in snake or kebab case): a user's ``compression=none`` on a
#: delta would make it read as a file stored whole.
_RESERVED_FIELDS: Final = frozenset(
    {
        "base_format",
        "base_sha256",
        "compression",
        "created_at",
        "delta_cmd",
        "delta_size",
        "file_sha256",
        "file_size",
        "fingerprint",
        "note",
        "original_name",
        "ref_key",
        "ref_path",
        "ref_sha256",
        "removing",
        "source_mtime",
        "source_name",
        "tool",
        "transform",
        "write_stamp",
    }
)
#: What the folder store's sidecar keeps for itself (storage_local: the tags, the version token): a
#: user's value there would be dropped on a folder store and kept on S3.
_FOLDER_STORE_KEYS: Final = frozenset({"x-amz-tagging", "x-dg-version"})


def _check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    if len(tags) > _MAX_TAGS - 1:
        raise MetadataError(
            f"at most {_MAX_TAGS - 1} tags per upload (S3 allows {_MAX_TAGS}; deltaglider uses one), "
            f"got {len(tags)}"
        )
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise MetadataError(f"tag {key!r}: keys and values must be strings")
        if not 1 <= len(key) <= _TAG_KEY_MAX or len(value) > _TAG_VALUE_MAX:
            raise MetadataError(
                f"tag {key!r}: keys take 1 to {_TAG_KEY_MAX} characters, values up to {_TAG_VALUE_MAX}"
            )
        if not (_TAG_CHARS.match(key) and _TAG_CHARS.match(value)):
            raise MetadataError(
                f"tag {key!r}={value!r}: S3 tags take letters, digits, spaces and + - = . _ : / @ only"
            )
        if key.lower().startswith((_RESERVED_PREFIX, "aws:")):
            raise MetadataError(f"tag {key!r}: keys starting with 'dg-' or 'aws:' are reserved")
        checked[key] = value
    return checked


def _check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise MetadataError(f"metadata {key!r}: keys and values must be strings")
        if not _HEADER_TOKEN.match(key):
            raise MetadataError(
                f"metadata key {key!r}: it travels in an HTTP header name, so letters, digits and - _ . only"
            )
        name = key.lower()
        if (
            name.startswith((_RESERVED_PREFIX, "dg_"))
            or name.replace("-", "_") in _RESERVED_FIELDS
            or name in _FOLDER_STORE_KEYS
        ):
            raise MetadataError(
                f"metadata key {key!r} is reserved: keys starting with 'dg-' or 'dg_', and the bare names "
                "of deltaglider's own keys (any spelling or case), are deltaglider's"
            )
        if name in checked:
            raise MetadataError(f"metadata key {key!r} given twice (keys are case-insensitive)")
        # Headers carry ASCII: other text goes as an RFC 2047 word, as S3 itself returns it.
        checked[name] = encode_value(value)
    return checked


def check_options(
    *,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, str] | None = None,
    content_type: str | None = None,
    storage_class: str | None = None,
) -> PutOptions:
    """The user's upload options, checked (``MetadataError`` for tags or metadata S3 would refuse or
    that would clash with deltaglider's own keys)."""
    if content_type is not None and (not content_type.isascii() or "\n" in content_type or not content_type):
        raise MetadataError(f"content_type {content_type!r} is not a valid Content-Type")
    if storage_class is not None:
        if not storage_class or not storage_class.isascii():
            raise MetadataError(f"storage_class {storage_class!r} is not a storage class name")
        storage_class = storage_class.upper()
    return PutOptions(
        content_type=content_type,
        storage_class=storage_class,
        tags=_check_tags(tags or {}),
        metadata=_check_metadata(metadata or {}),
    )


def merge_options(base: PutOptions, extra: PutOptions) -> PutOptions:
    """``extra`` (one upload's options) over ``base`` (the client's): tags and metadata added to,
    Content-Type and storage class replaced."""
    tags = {**base.tags, **extra.tags}
    if len(tags) > _MAX_TAGS - 1:
        raise MetadataError(f"at most {_MAX_TAGS - 1} tags per upload, client's and upload's together")
    return PutOptions(
        content_type=extra.content_type or base.content_type,
        storage_class=extra.storage_class or base.storage_class,
        tags=tags,
        metadata={**base.metadata, **extra.metadata},
    )


class OptionsStorage:
    """``StoragePort`` over ``inner``. A write that names its options is stored as the core asked; one
    that names none (only the protocol's own writes: a base kept for its dependents, a removal marker)
    gets the client's storage class unless an archive class (a base must be readable at once), and
    nothing else of ``options``."""

    def __init__(self, inner: StoragePort, options: PutOptions | None = None) -> None:
        self.inner = inner
        kept = options.storage_class if options is not None else None
        self._unnamed = PutOptions(storage_class=None if kept in ARCHIVE_CLASSES else kept)

    def _for(self, given: PutOptions | None) -> PutOptions:
        return self._unnamed if given is None else given

    # -- the port ------------------------------------------------------------------------------

    def url(self, bucket: str, key: str) -> str:
        return self.inner.url(bucket, key)

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        return self.inner.head(bucket, key)

    def list(
        self, bucket: str, prefix: str, *, recursive: bool = True, start_after: str = ""
    ) -> Iterator[ObjectHead]:
        return self.inner.list(bucket, prefix, recursive=recursive, start_after=start_after)

    def get_file(
        self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None = None
    ) -> ObjectHead:
        return self.inner.get_file(bucket, key, dest, progress)

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
        return self.inner.put_file(bucket, key, src, metadata, progress, options=self._for(options))

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
        return self.inner.put_file_if_absent(bucket, key, src, metadata, progress, options=self._for(options))

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
        return self.inner.put_file_if_match(
            bucket, key, src, metadata, progress, etag=etag, options=self._for(options)
        )

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        # The copy keeps the source's options (class, tags, type): it is that object, elsewhere.
        self.inner.copy(src_bucket, src_key, dst_bucket, dst_key)

    def delete(self, bucket: str, key: str) -> None:
        self.inner.delete(bucket, key)

    def delete_if_match(self, bucket: str, key: str, etag: str) -> bool:
        return self.inner.delete_if_match(bucket, key, etag)

    def list_buckets(self) -> builtins.list[BucketInfo]:
        return self.inner.list_buckets()

    def cleanup(self, bucket: str, prefix: str, older_than: timedelta) -> builtins.list[str]:
        return self.inner.cleanup(bucket, prefix, older_than)

    def set_lifecycle_rule(self, bucket: str, rule: LifecycleRule) -> None:
        self.inner.set_lifecycle_rule(bucket, rule)

    def bucket_admin(self) -> BucketAdmin:
        return self.inner.bucket_admin()
