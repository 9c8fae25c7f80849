"""The S3 storage adapter: ``StoragePort`` over a boto3 S3 client.

Large files go through boto3's managed transfers (multipart above ``multipart_threshold``, parts read
from disk as they are sent), so there is no 5 GB single-PUT limit and no file is held in memory. The
one operation boto3's transfer manager cannot do is a *conditional* create, so ``put_file_if_absent``
drives the multipart upload itself and completes it with ``If-None-Match: *``.

Every upload carries a checksum that S3 verifies before it stores the body (``ChecksumAlgorithm``,
CRC32 by default, on PutObject and on each UploadPart, whatever ``request_checksum_calculation`` the
client was configured with), so a body corrupted in flight is refused rather than stored.

Every boto3/botocore failure is translated once, by ``_ERROR_TABLE``, into the errors of
``deltaglider.errors``; the botocore exception stays reachable as ``__cause__``.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from deltaglider.errors import AccessDeniedError, DeltaGliderError, NotFoundError, StorageError
from deltaglider.ports.storage import ObjectHead, ProgressCallback

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

__all__ = ["CONTENT_TYPE", "S3Storage"]

log = logging.getLogger(__name__)

#: Every object is opaque bytes to us, as it was to the original.
CONTENT_TYPE = "application/octet-stream"

# S3's multipart limits: parts of at least 5 MiB (except the last), at most 5 GiB, at most 10,000.
_MIN_PART_SIZE = 5 * 1024 * 1024
_MAX_PART_SIZE = 5 * 1024 * 1024 * 1024
_MAX_PARTS = 10_000

#: S3 answers 409 ConditionalRequestConflict when another write to the key is in flight and asks the
#: caller to retry; a few attempts are enough for the race to settle one way or the other.
_CONFLICT_ATTEMPTS = 4
_CONFLICT_BACKOFF_S = 0.05

#: S3 error codes (or bare HTTP statuses: HEAD responses carry no error body) -> our errors.
#: Anything not listed becomes ``StorageError``.
_ERROR_TABLE: dict[str, type[DeltaGliderError]] = {
    "NoSuchKey": NotFoundError,
    "NoSuchBucket": NotFoundError,
    "NotFound": NotFoundError,
    "404": NotFoundError,
    "AccessDenied": AccessDeniedError,
    "Forbidden": AccessDeniedError,
    "403": AccessDeniedError,
    "InvalidAccessKeyId": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "AllAccessDisabled": AccessDeniedError,
    "ExpiredToken": AccessDeniedError,
    "InvalidToken": AccessDeniedError,
}

#: A conditional create lost: the key already exists.
_PRECONDITION_FAILED = frozenset({"PreconditionFailed", "412"})
#: A conditional create collided with another write in flight (retry).
_CONDITIONAL_CONFLICT = frozenset({"ConditionalRequestConflict"})

#: What boto3, botocore and the transfer manager raise for a failed request.
_BOTO_ERRORS = (ClientError, BotoCoreError, Boto3Error)


def _error_code(exc: BaseException) -> str:
    """The S3 error code of a ClientError, falling back to its HTTP status ("404" for a HEAD)."""
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code") or "")
    if not code:
        code = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")
    return code


def _botocore_cause(exc: BaseException) -> BaseException:
    """The botocore error behind ``exc``.

    boto3's transfer helpers wrap it: ``upload_file`` raises ``S3UploadFailedError`` while handling the
    ``ClientError`` (implicit ``__context__``), ``download_file`` raises ``RetriesExceededError`` with
    ``last_exception``. The error table needs the S3 code, which only the inner error carries.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ClientError | BotoCoreError):
            found: BaseException = current
            return found
        seen.add(id(current))
        last = getattr(current, "last_exception", None)
        current = (
            current.__cause__ or current.__context__ or (last if isinstance(last, BaseException) else None)
        )
    return exc


def _translate(exc: BaseException, operation: str, bucket: str, key: str) -> DeltaGliderError:
    """One of our errors for a failed S3 call, with a message naming the call and the object."""
    where = f"{operation} s3://{bucket}/{key}"
    cause = _botocore_cause(exc)
    if isinstance(cause, ClientError):
        code = _error_code(cause)
        message = str(cause.response.get("Error", {}).get("Message") or "")
        error_class = _ERROR_TABLE.get(code, StorageError)
        return error_class(f"{where}: {code}" + (f" ({message})" if message else ""))
    # Connection refused, timeouts, missing credentials...: botocore's own message says which.
    return StorageError(f"{where}: {cause}")


@contextmanager
def _s3_errors(operation: str, bucket: str, key: str) -> Iterator[None]:
    try:
        yield
    except _BOTO_ERRORS as exc:
        raise _translate(exc, operation, bucket, key) from _botocore_cause(exc)


def _strip_etag(etag: str | None) -> str | None:
    # S3 quotes ETags in headers and listings alike; callers compare them, so store them bare.
    return etag.strip('"') if etag else None


def _s3_metadata(bucket: str, key: str, metadata: Mapping[str, str]) -> dict[str, str]:
    """User metadata as S3 stores it: lowercase keys, ASCII values (they travel as HTTP headers).

    S3 would lowercase the keys anyway; doing it here makes what we send equal what HEAD returns.
    Non-ASCII values are refused here with a clear message instead of failing inside the HTTP layer
    or being mangled by the store.
    """
    result: dict[str, str] = {}
    for name, value in metadata.items():
        if not (name.isascii() and value.isascii()):
            raise StorageError(
                f"PutObject s3://{bucket}/{key}: metadata {name!r} must be ASCII to travel as an "
                f"S3 header (got {value!r})"
            )
        result[name.lower()] = value
    return result


def _part_size(configured: int, file_size: int) -> int:
    """A part size near the configured one that stays within S3's multipart limits."""
    size = min(max(configured, _MIN_PART_SIZE), _MAX_PART_SIZE)
    while -(-file_size // size) > _MAX_PARTS:
        size *= 2
    return min(size, _MAX_PART_SIZE)


class S3Storage:
    """``StoragePort`` on S3 (or any S3-compatible store boto3 can talk to).

    ``s3_client`` is a boto3 S3 client (its endpoint, credentials and retry settings are the caller's);
    ``transfer_config`` a ``boto3.s3.transfer.TransferConfig`` for the managed transfers (default:
    boto3's, which is 8 MiB multipart threshold and part size, 10 threads); ``checksum_algorithm`` the
    checksum every upload carries (``CRC32``, ``CRC32C``, ``SHA1``, ``SHA256``; None only for a store
    that rejects checksum headers).
    """

    def __init__(
        self,
        s3_client: S3Client,
        *,
        transfer_config: TransferConfig | None = None,
        checksum_algorithm: str | None = "CRC32",
    ) -> None:
        self._client = s3_client
        self._config: Any = transfer_config if transfer_config is not None else TransferConfig()
        self._checksum: dict[str, Any] = (
            {"ChecksumAlgorithm": checksum_algorithm} if checksum_algorithm else {}
        )
        # botocore learned If-None-Match on PutObject/CompleteMultipartUpload in 1.35.2 (August 2024);
        # an older one rejects the parameter client-side. Checked once so the error can say why.
        model = s3_client.meta.service_model
        self._conditional_writes = all(
            "IfNoneMatch" in model.operation_model(op).input_shape.members
            for op in ("PutObject", "CompleteMultipartUpload")
        )

    # -- reads ---------------------------------------------------------------------------------

    def url(self, bucket: str, key: str) -> str:
        return f"s3://{bucket}/{key}"

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        try:
            response = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            # HEAD has no error body: a missing key (or bucket) is just a 404.
            if _ERROR_TABLE.get(_error_code(exc)) is NotFoundError:
                return None
            raise _translate(exc, "HeadObject", bucket, key) from exc
        except _BOTO_ERRORS as exc:
            raise _translate(exc, "HeadObject", bucket, key) from _botocore_cause(exc)
        return ObjectHead(
            bucket=bucket,
            key=key,
            size=response["ContentLength"],
            metadata={name.lower(): value for name, value in response.get("Metadata", {}).items()},
            etag=_strip_etag(response.get("ETag")),
            last_modified=response.get("LastModified"),
        )

    def list(self, bucket: str, prefix: str, *, recursive: bool = True) -> Iterator[ObjectHead]:
        # The paginator follows continuation tokens to the end: no cap on the number of keys.
        paginator = self._client.get_paginator("list_objects_v2")
        with _s3_errors("ListObjectsV2", bucket, prefix):
            pages = (
                paginator.paginate(Bucket=bucket, Prefix=prefix)
                if recursive
                else paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
            )
            for page in pages:
                found = [
                    ObjectHead(
                        bucket=bucket,
                        key=entry["Key"],
                        size=entry["Size"],
                        etag=_strip_etag(entry.get("ETag")),
                        last_modified=entry.get("LastModified"),
                    )
                    for entry in page.get("Contents", [])
                ]
                found.extend(
                    ObjectHead(bucket=bucket, key=common["Prefix"], size=0, is_prefix=True)
                    for common in page.get("CommonPrefixes", [])
                )
                # S3 pages are consecutive key ranges: ordering each page orders the whole listing.
                yield from sorted(found, key=lambda head: head.key)

    def get_file(self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None = None) -> None:
        # download_file writes to a temporary sibling and renames it into place when complete, so a
        # failed transfer leaves nothing at ``dest``.
        with _s3_errors("GetObject", bucket, key):
            self._client.download_file(bucket, key, str(dest), Callback=progress, Config=self._config)

    # -- writes --------------------------------------------------------------------------------

    def put_file(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
    ) -> None:
        extra = {
            "Metadata": _s3_metadata(bucket, key, metadata),
            "ContentType": CONTENT_TYPE,
            **self._checksum,
        }
        # A single PUT is atomic; a multipart upload becomes visible only on completion, and the
        # transfer manager aborts it on failure. Either way no partial object is ever visible.
        with _s3_errors("PutObject", bucket, key):
            self._client.upload_file(
                str(src), bucket, key, ExtraArgs=extra, Callback=progress, Config=self._config
            )

    def put_file_if_absent(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
    ) -> bool:
        """Creates ``key`` with ``If-None-Match: *`` (PutObject, or CompleteMultipartUpload for a
        file at or above ``multipart_threshold``): S3 decides atomically, 412 means another writer's
        object is there.

        A store that ignores the header would let a racing writer replace our object; the ETag
        check after the write catches the case where that writer finished first.

        ``progress`` (beyond the port, which has none here yet) is told each part as it is sent, or
        the whole size once a single PUT succeeded.
        """
        if not self._conditional_writes:
            raise StorageError(
                f"PutObject s3://{bucket}/{key}: this botocore has no IfNoneMatch parameter for "
                "PutObject/CompleteMultipartUpload; conditional create needs botocore >= 1.35.2 "
                "(boto3 >= 1.35.2)"
            )
        meta = _s3_metadata(bucket, key, metadata)
        size = src.stat().st_size
        for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
            try:
                if size >= self._config.multipart_threshold:
                    etag = self._multipart_create(bucket, key, src, size, meta, progress=progress)
                else:
                    with src.open("rb") as body:
                        response = self._client.put_object(
                            Bucket=bucket,
                            Key=key,
                            Body=body,
                            Metadata=meta,
                            ContentType=CONTENT_TYPE,
                            IfNoneMatch="*",
                            **self._checksum,
                        )
                    etag = response.get("ETag")
                    if progress is not None:
                        progress(size)
            except ClientError as exc:
                code = _error_code(exc)
                if code in _PRECONDITION_FAILED:
                    return False
                if code in _CONDITIONAL_CONFLICT and attempt < _CONFLICT_ATTEMPTS:
                    # Another write to this key is in flight. If it created the object we lost;
                    # otherwise (it failed, or was a delete) try again.
                    if self.head(bucket, key) is not None:
                        return False
                    time.sleep(_CONFLICT_BACKOFF_S * attempt)
                    continue
                raise _translate(exc, "PutObject", bucket, key) from exc
            except _BOTO_ERRORS as exc:
                raise _translate(exc, "PutObject", bucket, key) from _botocore_cause(exc)
            return self._still_ours(bucket, key, etag)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def delete(self, bucket: str, key: str) -> None:
        try:
            self._client.delete_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            # S3 answers 204 for a missing key; some compatible stores say NoSuchKey instead.
            if _error_code(exc) == "NoSuchKey":
                return
            raise _translate(exc, "DeleteObject", bucket, key) from exc
        except _BOTO_ERRORS as exc:
            raise _translate(exc, "DeleteObject", bucket, key) from _botocore_cause(exc)

    def cleanup(self, bucket: str, prefix: str, older_than: timedelta) -> builtins.list[str]:
        """Aborts the multipart uploads under ``prefix`` started more than ``older_than`` ago (left by
        a killed writer: invisible, but their parts are billed until aborted)."""
        cutoff = datetime.now(UTC) - older_than
        removed: builtins.list[str] = []
        paginator = self._client.get_paginator("list_multipart_uploads")
        with _s3_errors("ListMultipartUploads", bucket, prefix):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    key, upload_id, started = upload["Key"], upload["UploadId"], upload["Initiated"]
                    if started > cutoff:
                        continue
                    try:
                        self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
                    except ClientError as exc:
                        if _error_code(exc) == "NoSuchUpload":  # completed or aborted meanwhile
                            continue
                        raise
                    removed.append(
                        f"s3://{bucket}/{key}: multipart upload {upload_id} started {started:%Y-%m-%d %H:%M}"
                    )
        return removed

    # -- conditional create internals ----------------------------------------------------------

    def _still_ours(self, bucket: str, key: str, etag: str | None) -> bool:
        """After a successful conditional write: is the object there still the one we wrote?

        On S3 (and moto) it is, unless someone overwrote it since. A store that silently ignores
        If-None-Match lets two creators both "succeed"; the later one's object is what stays, so the
        earlier one must learn it lost. Identical ETags mean identical bytes, so either answer is safe.
        """
        try:
            head = self.head(bucket, key)
        except DeltaGliderError as exc:
            # S3 said we created it; a check we cannot make (write-only credentials, a blip) must
            # not turn that success into a failure.
            log.debug("could not re-check s3://%s/%s after creating it: %s", bucket, key, exc)
            return True
        if head is None or etag is None or head.etag is None:
            return True
        ours = _strip_etag(etag) == head.etag
        if not ours:
            log.warning(
                "s3://%s/%s was replaced right after our conditional create; the store may ignore "
                "If-None-Match, treating the other writer's object as the winner",
                bucket,
                key,
            )
        return ours

    def _multipart_create(
        self,
        bucket: str,
        key: str,
        src: Path,
        size: int,
        metadata: dict[str, str],
        *,
        progress: ProgressCallback | None,
    ) -> str | None:
        """A multipart upload completed with If-None-Match: nothing is visible until the complete
        call succeeds, and on any failure (a lost race included) the upload is aborted so no parts
        linger. Returns the new object's ETag; raises the ClientError of a failed call."""
        part_size = _part_size(self._config.multipart_chunksize, size)
        part_count = max(1, -(-size // part_size))
        # As the transfer manager does for put_file: each part carries the checksum, which
        # completion must repeat.
        checksum = self._checksum
        part_checksum = f"Checksum{checksum['ChecksumAlgorithm'].upper()}" if checksum else ""

        upload_id = self._client.create_multipart_upload(
            Bucket=bucket, Key=key, Metadata=metadata, ContentType=CONTENT_TYPE, **checksum
        )["UploadId"]
        try:

            def send_part(number: int) -> CompletedPartTypeDef:
                # One read per part, when its thread runs: at most max_concurrency parts in memory.
                with src.open("rb") as fh:
                    fh.seek((number - 1) * part_size)
                    body = fh.read(part_size)
                response = self._client.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **checksum
                )
                part: CompletedPartTypeDef = {"PartNumber": number, "ETag": response["ETag"]}
                if part_checksum and part_checksum in response:
                    part[part_checksum] = response[part_checksum]  # type: ignore[literal-required]
                if progress is not None:
                    progress(len(body))
                return part

            workers = self._config.max_concurrency if self._config.use_threads else 1
            pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="dg-s3-part")
            try:
                futures: list[Future[CompletedPartTypeDef]] = [
                    pool.submit(send_part, number) for number in range(1, part_count + 1)
                ]
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                for future in done:
                    future.result()  # raises the failure that ended the wait, if any
                parts = [future.result() for future in futures]
            finally:
                # On a failure (or Ctrl-C) the parts not yet sent are dropped, not uploaded for
                # nothing: the upload is about to be aborted.
                pool.shutdown(wait=True, cancel_futures=True)

            response = self._client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException:
            self._abort_quietly(bucket, key, upload_id)
            raise
        return response.get("ETag")

    def _abort_quietly(self, bucket: str, key: str, upload_id: str) -> None:
        # The original failure is what the caller needs to see; a failed abort only leaves parts
        # (invisible, billed until a lifecycle rule removes them), so it is logged, not raised.
        try:
            self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except _BOTO_ERRORS as exc:
            log.warning("could not abort multipart upload %s of s3://%s/%s: %s", upload_id, bucket, key, exc)
