"""Bucket-level S3 calls that no object transfer needs: listing buckets, aborting the multipart
uploads a killed writer left behind, and merging a lifecycle rule into the bucket's document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from deltaglider.adapters.s3_errors import BOTO_ERRORS, botocore_cause, error_code, s3_errors, translate
from deltaglider.adapters.s3_wire import lifecycle_rule
from deltaglider.ports.storage import BucketInfo, LifecycleRule

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def list_buckets(client: S3Client) -> list[BucketInfo]:
    with s3_errors("ListBuckets", "", ""):
        response = client.list_buckets()
    return sorted(
        (BucketInfo(b["Name"], b.get("CreationDate")) for b in response.get("Buckets", [])),
        key=lambda info: info.name,
    )


def abort_stale_uploads(client: S3Client, bucket: str, prefix: str, older_than: timedelta) -> list[str]:
    """Aborts the multipart uploads under ``prefix`` started more than ``older_than`` ago (left by
    a killed writer: invisible, but their parts are billed until aborted)."""
    cutoff = datetime.now(UTC) - older_than
    removed: list[str] = []
    paginator = client.get_paginator("list_multipart_uploads")
    with s3_errors("ListMultipartUploads", bucket, prefix):
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                key, upload_id, started = upload["Key"], upload["UploadId"], upload["Initiated"]
                if started > cutoff:
                    continue
                try:
                    client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
                except ClientError as exc:
                    if error_code(exc) == "NoSuchUpload":  # completed or aborted meanwhile
                        continue
                    raise
                removed.append(
                    f"s3://{bucket}/{key}: multipart upload {upload_id} started {started:%Y-%m-%d %H:%M}"
                )
    return removed


def set_lifecycle_rule(client: S3Client, bucket: str, rule: LifecycleRule) -> None:
    """Reads the bucket's rules, replaces the one with ``rule.rule_id`` (or adds it) and writes them
    all back: S3 has one lifecycle document per bucket, and PutBucketLifecycleConfiguration
    replaces the whole of it. (Two writers doing this at once can lose one's rule: S3 offers no
    conditional write for it.)"""
    where = rule.prefix or "(whole bucket)"
    try:
        current = client.get_bucket_lifecycle_configuration(Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) != "NoSuchLifecycleConfiguration":
            raise translate(exc, "GetBucketLifecycleConfiguration", bucket, where) from exc
        current = {}  # type: ignore[typeddict-item]
    except BOTO_ERRORS as exc:
        raise translate(exc, "GetBucketLifecycleConfiguration", bucket, where) from botocore_cause(exc)
    rules: list[Any] = [r for r in current.get("Rules", []) if r.get("ID") != rule.rule_id]
    rules.append(lifecycle_rule(rule))
    extra: dict[str, Any] = {}
    if current.get("TransitionDefaultMinimumObjectSize"):
        extra["TransitionDefaultMinimumObjectSize"] = current["TransitionDefaultMinimumObjectSize"]
    with s3_errors("PutBucketLifecycleConfiguration", bucket, where):
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": rules}, **extra
        )
