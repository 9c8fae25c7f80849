"""The S3 storage adapter: ``StoragePort`` over a boto3 S3 client.

Uploads above ``multipart_threshold`` are multipart (parts read from disk as they are sent, a few at a
time), so there is no 5 GB single-PUT limit and no file is held in memory. The adapter drives the
multipart upload itself rather than through boto3's transfer manager: a conditional create must
complete it with ``If-None-Match: *``, and each part must carry the checksum chosen below, which the
transfer manager cannot compute for ``Content-MD5``.

Every upload carries a checksum that S3 verifies before it stores the body, whatever
``request_checksum_calculation`` the client was configured with, so a body corrupted in flight is
refused rather than stored. The default is ``Content-MD5``: every S3-compatible store verifies it,
while the CRC32/SHA-256 headers (and the aws-chunked trailers boto3 >= 1.36 sends them in) are
refused by some (Hetzner, R2, older MinIO). ``checksum="crc32"`` (or ``"sha256"``...) selects
``ChecksumAlgorithm`` instead.

A download is one GET: the response carries the size, metadata and ETag, so no HEAD precedes it.
Objects larger than ``multipart_threshold`` continue with ranged GETs in parallel, each pinned to the
first response's ETag (``If-Match``) so that a replaced object cannot be stitched from two versions.

Every boto3/botocore failure is translated once, by ``ERROR_TABLE``, into the errors of
``deltaglider.errors``; the botocore exception stays reachable as ``__cause__``.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import (
    ClientError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from deltaglider.adapters import s3_admin
from deltaglider.adapters.s3_errors import (
    BOTO_ERRORS,
    CONDITIONAL_CONFLICT,
    ERROR_TABLE,
    PRECONDITION_FAILED,
    botocore_cause,
    error_code,
    s3_errors,
    translate,
)
from deltaglider.adapters.s3_wire import (
    head_from_response,
    md5_b64,
    md5_file_b64,
    part_size,
    s3_metadata,
    strip_etag,
    total_size,
)
from deltaglider.config import DEFAULT_CHECKSUM, check_checksum, check_sse
from deltaglider.errors import DeltaGliderError, NotFoundError, StorageError
from deltaglider.ports.storage import (
    BucketAdmin,
    BucketInfo,
    LifecycleRule,
    ObjectHead,
    ProgressCallback,
    PutOptions,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

__all__ = ["CONTENT_TYPE", "S3Storage"]

log = logging.getLogger(__name__)

#: What an object is sent as unless told otherwise: opaque bytes, as it was to the original.
CONTENT_TYPE = "application/octet-stream"

#: A GET body is read (and a single PUT's MD5 computed) this much at a time.
_CHUNK = 1024 * 1024
#: A GET whose body broke off (reset, truncated, timed out) is tried this many times in all: botocore
#: retries a failed request, but not a response body that fails while it is read.
_GET_ATTEMPTS = 3
#: An ETag that may be the MD5 of the object (a multipart one ends in ``-<parts>``).
_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")
_BROKEN_BODY = (ResponseStreamingError, IncompleteReadError, ReadTimeoutError)


#: S3 answers 409 ConditionalRequestConflict when another write to the key is in flight and asks the
#: caller to retry; a few attempts are enough for the race to settle one way or the other.
_CONFLICT_ATTEMPTS = 4
_CONFLICT_BACKOFF_S = 0.05


class S3Storage:
    """``StoragePort`` on S3 (or any S3-compatible store boto3 can talk to).

    ``s3_client`` is a boto3 S3 client (its endpoint, credentials, retry and checksum settings are
    the caller's; ``deltaglider.factory`` builds one suited to S3-compatible stores);
    ``transfer_config`` a ``boto3.s3.transfer.TransferConfig`` whose ``multipart_threshold``,
    ``multipart_chunksize`` and ``max_concurrency`` size the multipart uploads and ranged downloads
    (default: boto3's, 8 MiB and 10 threads); ``checksum`` the checksum every upload carries (one of
    ``config.CHECKSUMS``; None only for a store that rejects them all); ``sse`` the server-side encryption of
    every object written (``AES256``, ``aws:kms`` with an optional ``sse_kms_key_id``).
    """

    def __init__(
        self,
        s3_client: S3Client,
        *,
        transfer_config: TransferConfig | None = None,
        checksum: str | None = DEFAULT_CHECKSUM,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
    ) -> None:
        self._client = s3_client
        self._config: Any = transfer_config if transfer_config is not None else TransferConfig()
        checksum = check_checksum(checksum)
        check_sse(sse, sse_kms_key_id)
        self._md5 = checksum == "md5"
        self._checksum: dict[str, Any] = (
            {"ChecksumAlgorithm": checksum.upper()} if checksum is not None and not self._md5 else {}
        )
        self._sse: dict[str, Any] = {}
        if sse is not None:
            self._sse["ServerSideEncryption"] = sse
        if sse_kms_key_id is not None:
            self._sse["SSEKMSKeyId"] = sse_kms_key_id
        # Buckets seen to exist: a 404 from a HEAD (which has no error body) in one of them is a
        # missing object; elsewhere one HeadBucket tells a missing bucket apart, once per bucket.
        self._buckets_seen: set[str] = set()
        # Cleared for good once a store shows ETags that are not MD5s (see get_file).
        self._etags_are_md5 = True
        self._buckets_lock = threading.Lock()
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

    def _bucket_exists(self, bucket: str) -> None:
        with self._buckets_lock:
            self._buckets_seen.add(bucket)

    def _check_bucket(self, bucket: str, key: str, operation: str) -> None:
        """After a bodiless 404: raises ``NotFoundError`` if it was the bucket that is missing."""
        with self._buckets_lock:
            if bucket in self._buckets_seen:
                return
        try:
            self._client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if ERROR_TABLE.get(error_code(exc)) is NotFoundError:
                raise NotFoundError(
                    f"{operation} s3://{bucket}/{key}: NoSuchBucket: the bucket {bucket!r} does not exist"
                ) from exc
            # Denied or failing: the object's 404 stands; the bucket's state is unknown.
            return
        except BOTO_ERRORS:
            return
        self._bucket_exists(bucket)

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        try:
            response = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            # HEAD has no error body: a missing key (or bucket) is just a 404.
            if ERROR_TABLE.get(error_code(exc)) is NotFoundError:
                self._check_bucket(bucket, key, "HeadObject")
                return None
            raise translate(exc, "HeadObject", bucket, key) from exc
        except BOTO_ERRORS as exc:
            raise translate(exc, "HeadObject", bucket, key) from botocore_cause(exc)
        self._bucket_exists(bucket)
        return head_from_response(bucket, key, response, response["ContentLength"])

    def list(
        self, bucket: str, prefix: str, *, recursive: bool = True, start_after: str = ""
    ) -> Iterator[ObjectHead]:
        # The paginator follows continuation tokens to the end: no cap on the number of keys.
        paginator = self._client.get_paginator("list_objects_v2")
        with s3_errors("ListObjectsV2", bucket, prefix):
            asked: dict[str, str] = {"Bucket": bucket, "Prefix": prefix}
            if not recursive:
                asked["Delimiter"] = "/"
            if start_after:
                asked["StartAfter"] = start_after
            pages = cast(Any, paginator).paginate(**asked)  # keywords chosen above
            for page in pages:
                found = [
                    ObjectHead(
                        bucket=bucket,
                        key=entry["Key"],
                        size=entry["Size"],
                        etag=strip_etag(entry.get("ETag")),
                        last_modified=entry.get("LastModified"),
                    )
                    for entry in page.get("Contents", [])
                ]
                found.extend(
                    ObjectHead(bucket=bucket, key=common["Prefix"], size=0, is_prefix=True)
                    for common in page.get("CommonPrefixes", [])
                )
                # S3 pages are consecutive key ranges: ordering each page orders the whole listing.
                # S3 may still give the common prefix that holds StartAfter: not after it.
                yield from sorted((h for h in found if h.key > start_after), key=lambda head: head.key)

    def get_file(
        self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None = None
    ) -> ObjectHead:
        dest = Path(dest)
        digests: builtins.list[str] = []
        try:
            for attempt in range(1, _GET_ATTEMPTS + 1):
                try:
                    with s3_errors("GetObject", bucket, key):
                        head, digest = self._get_once(bucket, key, dest, progress)
                except StorageError as exc:
                    # Only a body that broke off is worth another GET; an error response is final.
                    if attempt == _GET_ATTEMPTS or not isinstance(exc.__cause__, _BROKEN_BODY):
                        raise
                    log.debug("GET s3://%s/%s broke off (%s); trying again", bucket, key, exc)
                    continue
                if digest is None or digest == head.etag:
                    return head
                if digest in digests:
                    # The same bytes twice, both unlike the ETag: this store's ETags are not MD5s of
                    # the content. The bytes stand (the caller checks their SHA-256).
                    log.info("ETags of %s are not MD5 digests; no longer compared", self.url(bucket, ""))
                    self._etags_are_md5 = False
                    return head
                digests.append(digest)
                log.warning("GET s3://%s/%s: body does not match its ETag; fetching it again", bucket, key)
            raise StorageError(
                f"GetObject s3://{bucket}/{key}: the body differed from its ETag ({head.etag}) on each "
                f"of {_GET_ATTEMPTS} reads: corrupted on the way"
            )
        except BaseException:
            # Nothing half-written stays at the caller's path.
            dest.unlink(missing_ok=True)
            raise

    def _get_once(
        self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None
    ) -> tuple[ObjectHead, str | None]:
        """One GET (plus ranges for a large object); returns the head and, for a single-part object
        whose ETag is its MD5, the MD5 of the bytes received (None when there is nothing to compare)."""
        response = self._client.get_object(Bucket=bucket, Key=key)
        self._bucket_exists(bucket)
        size = total_size(response)
        head = head_from_response(bucket, key, response, size)
        body = response["Body"]
        first = (
            size
            if size <= self._config.multipart_threshold
            else part_size(self._config.multipart_chunksize, size)
        )
        digest = hashlib.md5(usedforsecurity=False) if first == size and self._md5_etag(response) else None
        try:
            with dest.open("wb") as out:
                remaining = first
                while remaining > 0:
                    chunk = body.read(min(_CHUNK, remaining))
                    if not chunk:
                        raise StorageError(
                            f"GetObject s3://{bucket}/{key}: the body ended after {first - remaining} "
                            f"of {first} bytes"
                        )
                    out.write(chunk)
                    if digest is not None:
                        digest.update(chunk)
                    remaining -= len(chunk)
                    if progress is not None:
                        progress(len(chunk))
        finally:
            # Past ``first`` the rest is fetched in ranges: closing drops the rest of this stream.
            body.close()
        if first < size:
            self._get_ranges(bucket, key, dest, head, start=first, progress=progress)
        return head, digest.hexdigest() if digest is not None else None

    def _md5_etag(self, response: Mapping[str, Any]) -> bool:
        """Whether the response's ETag should be the MD5 of its body: on S3 (and the compatible stores
        seen) it is for an object uploaded in one part, unless KMS or a customer key encrypted it.
        A body flipped on the way is then caught here and fetched again, rather than failing the
        caller's SHA-256 check with nothing wrong in the store."""
        etag = strip_etag(response.get("ETag")) or ""
        return (
            self._etags_are_md5
            and _MD5_HEX.match(etag) is not None
            and not str(response.get("ServerSideEncryption") or "").startswith("aws:kms")
            and not response.get("SSECustomerAlgorithm")
        )

    def _get_ranges(
        self,
        bucket: str,
        key: str,
        dest: Path,
        head: ObjectHead,
        *,
        start: int,
        progress: ProgressCallback | None,
    ) -> None:
        """The bytes from ``start`` on, in ranged GETs run in parallel, written in place."""
        part = start  # the first GET's share is the part size
        ranges = [(offset, min(offset + part, head.size)) for offset in range(start, head.size, part)]
        match: dict[str, Any] = {"IfMatch": f'"{head.etag}"'} if head.etag else {}
        fd = os.open(dest, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, head.size)

            def fetch(span: tuple[int, int]) -> None:
                begin, end = span
                response = self._client.get_object(
                    Bucket=bucket, Key=key, Range=f"bytes={begin}-{end - 1}", **match
                )
                body = response["Body"]
                offset = begin
                try:
                    while offset < end:
                        chunk = body.read(min(_CHUNK, end - offset))
                        if not chunk:
                            raise StorageError(
                                f"GetObject s3://{bucket}/{key}: range {begin}-{end - 1} ended at {offset}"
                            )
                        os.pwrite(fd, chunk, offset)
                        offset += len(chunk)
                        if progress is not None:
                            progress(len(chunk))
                finally:
                    body.close()

            self._run_parallel(fetch, ranges)
        finally:
            os.close(fd)

    def _run_parallel(self, work: Any, items: builtins.list[Any]) -> builtins.list[Any]:
        """``work(item)`` for every item on up to ``max_concurrency`` threads, results in order; the
        first failure cancels what has not started and is raised."""
        workers = self._config.max_concurrency if self._config.use_threads else 1
        pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))), thread_name_prefix="dg-s3")
        try:
            futures: builtins.list[Future[Any]] = [pool.submit(work, item) for item in items]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                future.result()  # raises the failure that ended the wait, if any
            return [future.result() for future in futures]
        finally:
            # On a failure (or Ctrl-C) the work not yet started is dropped, not done for nothing.
            pool.shutdown(wait=True, cancel_futures=True)

    # -- writes --------------------------------------------------------------------------------

    def _object_args(
        self, bucket: str, key: str, metadata: Mapping[str, str], options: PutOptions | None
    ) -> dict[str, Any]:
        """What PutObject and CreateMultipartUpload share: metadata, type, class, tags, encryption."""
        options = options or PutOptions()
        args: dict[str, Any] = {
            # Our dg-* keys win over a user's key of the same name (the client refuses those).
            "Metadata": s3_metadata(bucket, key, {**options.metadata, **metadata}),
            "ContentType": options.content_type or CONTENT_TYPE,
            **self._sse,
        }
        if options.storage_class:
            args["StorageClass"] = options.storage_class
        if options.tags:
            args["Tagging"] = urllib.parse.urlencode(dict(options.tags))
        return args

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
        # A single PUT is atomic; a multipart upload becomes visible only on completion, and it is
        # aborted on failure. Either way no partial object is ever visible.
        args = self._object_args(bucket, key, metadata, options)
        with s3_errors("PutObject", bucket, key):
            etag = self._put(bucket, key, Path(src), args, progress, condition={})
        return strip_etag(etag)

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
        """Creates ``key`` with ``If-None-Match: *`` (PutObject, or CompleteMultipartUpload for a
        file at or above ``multipart_threshold``): S3 decides atomically, 412 means another writer's
        object is there.

        A store that ignores the header would let a racing writer replace our object; the ETag
        check after the write catches the case where that writer finished first.
        """
        if not self._conditional_writes:
            raise StorageError(
                f"PutObject s3://{bucket}/{key}: this botocore has no IfNoneMatch parameter for "
                "PutObject/CompleteMultipartUpload; conditional create needs botocore >= 1.35.2 "
                "(boto3 >= 1.35.2)"
            )
        args = self._object_args(bucket, key, metadata, options)
        for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
            try:
                etag = self._put(bucket, key, Path(src), args, progress, condition={"IfNoneMatch": "*"})
            except ClientError as exc:
                code = error_code(exc)
                if code in PRECONDITION_FAILED:
                    return False
                if code in CONDITIONAL_CONFLICT and attempt < _CONFLICT_ATTEMPTS:
                    # Another write to this key is in flight. If it created the object we lost;
                    # otherwise (it failed, or was a delete) try again.
                    if self.head(bucket, key) is not None:
                        return False
                    time.sleep(_CONFLICT_BACKOFF_S * attempt)
                    continue
                raise translate(exc, "PutObject", bucket, key) from exc
            except BOTO_ERRORS as exc:
                raise translate(exc, "PutObject", bucket, key) from botocore_cause(exc)
            return self._still_ours(bucket, key, etag)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def _put(
        self,
        bucket: str,
        key: str,
        src: Path,
        args: dict[str, Any],
        progress: ProgressCallback | None,
        *,
        condition: Mapping[str, Any],
    ) -> str | None:
        """One upload, single or multipart, under ``condition`` (``IfNoneMatch``/``IfMatch``, which
        a multipart upload applies on completion); returns the new object's ETag. Raises botocore's
        error."""
        size = src.stat().st_size
        if size >= self._config.multipart_threshold:
            return self._multipart(bucket, key, src, size, args, progress=progress, condition=condition)
        checksum: dict[str, Any] = dict(self._checksum)
        if self._md5:
            checksum["ContentMD5"] = md5_file_b64(src)
        with src.open("rb") as body:
            response = self._client.put_object(
                Bucket=bucket, Key=key, Body=body, **args, **checksum, **condition
            )
        self._bucket_exists(bucket)
        if progress is not None:
            progress(size)
        return response.get("ETag")

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
        """Replaces ``key`` with ``If-Match: <etag>`` (PutObject, or CompleteMultipartUpload): S3
        decides atomically; 412, or 404 for an object gone meanwhile, means another write won."""
        args = self._object_args(bucket, key, metadata, options)
        try:
            self._put(bucket, key, Path(src), args, progress, condition={"IfMatch": f'"{etag}"'})
        except ClientError as exc:
            if self._lost_condition(exc):
                return False
            raise translate(exc, "PutObject", bucket, key) from exc
        except BOTO_ERRORS as exc:
            raise translate(exc, "PutObject", bucket, key) from botocore_cause(exc)
        return True

    def delete_if_match(self, bucket: str, key: str, etag: str) -> bool:
        """DeleteObject with ``If-Match: <etag>``: S3 removes the object only if it is still that
        version (412 otherwise, 404 when it is gone)."""
        try:
            self._client.delete_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
        except ClientError as exc:
            if self._lost_condition(exc):
                return False
            raise translate(exc, "DeleteObject", bucket, key) from exc
        except BOTO_ERRORS as exc:
            raise translate(exc, "DeleteObject", bucket, key) from botocore_cause(exc)
        return True

    @staticmethod
    def _lost_condition(exc: ClientError) -> bool:
        """Whether a conditional request failed because the object changed or went: another writer
        won. A conflict with a write in flight counts too: that writer changes the version."""
        code = error_code(exc)
        return code in PRECONDITION_FAILED or code in CONDITIONAL_CONFLICT or code in {"NoSuchKey", "404"}

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        # One CopyObject: atomic, up to COPY_MAX_BYTES (S3 refuses larger sources, InvalidRequest).
        # Metadata and tags go with the bytes; the destination gets the client's encryption.
        with s3_errors("CopyObject", dst_bucket, dst_key):
            self._client.copy_object(
                Bucket=dst_bucket,
                Key=dst_key,
                CopySource={"Bucket": src_bucket, "Key": src_key},
                MetadataDirective="COPY",
                TaggingDirective="COPY",
                **self._sse,
            )

    def delete(self, bucket: str, key: str) -> None:
        try:
            self._client.delete_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            # S3 answers 204 for a missing key; some compatible stores say NoSuchKey instead.
            if error_code(exc) == "NoSuchKey":
                return
            raise translate(exc, "DeleteObject", bucket, key) from exc
        except BOTO_ERRORS as exc:
            raise translate(exc, "DeleteObject", bucket, key) from botocore_cause(exc)

    def list_buckets(self) -> builtins.list[BucketInfo]:
        return s3_admin.list_buckets(self._client)

    def cleanup(self, bucket: str, prefix: str, older_than: timedelta) -> builtins.list[str]:
        return s3_admin.abort_stale_uploads(self._client, bucket, prefix, older_than)

    def bucket_admin(self) -> BucketAdmin:
        return s3_admin.S3BucketAdmin(self._client)

    def set_lifecycle_rule(self, bucket: str, rule: LifecycleRule) -> None:
        s3_admin.set_lifecycle_rule(self._client, bucket, rule)

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
        ours = strip_etag(etag) == head.etag
        if not ours:
            log.warning(
                "s3://%s/%s was replaced right after our conditional create; the store may ignore "
                "If-None-Match, treating the other writer's object as the winner",
                bucket,
                key,
            )
        return ours

    def _multipart(
        self,
        bucket: str,
        key: str,
        src: Path,
        size: int,
        args: dict[str, Any],
        *,
        progress: ProgressCallback | None,
        condition: Mapping[str, Any],
    ) -> str | None:
        """A multipart upload, completed under ``condition``: nothing is visible until the complete
        call succeeds, and on any failure (a lost race included) the upload is aborted so no parts
        linger. Returns the new object's ETag; raises the ClientError of a failed call."""
        size_of_part = part_size(self._config.multipart_chunksize, size)
        part_count = max(1, -(-size // size_of_part))
        # Each part carries the checksum; with ChecksumAlgorithm, completion must repeat them.
        checksum = self._checksum
        part_checksum = f"Checksum{checksum['ChecksumAlgorithm'].upper()}" if checksum else ""

        upload_id = self._client.create_multipart_upload(Bucket=bucket, Key=key, **args, **checksum)[
            "UploadId"
        ]
        self._bucket_exists(bucket)
        try:

            def send_part(number: int) -> CompletedPartTypeDef:
                # One read per part, when its thread runs: at most max_concurrency parts in memory.
                with src.open("rb") as fh:
                    fh.seek((number - 1) * size_of_part)
                    body = fh.read(size_of_part)
                extra = {"ContentMD5": md5_b64(body)} if self._md5 else checksum
                response = self._client.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **extra
                )
                part: CompletedPartTypeDef = {"PartNumber": number, "ETag": response["ETag"]}
                if part_checksum and part_checksum in response:
                    part[part_checksum] = response[part_checksum]  # type: ignore[literal-required]
                if progress is not None:
                    progress(len(body))
                return part

            parts = self._run_parallel(send_part, list(range(1, part_count + 1)))
            response = self._client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **condition
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
        except BOTO_ERRORS as exc:
            log.warning("could not abort multipart upload %s of s3://%s/%s: %s", upload_id, bucket, key, exc)
