# boto3's keyword names (Bucket, Key, Body...) are the API: ruff's lowercase rule does not apply.
# ruff: noqa: N803
"""Object calls: ``put_object``, ``get_object``, ``head_object``, ``delete_object``, ``delete_objects``
and ``delete_objects_recursive``, by Bucket and Key on the client's own store, with boto3's keyword
names and answers.

- ``put_object`` spools a stream into a scratch file and stores it as any upload is (a delta where it
  can be); its ``ETag`` is the stored object's, the one ``head_object``, ``get_object`` and
  ``list_objects`` give for the same version.
- ``get_object`` and ``head_object`` give the file's size, whatever its stored form, and the user's
  metadata without deltaglider's ``dg-*`` keys. ``ContentType`` is what an upload with none would
  get (guessed from the name): the store's port reports no Content-Type, and a delta is stored as
  ``application/octet-stream`` whatever the file is.
- Deletes go through the service's removal protocol, which never orphans a file: deleting ``x.zip``
  deletes ``x.zip.delta``, and a base goes only when nothing needs it. As on S3, deleting a key that
  is not there succeeds.

Bucket and key errors are botocore ``ClientError``s that are also our errors
(:mod:`deltaglider.boto_api.errors`).
"""

from __future__ import annotations

import builtins
import os
import shutil
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final, cast

from deltaglider.adapters.storage_options import check_options, merge_options
from deltaglider.boto_api.stored import (
    check_key,
    file_size,
    info_of,
    locate,
    quoted_etag,
    user_metadata,
)
from deltaglider.boto_api.types import response_metadata
from deltaglider.core import scratch
from deltaglider.core.format.layout import DELTA_SUFFIX, is_base_name, split_key
from deltaglider.core.models import DeleteResult, DeltaSpace, ObjectKey
from deltaglider.core.put.policy import guess_type
from deltaglider.errors import NotFoundError, ReferenceInUseError
from deltaglider.ports.storage import ObjectHead, PutOptions
from deltaglider.urls import check_relative_key

if TYPE_CHECKING:
    from deltaglider.core.service import DeltaService
    from deltaglider.trees import TreeResult

_MB: Final = 1024 * 1024
#: Read from a caller's stream this much at a time while spooling it.
_SPOOL_CHUNK: Final = 1024 * 1024
#: Downloads retried when the object was replaced between the download and the HEAD that reads its
#: metadata (the answer must describe the bytes it streams).
_GET_ATTEMPTS: Final = 3


def _tags(tagging: str | None) -> dict[str, str]:
    """``Tagging``'s URL-encoded ``k=v&k2=v2``, as S3 takes it."""
    if tagging is None:
        return {}
    if not isinstance(tagging, str):
        raise TypeError(f"Tagging must be a URL-encoded string such as 'k=v&k2=v2', not {tagging!r}")
    return dict(urllib.parse.parse_qsl(tagging, keep_blank_values=True, strict_parsing=bool(tagging)))


def _split(key: str) -> tuple[str, str]:
    """(folder, name) of a key naming a file, refusing keys that would escape their folder."""
    prefix, name = split_key(check_key(key))
    if prefix:
        check_relative_key(prefix, f"Key {key!r}")
    return prefix, name


@contextmanager
def _spooled(body: object) -> Iterator[Path]:
    """The body as a file: a path given as is, anything else written to a scratch file (a stream
    copied a chunk at a time, never whole in memory)."""
    if isinstance(body, os.PathLike):
        yield Path(body)
        return
    with scratch.temporary() as folder:
        path = folder / "body"
        with open(path, "wb") as out:
            if body is None:
                pass  # an empty object, as boto3 stores for a put without a Body
            elif isinstance(body, bytes | bytearray | memoryview):
                out.write(body)
            elif isinstance(body, str):
                out.write(body.encode("utf-8"))
            elif callable(getattr(body, "read", None)):
                _copy_stream(body, out)
            else:
                raise TypeError(
                    f"Body must be bytes, str, a path or a readable stream, not {type(body).__name__}"
                )
        yield path


def _copy_stream(stream: Any, out: BinaryIO) -> None:
    while True:
        chunk = stream.read(_SPOOL_CHUNK)
        if not chunk:
            return
        out.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)


def _parse_range(text: object, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) bytes of ``Range: bytes=a-b`` (``a-``, ``-n`` too) in a file of
    ``size`` bytes; None for a header S3 would ignore (serving the whole file). ``InvalidRange`` when
    it starts past the end."""
    from deltaglider.boto_api.errors import InvalidRange

    if not isinstance(text, str) or not text.startswith("bytes=") or "," in text:
        return None
    first_text, dash, last_text = text[len("bytes=") :].strip().partition("-")
    if not dash or not (first_text.isdigit() or last_text.isdigit()):
        return None
    if first_text and last_text and not (first_text.isdigit() and last_text.isdigit()):
        return None
    if not first_text:
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise InvalidRange(
                "InvalidRange",
                "The requested range is not satisfiable",
                416,
                "GetObject",
                RangeRequested=text,
            )
        return max(size - suffix, 0), size - 1
    if not first_text.isdigit():
        return None
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last < first:
        return None
    if first >= size:
        raise InvalidRange(
            "InvalidRange",
            "The requested range is not satisfiable",
            416,
            "GetObject",
            ActualObjectSize=str(size),
            RangeRequested=text,
        )
    return first, min(last, size - 1)


def _stored_type(key: str) -> str:
    if key.endswith(DELTA_SUFFIX):
        return "delta"
    if is_base_name(split_key(key)[1]):
        return "reference"
    return "direct"


def _delete_info(result: DeleteResult | None) -> dict[str, Any]:
    """The original's account of one delete (``Type``, ``Deleted``...), with the stored keys removed."""
    if result is None:
        return {"Type": "unknown", "Deleted": False, "StoredKeys": []}
    info: dict[str, Any] = {
        "Type": _stored_type(result.key),
        "Deleted": bool(result.deleted),
        "StoredKeys": list(result.deleted),
    }
    if result.warnings:
        info["Warnings"] = list(result.warnings)
    return info


class ObjectCalls:
    """Mixed into DeltaGliderClient."""

    service: DeltaService
    _put_options: PutOptions

    # -- writing -----------------------------------------------------------------------------------

    def put_object(  # noqa: PLR0917 - the original's (and boto3's) positional order
        self,
        Bucket: str,
        Key: str,
        Body: object = None,
        Metadata: Mapping[str, str] | None = None,
        ContentType: str | None = None,
        Tagging: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Stores ``Body`` (bytes, str as UTF-8, a path, or a readable stream, spooled to a scratch
        file; None: an empty file) as the file ``Key``, a delta where it can be. ``Metadata``,
        ``ContentType``, ``Tagging`` (``"k=v&k2=v2"``) and ``StorageClass`` are stored as
        :meth:`upload` stores them; other S3 parameters are accepted and ignored, as the original
        did. The answer's ``DeltaGliderInfo`` says how the file was stored."""
        from deltaglider.boto_api.errors import boto_errors, check_bucket

        prefix, name = _split(Key)
        extra = check_options(
            tags=_tags(Tagging),
            metadata=Metadata,
            content_type=ContentType,
            storage_class=kwargs.get("StorageClass"),
        )
        options = merge_options(self._put_options, extra)
        storage = self.service.storage
        check_bucket(storage, Bucket, "PutObject")
        with boto_errors(storage, Bucket, None, "PutObject"), _spooled(Body) as path:
            summary = self.service.put(path, DeltaSpace(Bucket, prefix), name=name, options=options)
            # The object the name now denotes (the first file of a folder lives in its reference,
            # beside a zero-diff delta under its name).
            own = split_key(summary.key)[1] in (name, name + DELTA_SUFFIX)
            head = storage.head(Bucket, summary.key) if own else None
            if head is None:
                head = locate(storage, Bucket, Key)
        stored = summary.stored_size
        size = summary.file_size
        return {
            "ETag": quoted_etag(head.etag),
            "ResponseMetadata": response_metadata(200),
            "DeltaGliderInfo": {
                "OriginalSizeMB": size / _MB,
                "StoredSizeMB": stored / _MB,
                "IsDelta": summary.operation == "PUT_DELTA",
                "CompressionRatio": summary.delta_ratio if summary.operation == "PUT_DELTA" else 1.0,
                # The original's README reads this key, which its own code never set.
                "DeltaRatio": stored / size if size else 0.0,
                "SavingsPercent": (1.0 - stored / size) * 100.0 if size else 0.0,
                "StoredAs": summary.key,
                "Operation": summary.operation,
            },
        }

    # -- reading -----------------------------------------------------------------------------------

    def head_object(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """What ``get_object`` would say of the file, without its bytes (deltas included)."""
        from deltaglider.boto_api.errors import boto_errors

        with boto_errors(self.service.storage, Bucket, Key, "HeadObject"):
            head = locate(self.service.storage, Bucket, Key)
        return self._describe(head, Key, file_size(head, info_of(head)))

    def get_object(
        self, Bucket: str, Key: str, Range: str | None = None, VersionId: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The file, rebuilt and checked against its SHA-256, its ``Body`` streaming it (or the bytes
        ``Range: bytes=a-b`` asks for, answered as S3 answers with 206: ``ContentRange``, and
        ``ContentLength`` the range's). ``VersionId``: that version of the name (``list_versions``,
        ``list_object_versions``), current or kept in its history. Other S3 parameters are accepted
        and ignored."""
        from deltaglider.boto_api.body import StreamingBody
        from deltaglider.boto_api.errors import boto_errors

        storage = self.service.storage
        folder = scratch.make()
        try:
            path = folder / "file"
            with boto_errors(storage, Bucket, Key, "GetObject"):
                if VersionId is None:
                    head = self._download(Bucket, check_key(Key), path)
                else:
                    got = self.service.get(ObjectKey(Bucket, check_key(Key)), path, version=VersionId)
                    head = storage.head(Bucket, got.key)
            size = path.stat().st_size
            span = _parse_range(Range, size)
            first, last = span if span is not None else (0, size - 1)
            answer = self._describe(head, Key, size)
            stream = open(path, "rb")  # noqa: SIM115 - the body owns it, closing it on close()
            stream.seek(first)
            answer["Body"] = StreamingBody(stream, last - first + 1, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if VersionId is not None:
            answer["VersionId"] = VersionId
        if span is not None:
            answer["ContentLength"] = last - first + 1
            answer["ContentRange"] = f"bytes {first}-{last}/{size}"
            answer["ResponseMetadata"] = response_metadata(206)
        return answer

    def _download(self, bucket: str, key: str, path: Path) -> ObjectHead | None:
        """Downloads the file to ``path`` and returns the HEAD of the version downloaded (None if it
        was removed or kept changing meanwhile: the answer then carries no metadata)."""
        head: ObjectHead | None = None
        for _ in range(_GET_ATTEMPTS):
            summary = self.service.get(ObjectKey(bucket, key), path)
            head = self.service.storage.head(bucket, summary.key)
            if head is None:
                return None
            recorded = info_of(head).file_sha256
            if recorded is None or recorded == summary.hash.lower():
                return head
        return None

    def _describe(self, head: ObjectHead | None, key: str, size: int) -> dict[str, Any]:
        """``head_object``'s answer for the file ``key`` of ``size`` bytes stored as ``head``."""
        answer: dict[str, Any] = {
            "ResponseMetadata": response_metadata(200),
            "AcceptRanges": "bytes",
            "ContentLength": size,
            "ContentType": guess_type(split_key(key)[1]),
            "ETag": quoted_etag(head.etag if head is not None else None),
            "Metadata": user_metadata(head.metadata) if head is not None else {},
        }
        if head is not None and head.last_modified is not None:
            answer["LastModified"] = head.last_modified
        return answer

    # -- deleting ----------------------------------------------------------------------------------

    def _delete_one(self, bucket: str, key: str) -> DeleteResult | None:
        """Deletes the file ``key`` through the service; None when it is not there (a missing bucket
        raises ``NoSuchBucket``)."""
        from deltaglider.boto_api.errors import boto_errors, missing

        storage = self.service.storage
        with boto_errors(storage, bucket, key, "DeleteObject"):
            try:
                return self.service.delete(ObjectKey(bucket, check_key(key)))
            except NotFoundError as exc:
                # As on S3, a key that is not there is deleted already; a missing bucket is an error.
                error = missing(storage, bucket, key, "DeleteObject", exc)
                if error.response["Error"]["Code"] == "NoSuchBucket":
                    raise error from exc
                return None

    def delete_object(self, Bucket: str, Key: str, **kwargs: Any) -> dict[str, Any]:
        """Deletes the file ``Key`` (whatever its stored form; a key that is not there is no error,
        as on S3). ``DeltaGliderInfo`` says what was removed."""
        result = self._delete_one(Bucket, Key)
        return {
            "DeleteMarker": False,
            "ResponseMetadata": response_metadata(204),
            "DeltaGliderInfo": _delete_info(result),
        }

    def delete_objects(self, Bucket: str, Delete: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Deletes each ``Delete["Objects"][i]["Key"]`` as :meth:`delete_object` does. Keys removed
        (or already gone) are listed in ``Deleted`` unless ``Delete["Quiet"]``; those that could not
        be are in ``Errors`` with a code (``AccessDenied``, ``ReferenceInUse`` for a base that deltas
        need, ``InternalError``). A missing bucket raises ``NoSuchBucket``."""
        from deltaglider.boto_api.errors import S3CallError

        objects = Delete.get("Objects") if isinstance(Delete, Mapping) else None
        if not isinstance(objects, list) or not all(
            isinstance(o, Mapping) and isinstance(o.get("Key"), str) for o in objects
        ):
            raise ValueError('Delete must be {"Objects": [{"Key": "..."}, ...], "Quiet": bool}')
        quiet = bool(Delete.get("Quiet", False))
        deleted: builtins.list[dict[str, Any]] = []
        errors: builtins.list[dict[str, Any]] = []
        details: builtins.list[dict[str, Any]] = []
        for obj in objects:
            key = obj["Key"]
            try:
                result = self._delete_one(Bucket, key)
            except S3CallError as exc:
                if exc.response["Error"]["Code"] == "NoSuchBucket":
                    raise
                errors.append({"Key": key, "Code": exc.response["Error"]["Code"], "Message": str(exc)})
                continue
            except ReferenceInUseError as exc:
                errors.append({"Key": key, "Code": "ReferenceInUse", "Message": str(exc)})
                continue
            except Exception as exc:  # one key's failure is reported, the rest go on
                errors.append({"Key": key, "Code": "InternalError", "Message": str(exc)})
                continue
            info = _delete_info(result)
            item: dict[str, Any] = {"Key": key, "Type": info["Type"]}
            if result is not None and result.key != key:
                item["StoredKey"] = result.key
            if "Warnings" in info:
                item["Warnings"] = info["Warnings"]
            if not quiet:
                deleted.append(item)
            if info["Type"] in ("delta", "reference"):
                details.append({"Key": key, "StoredKey": result.key if result else key, "Type": info["Type"]})
        answer: dict[str, Any] = {"Deleted": deleted, "ResponseMetadata": response_metadata(200)}
        if errors:
            answer["Errors"] = errors
        answer["DeltaGliderInfo"] = {
            "DeltaFilesDeleted": sum(d["Type"] == "delta" for d in details),
            "ReferencesDeleted": sum(d["Type"] == "reference" for d in details),
            "Details": details,
        }
        return answer

    def delete_objects_recursive(self, Bucket: str, Prefix: str, **kwargs: Any) -> dict[str, Any]:
        """Deletes every file under the folder ``Prefix`` (the whole bucket for ``""``), and the file
        named ``Prefix`` itself when it does not end in ``/``, as the original did; then the bases
        that no file left needs. Counts as the original gave them, ``Errors`` and ``Warnings`` as
        lines."""
        from deltaglider import trees
        from deltaglider.boto_api.errors import boto_errors
        from deltaglider.urls import Place

        if not isinstance(Prefix, str):
            raise TypeError(f"Prefix must be a string, not {Prefix!r}")
        folder = Prefix if not Prefix or Prefix.endswith("/") else Prefix + "/"
        if folder:
            check_relative_key(folder.rstrip("/"), f"Prefix {Prefix!r}")
        keys: builtins.list[str] = []
        errors: builtins.list[str] = []
        warnings: builtins.list[str] = []
        if folder != Prefix:
            single = self._delete_one(Bucket, Prefix)
            if single is not None:
                keys.extend(single.deleted)
                warnings.extend(single.warnings)
        with boto_errors(self.service.storage, Bucket, None, "ListObjectsV2"):
            tree: TreeResult = trees.remove_tree(
                cast(trees.Operations, self), Place.of(f"s3://{Bucket}/{folder}")
            )
        for end in tree.ended:
            if isinstance(end, trees.Done):
                keys.extend(end.keys)
            else:
                errors.append(end.message)
        warnings.extend(tree.warnings)
        kinds = [_stored_type(key) for key in keys]
        answer: dict[str, Any] = {
            "ResponseMetadata": response_metadata(200),
            "DeletedCount": len(keys),
            "FailedCount": len(errors),
            "DeltaGliderInfo": {
                "DeltasDeleted": kinds.count("delta"),
                "ReferencesDeleted": kinds.count("reference"),
                "DirectDeleted": kinds.count("direct"),
                "OtherDeleted": 0,
            },
        }
        if errors:
            answer["Errors"] = errors
        if warnings:
            answer["Warnings"] = warnings
        return answer
