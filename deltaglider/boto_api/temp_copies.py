"""Whole copies of delta-stored files, for links: the original DeltaGlider's ``.deltaglider/tmp/``.

A presigned GET of a delta would hand out the delta, so a file stored as one is rebuilt and written
whole as ``.deltaglider/tmp/<32 hex>_<file name>``, with the original's metadata: ``dg-expires-at``
(when it may be removed, ISO 8601 in UTC without an offset, as the original writes it),
``dg-original-key`` (the stored key, ``.delta`` included), ``dg-original-filename``,
``dg-rehydrated`` (``true``) and ``dg-created-at``. Nothing removes a copy by itself: a purge (ours
or the original's ``deltaglider purge``) removes those whose expiry has passed, and only those. The
listings of this project and of the original hide the ``.deltaglider/`` folder.
"""

from __future__ import annotations

import posixpath
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from deltaglider.core import scratch
from deltaglider.core.format.layout import DELTA_SUFFIX, HELPER_FOLDER
from deltaglider.core.models import ObjectKey
from deltaglider.core.put.policy import guess_type
from deltaglider.core.service import DeltaService
from deltaglider.errors import DeltaGliderError
from deltaglider.ports.storage import PutOptions, StoragePort

#: Where the copies live, in the bucket of the file they copy.
TMP_PREFIX: Final = HELPER_FOLDER + "tmp/"
EXPIRES_AT: Final = "dg-expires-at"
ORIGINAL_KEY: Final = "dg-original-key"
ORIGINAL_FILENAME: Final = "dg-original-filename"
REHYDRATED: Final = "dg-rehydrated"
CREATED_AT: Final = "dg-created-at"
#: Bytes kept as they are in a metadata value: printable ASCII (S3 metadata travels in headers).
_HEADER_SAFE: Final = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def check_expires_in(expires_in: int) -> int:
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in < 0:
        raise ValueError(f"ExpiresIn must be a whole number of seconds from 0, not {expires_in!r}")
    return expires_in


def file_name(stored_key: str) -> str:
    """The name a user knows the stored object by: its last component, without ``.delta``."""
    return posixpath.basename(stored_key.removesuffix(DELTA_SUFFIX))


def _header_value(text: str) -> str:
    return urllib.parse.quote(text, safe=_HEADER_SAFE)


def _utc_text(moment: datetime) -> str:
    """A UTC moment as the original writes one (``datetime.isoformat`` of a naive UTC time)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def expiry(metadata: Mapping[str, str]) -> datetime | None:
    """When a copy may go, from its metadata (a time with no offset is UTC, as the original
    means it); None when it names none, or none readable."""
    text = metadata.get(EXPIRES_AT)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def copy_key(stored_key: str) -> str:
    """A new key for a copy of the file stored under ``stored_key``."""
    return f"{TMP_PREFIX}{uuid.uuid4().hex}_{file_name(stored_key)}"


def write_copy(service: DeltaService, bucket: str, stored_key: str, key: str, expires_in: int) -> None:
    """Rebuilds the file stored under ``stored_key`` and writes it whole under ``key``, to expire
    in ``expires_in`` seconds."""
    name = file_name(stored_key)
    with scratch.temporary() as folder:
        rebuilt = folder / "file"
        service.get(ObjectKey(bucket, stored_key), rebuilt)
        now = datetime.now(UTC)
        metadata = {
            EXPIRES_AT: _utc_text(now + timedelta(seconds=expires_in)),
            ORIGINAL_KEY: _header_value(stored_key),
            ORIGINAL_FILENAME: _header_value(name),
            REHYDRATED: "true",
            CREATED_AT: _utc_text(now),
        }
        service.storage.put_file(
            bucket, key, rebuilt, metadata, options=PutOptions(content_type=guess_type(name))
        )


def attachment(name: str) -> str:
    """A Content-Disposition that saves the download under ``name``."""
    if name.isascii() and '"' not in name and "\\" not in name:
        return f'attachment; filename="{name}"'
    fallback = name.encode("ascii", "replace").decode().replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


@dataclass
class ExpiredCopy:
    key: str
    size: int
    expires_at: str  # as the copy's metadata says it
    etag: str | None = None


@dataclass
class Scan:
    """The copies in a bucket's ``.deltaglider/tmp/`` whose expiry has passed, and what could not be
    read."""

    expired: list[ExpiredCopy] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def scan(storage: StoragePort, bucket: str, now: datetime) -> Scan:
    found = Scan()
    for entry in storage.list(bucket, TMP_PREFIX, recursive=True):
        if entry.is_prefix or not entry.key.startswith(TMP_PREFIX):
            continue
        try:
            head = storage.head(bucket, entry.key)
        except DeltaGliderError as exc:  # one unreadable copy must not stop the purge of the others
            found.errors.append(f"Error processing {entry.key}: {exc}")
            continue
        if head is None:  # removed meanwhile
            continue
        expires_at = expiry(head.metadata)
        if expires_at is not None and now >= expires_at:
            found.expired.append(ExpiredCopy(entry.key, head.size, head.metadata[EXPIRES_AT], head.etag))
    return found


def purge(storage: StoragePort, bucket: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Removes the expired copies (each only as it was judged: one rewritten since stays) and
    reports in the original's terms; ``dry_run`` removes nothing."""
    started = time.monotonic()
    found = scan(storage, bucket, datetime.now(UTC))
    deleted: list[ExpiredCopy] = []
    errors = list(found.errors)
    if not dry_run:
        for copy in found.expired:
            try:
                if copy.etag is None:
                    storage.delete(bucket, copy.key)
                elif not storage.delete_if_match(bucket, copy.key, copy.etag):
                    continue  # rewritten or removed since it was read
            except DeltaGliderError as exc:
                errors.append(f"Error processing {copy.key}: {exc}")
                continue
            deleted.append(copy)
    result: dict[str, Any] = {
        "bucket": bucket,
        "prefix": TMP_PREFIX,
        "deleted_count": len(deleted),
        "expired_count": len(found.expired),
        "error_count": len(errors),
        "total_size_freed": sum(copy.size for copy in deleted),
        "duration_seconds": time.monotonic() - started,
        "errors": errors,
    }
    if dry_run:
        result["dry_run"] = True
        result["would_delete_count"] = len(found.expired)
        result["total_size_to_free"] = sum(copy.size for copy in found.expired)
        result["expired_files"] = [
            {"key": copy.key, "size": copy.size, "expires_at": copy.expires_at} for copy in found.expired
        ]
    return result
