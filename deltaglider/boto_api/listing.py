# boto3's keyword names (Bucket, Prefix, MaxKeys...) are the API: ruff's lowercase rule does not apply.
# ruff: noqa: N803
"""``list_objects``: ListObjectsV2's answer over the files a bucket holds, as a boto3 caller knows
them: ``x.zip`` for ``x.zip.delta``, ``Size`` the file's size, and the objects deltaglider keeps for
itself (``reference.bin`` and the other bases, removal markers, the original's ``.deltaglider/``
helper objects, folder markers) never shown.

Pagination is over those names, not over the stored keys: stripping ``.delta`` can move a name
before keys that sort ahead of its stored key (``a.zip.delta`` lists as ``a.zip``, before
``a.zip-1``), so a page is cut where no key still unread can produce a name before its last one.
Every name comes exactly once across the pages, in order; a ``NextContinuationToken`` is the last
name (or common prefix) of its page, and ``StartAfter`` any name. Keys and common prefixes count
together against ``MaxKeys`` (at most 1,000 a page, as on S3). With ``Delimiter="/"`` a sub-folder
is a common prefix when the store holds any object under it (one left holding only a base shows too:
telling would cost a listing of each sub-folder).

What a page costs: the store's listing from the name it starts after up to the page's end, and
one HEAD per delta on the page, 16 at once: a listing carries no metadata, and a delta's file size is
recorded only in its metadata. Files stored whole cost no HEAD on S3 (a folder store's listing
carries no ETag: there each file is HEADed, a local read). ``FetchMetadata=True`` HEADs every file
of the page, to add each one's user metadata to its ``Metadata``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from deltaglider.boto_api.stored import file_size, info_of, quoted_etag, user_metadata
from deltaglider.boto_api.types import response_metadata
from deltaglider.core.format.layout import DELTA_SUFFIX, display_name, is_helper_key
from deltaglider.core.format.locate import likely_keys
from deltaglider.core.format.metadata import Kind
from deltaglider.core.listing import in_order
from deltaglider.ports.storage import ObjectHead, StoragePort

if TYPE_CHECKING:
    from deltaglider.core.service import DeltaService

#: S3 answers at most this many keys and common prefixes a page, whatever MaxKeys asks.
PAGE_LIMIT: Final = 1000
_TOKEN_PREFIX: Final = "dg1:"


def encode_token(name: str) -> str:
    return base64.urlsafe_b64encode((_TOKEN_PREFIX + name).encode("utf-8")).decode("ascii")


def decode_token(token: object) -> str:
    """The name a continuation token stands for; ``InvalidArgument`` for one this client did not make."""
    from deltaglider.boto_api.errors import InvalidArgument

    try:
        if not isinstance(token, str):
            raise ValueError(token)
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        text = ""
    if not text.startswith(_TOKEN_PREFIX):
        raise InvalidArgument(
            "InvalidArgument",
            "The continuation token provided is incorrect",
            400,
            "ListObjectsV2",
            ArgumentName="continuation-token",
        )
    return text[len(_TOKEN_PREFIX) :]


def _hidden(key: str) -> bool:
    """Objects deltaglider keeps for itself: bases, removal markers, helper objects, folder markers."""
    return is_helper_key(key) or key.endswith("/") or display_name(key) is None


@dataclass
class _Item:
    """One entry of a page: a common prefix, or a file with its stored form(s)."""

    name: str
    is_prefix: bool
    stored: list[ObjectHead] = field(default_factory=list)


class _Page:
    """The first ``limit + 1`` entries after ``after``, as the store's objects come in key order."""

    def __init__(self, prefix: str, delimiter: str, after: str, limit: int) -> None:
        self._prefix = prefix
        self._delimiter = delimiter
        self._after = after
        self._keep = limit + 1
        self.names: list[str] = []  # sorted
        self.items: dict[str, _Item] = {}

    def rolled(self, name: str) -> tuple[str, bool]:
        """The entry a name is listed as: itself, or the common prefix it falls under."""
        if self._delimiter:
            at = name.find(self._delimiter, len(self._prefix))
            if at >= 0:
                return name[: at + len(self._delimiter)], True
        return name, False

    def add(self, obj: ObjectHead) -> None:
        if obj.is_prefix:
            if is_helper_key(obj.key):
                return
            name, is_prefix = obj.key, True
        else:
            if _hidden(obj.key):
                return
            name, is_prefix = self.rolled(obj.key.removesuffix(DELTA_SUFFIX))
        if name <= self._after:
            return
        item = self.items.get(name)
        if item is None:
            if len(self.names) == self._keep and name > self.names[-1]:
                return
            item = self.items[name] = _Item(name, is_prefix)
            bisect.insort(self.names, name)
            if len(self.names) > self._keep:
                del self.items[self.names.pop()]
        if not is_prefix:
            item.stored.append(obj)

    def complete_after(self, key: str) -> bool:
        """Whether no key after ``key`` (the last one read) can add an entry to a full page. A key
        sorting after it lists after it, unless it is ``<p>.delta`` for a ``p`` that starts ``key``
        (``a.zip.delta`` after ``a.zip-1``, listed as ``a.zip``), which can only be when what
        follows ``p`` in ``key`` sorts before ``.delta``. (A key after it falling under a common
        prefix that sorts before it falls under one already on the page.)"""
        if len(self.names) < self._keep:
            return False
        last = self.names[-1]
        for end in range(len(key), 0, -1):
            if end < len(key) and key[end:] >= DELTA_SUFFIX:
                continue
            if self._after < key[:end] <= last:
                return False
        return True


def _page(
    objects: Iterable[ObjectHead], prefix: str, delimiter: str, after: str, limit: int
) -> tuple[list[_Item], bool]:
    """The page's entries in order, and whether more follow."""
    page = _Page(prefix, delimiter, after, limit)
    for obj in objects:
        page.add(obj)
        if page.complete_after(obj.key):
            break
    entries = [page.items[name] for name in page.names]
    return entries[:limit], len(entries) > limit


def _chosen(item: _Item, *, original_compatible: bool) -> ObjectHead:
    """A name left in both forms (an upload interrupted between writing one and removing the other)
    is listed as the form a download reads first."""
    if len(item.stored) == 1:
        return item.stored[0]
    first = likely_keys(item.name, original_compatible=original_compatible)[0]
    return next((obj for obj in item.stored if obj.key == first), item.stored[0])


def _listed(obj: ObjectHead, name: str, head: ObjectHead | None, *, fetch_metadata: bool) -> dict[str, Any]:
    """One ``Contents`` entry; ``head`` is the object's HEAD when one was made."""
    info = info_of(head) if head is not None else None
    is_delta = info is not None and info.kind is Kind.DELTA
    size = file_size(head, info) if head is not None and info is not None else obj.size
    ours: dict[str, str] = {
        "deltaglider-is-delta": "true" if is_delta else "false",
        "deltaglider-original-size": str(size),
        "deltaglider-compression-ratio": f"{obj.size / size:.4f}" if is_delta and size else "0.0",
    }
    if is_delta and info is not None and info.ref_key:
        ours["deltaglider-reference-key"] = info.ref_key
    metadata = {**user_metadata(head.metadata), **ours} if fetch_metadata and head is not None else ours
    entry: dict[str, Any] = {"Key": name, "Size": size}
    if obj.last_modified is not None:
        entry["LastModified"] = obj.last_modified
    entry["ETag"] = quoted_etag(head.etag if head is not None else obj.etag)
    entry["StorageClass"] = "STANDARD"
    entry["Metadata"] = metadata
    return entry


def _check_max_keys(value: object) -> int:
    from deltaglider.boto_api.errors import InvalidArgument

    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgument(
            "InvalidArgument",
            f"MaxKeys must be a whole number from 0, not {value!r}",
            400,
            "ListObjectsV2",
            ArgumentName="max-keys",
        )
    return value


class ListingCalls:
    """Mixed into DeltaGliderClient."""

    service: DeltaService

    def list_objects(  # noqa: PLR0917 - the original's positional order
        self,
        Bucket: str,
        Prefix: str = "",
        Delimiter: str = "",
        MaxKeys: int = 1000,
        ContinuationToken: str | None = None,
        StartAfter: str | None = None,
        FetchMetadata: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """ListObjectsV2's answer over the files under ``Prefix`` (module doc: names, sizes, what is
        hidden, pages and their cost). ``EncodingType`` is echoed; keys come back decoded, as boto3
        gives them. Other S3 parameters are accepted and ignored."""
        from deltaglider.boto_api.errors import boto_errors

        max_keys = _check_max_keys(MaxKeys)
        for name, value in (("Prefix", Prefix), ("Delimiter", Delimiter)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, not {value!r}")
        after = decode_token(ContinuationToken) if ContinuationToken is not None else StartAfter or ""
        storage = self.service.storage
        with boto_errors(storage, Bucket, None, "ListObjectsV2"):
            # A stored key holds its name as a prefix (``a.zip`` in ``a.zip.delta``), so no key at or
            # before ``after`` lists a name after it: the store's listing resumes there.
            objects = storage.list(Bucket, Prefix, recursive=Delimiter != "/", start_after=after)
            entries, truncated = _page(objects, Prefix, Delimiter, after, min(max_keys, PAGE_LIMIT))
            contents = self._contents(storage, Bucket, entries, fetch_metadata=bool(FetchMetadata))
        prefixes = [{"Prefix": e.name} for e in entries if e.is_prefix]
        answer: dict[str, Any] = {
            "ResponseMetadata": response_metadata(200),
            "IsTruncated": truncated and max_keys > 0,
            "Contents": contents,
            "Name": Bucket,
            "Prefix": Prefix,
        }
        if Delimiter:
            answer["Delimiter"] = Delimiter
        answer["MaxKeys"] = max_keys
        if prefixes:
            answer["CommonPrefixes"] = prefixes
        if "EncodingType" in kwargs:
            answer["EncodingType"] = kwargs["EncodingType"]
        answer["KeyCount"] = len(contents) + len(prefixes)
        if ContinuationToken is not None:
            answer["ContinuationToken"] = ContinuationToken
        if answer["IsTruncated"]:
            answer["NextContinuationToken"] = encode_token(entries[-1].name)
        if StartAfter is not None:
            answer["StartAfter"] = StartAfter
        return answer

    def list_object_versions(self, Bucket: str, Prefix: str = "", **kwargs: Any) -> dict[str, Any]:
        """ListObjectVersions' answer for the names in the folder ``Prefix`` points into (up to its
        last ``/``) that start with the rest of it: each name's current version (``IsLatest``) and
        those its history keeps (``create_client(keep_history=True)``), newest first, with
        ``VersionId`` for ``get_object(..., VersionId=...)``. ``Size`` is the file's. A history has no
        delete markers: a name deleted with its history kept shows its versions, none of them latest.
        One page, whatever ``MaxKeys``; other S3 parameters are accepted and ignored."""
        from deltaglider.boto_api.errors import boto_errors
        from deltaglider.core.models import ObjectKey

        if not isinstance(Prefix, str):
            raise TypeError(f"Prefix must be a string, not {Prefix!r}")
        folder, _, stem = Prefix.rpartition("/")
        with boto_errors(self.service.storage, Bucket, None, "ListObjectVersions"):
            found = self.service.versions(ObjectKey(Bucket, folder + "/" if folder else ""))
        versions = [
            {
                "ETag": quoted_etag(None),
                "Size": version.size if version.size is not None else version.stored_size,
                "StorageClass": "STANDARD",
                "Key": f"{folder}/{version.name}" if folder else version.name,
                "VersionId": version.version_id,
                "IsLatest": version.is_current,
                "LastModified": version.created_at,
                "ChecksumSHA256": version.sha256,
            }
            for version in found
            if version.name.startswith(stem)
        ]
        return {
            "ResponseMetadata": response_metadata(200),
            "IsTruncated": False,
            "Versions": versions,
            "DeleteMarkers": [],
            "Name": Bucket,
            "Prefix": Prefix,
            "MaxKeys": kwargs.get("MaxKeys", 1000),
        }

    def _contents(
        self, storage: StoragePort, bucket: str, entries: list[_Item], *, fetch_metadata: bool
    ) -> list[dict[str, Any]]:
        """The page's files, HEADing the deltas (and with ``fetch_metadata`` every file), 16 at once;
        a file removed since it was listed is left out."""
        compatible = self.service.original_compatible
        files = [(e.name, _chosen(e, original_compatible=compatible)) for e in entries if not e.is_prefix]

        def described(item: tuple[str, ObjectHead]) -> dict[str, Any] | None:
            name, obj = item
            # A folder store's listing names no version: its HEAD (a local read) gives the ETag.
            if not (fetch_metadata or obj.etag is None or obj.key.endswith(DELTA_SUFFIX)):
                return _listed(obj, name, None, fetch_metadata=False)
            head = storage.head(bucket, obj.key)
            return None if head is None else _listed(obj, name, head, fetch_metadata=fetch_metadata)

        found: Iterator[dict[str, Any] | None] = in_order(files, described)
        return [entry for entry in found if entry is not None]
