"""What a stored object tells a boto3 caller: the file's size whatever its stored form, the user's own
metadata without deltaglider's keys, its ETag, and the stored object behind a user's key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from deltaglider.adapters.storage_options import check_options
from deltaglider.core.format.layout import lookup_keys
from deltaglider.core.format.metadata import Kind, StoredInfo, decode_value, parse
from deltaglider.errors import InvalidURLError, MetadataError, NotFoundError
from deltaglider.ports.storage import ObjectHead, StoragePort

#: An upload that changes a name's form writes the new form before removing the old: a look-up that
#: missed both had its HEADs straddle that change, and a second pass sees the new form.
_PASSES: Final = 2


def info_of(head: ObjectHead) -> StoredInfo:
    """What the object's metadata says; metadata that cannot be read makes it a plain object, as
    another tool would have stored it."""
    try:
        return parse(head.metadata, head.key)
    except MetadataError:
        return StoredInfo(kind=Kind.PLAIN)


def file_size(head: ObjectHead, info: StoredInfo) -> int:
    """The size of the file the object holds: recorded for deltas (and the files we store whole); a
    delta that records none (no writer we know of) falls back to its stored size."""
    return info.file_size if info.file_size is not None else head.size


def is_users_key(name: str) -> bool:
    """Whether a metadata key is one a user may set (not ``dg-*``, nor a bare name deltaglider reads)."""
    try:
        check_options(metadata={name: ""})
    except MetadataError:
        return False
    return True


def user_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """The user's metadata, as given to ``put_object`` (lowercased keys, as S3 returns them)."""
    return {key: decode_value(value) for key, value in metadata.items() if is_users_key(key)}


def quoted_etag(etag: str | None) -> str:
    """S3's form of an ETag: in double quotes."""
    return f'"{etag}"' if etag else '""'


def check_key(key: object) -> str:
    """A key naming a file: a non-empty string not ending in ``/`` (that would be a folder)."""
    if not isinstance(key, str) or not key:
        raise InvalidURLError(f"Key must be a non-empty string, not {key!r}")
    if key.endswith("/"):
        raise InvalidURLError(f"Key {key!r} names a folder, not a file")
    return key


def locate(storage: StoragePort, bucket: str, key: str) -> ObjectHead:
    """The stored object behind a user's key (``key`` or ``key.delta``), by HEAD; ``NotFoundError``
    when neither is there."""
    tried = lookup_keys(check_key(key))
    for _ in range(_PASSES):
        for stored in tried:
            head = storage.head(bucket, stored)
            if head is not None:
                return head
    raise NotFoundError(f"no object at {storage.url(bucket, tried[0])} nor {storage.url(bucket, tried[1])}")
