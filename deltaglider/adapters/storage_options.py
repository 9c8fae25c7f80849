"""A storage decorator that decides how each object is stored: tags, storage class, Content-Type and
user metadata, by what the object is.

The core writes three kinds of objects and knows nothing of these options; this wrapper reads each
write's ``dg-*`` metadata and applies the client's (and the upload's) options to fit:

- a reference (``reference.bin``) gets no tags, no user metadata and no archive storage class: every
  delta of its DeltaSpace needs it readable at once, and it is not the file of any one upload;
- a delta gets the tags, the user metadata and the storage class, and is sent as
  ``application/octet-stream`` (its bytes are a VCDIFF delta, not the file);
- a file stored whole gets all of it, with the Content-Type given or guessed from its name.

Every object other than a reference also carries the tag ``dg-kind=file``: the lifecycle rules that
``lifecycle_policy`` writes filter on it, so that they can archive and expire files and deltas while
never touching a reference (S3 rules cannot exclude a key, only select by prefix and tags).
"""

from __future__ import annotations

import builtins
import mimetypes
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Final

from deltaglider.core.format.layout import is_base_name, split_key
from deltaglider.core.format.metadata import Kind, encode_value, parse, read_field
from deltaglider.errors import MetadataError
from deltaglider.ports.storage import (
    BucketInfo,
    LifecycleRule,
    ObjectHead,
    ProgressCallback,
    PutOptions,
    StoragePort,
)

__all__ = [
    "ARCHIVE_CLASSES",
    "FILE_TAG",
    "OptionsStorage",
    "check_options",
]

#: The tag on every object but references; lifecycle rules select by it.
FILE_TAG: Final = ("dg-kind", "file")

#: Storage classes whose objects cannot be read at once (or only at a retrieval fee per read): a
#: reference is never put there.
ARCHIVE_CLASSES: Final = frozenset({"GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"})

#: What a delta's bytes are, whatever the file's type.
DELTA_CONTENT_TYPE: Final = "application/octet-stream"

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


def _merge(base: PutOptions, extra: PutOptions) -> PutOptions:
    tags = {**base.tags, **extra.tags}
    if len(tags) > _MAX_TAGS - 1:
        raise MetadataError(f"at most {_MAX_TAGS - 1} tags per upload, client's and upload's together")
    return PutOptions(
        content_type=extra.content_type or base.content_type,
        storage_class=extra.storage_class or base.storage_class,
        tags=tags,
        metadata={**base.metadata, **extra.metadata},
    )


def _guess_type(name: str) -> str:
    kind, encoding = mimetypes.guess_type(name, strict=False)
    if encoding is not None:
        # ``app.tar.gz`` is a gzip stream to anyone fetching it.
        return {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}.get(
            encoding, DELTA_CONTENT_TYPE
        )
    return kind or DELTA_CONTENT_TYPE


class OptionsStorage:
    """``StoragePort`` over ``inner`` that applies ``options`` to every write, by object kind."""

    def __init__(self, inner: StoragePort, options: PutOptions | None = None) -> None:
        self.inner = inner
        self.options = options or PutOptions()

    def with_options(self, extra: PutOptions) -> OptionsStorage:
        """The same store with ``extra`` on top of these options (one upload's)."""
        return OptionsStorage(self.inner, _merge(self.options, extra))

    def _for(self, key: str, metadata: Mapping[str, str], given: PutOptions | None) -> PutOptions:
        options = self.options if given is None else _merge(self.options, given)
        kind = parse(metadata, key).kind
        if kind is Kind.REFERENCE or is_base_name(split_key(key)[1]):
            # Every base (a snapshot too): never archived, never removed by a lifecycle rule.
            storage_class = options.storage_class
            if storage_class in ARCHIVE_CLASSES:
                storage_class = None
            return PutOptions(storage_class=storage_class)
        if kind is Kind.WHOLE and read_field(metadata, "fingerprint"):
            # A file stored whole that later deltas may need as their base: a lifecycle rule must
            # not expire or archive it under them (it goes by retention, which keeps it for them).
            storage_class = None if options.storage_class in ARCHIVE_CLASSES else options.storage_class
            name = read_field(metadata, "original_name") or split_key(key)[1]
            content_type = options.content_type or _guess_type(name)
            return replace(options, content_type=content_type, storage_class=storage_class)
        tags = {**options.tags, FILE_TAG[0]: FILE_TAG[1]}
        if kind is Kind.DELTA:
            return replace(options, content_type=DELTA_CONTENT_TYPE, tags=tags)
        name = read_field(metadata, "original_name") or split_key(key)[1]
        return replace(options, content_type=options.content_type or _guess_type(name), tags=tags)

    # -- the port ------------------------------------------------------------------------------

    def url(self, bucket: str, key: str) -> str:
        return self.inner.url(bucket, key)

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        return self.inner.head(bucket, key)

    def list(self, bucket: str, prefix: str, *, recursive: bool = True) -> Iterator[ObjectHead]:
        return self.inner.list(bucket, prefix, recursive=recursive)

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
    ) -> None:
        self.inner.put_file(bucket, key, src, metadata, progress, options=self._for(key, metadata, options))

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
        return self.inner.put_file_if_absent(
            bucket, key, src, metadata, progress, options=self._for(key, metadata, options)
        )

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
            bucket, key, src, metadata, progress, etag=etag, options=self._for(key, metadata, options)
        )

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
