"""Bucket-level S3 calls that no object transfer needs: listing buckets, aborting the multipart
uploads a killed writer left behind, merging a lifecycle rule into the bucket's document, and the
boto3-shaped bucket calls and presigned links (:class:`S3BucketAdmin`)."""

from __future__ import annotations

from collections.abc import Mapping
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


class S3BucketAdmin:
    """``BucketAdmin`` on S3: each call is the boto3 call of the same name on the store's own client
    (its endpoint, credentials and signature settings), its response and its ``ClientError`` passed
    through unchanged, as a boto3 user gets them."""

    def __init__(self, client: S3Client) -> None:
        self._client = client

    def list_buckets(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._client.list_buckets(**params))

    def create_bucket(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._client.create_bucket(Bucket=bucket, **params))

    def delete_bucket(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._client.delete_bucket(Bucket=bucket, **params))

    def get_bucket_acl(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._client.get_bucket_acl(Bucket=bucket, **params))

    def put_bucket_acl(self, bucket: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._client.put_bucket_acl(Bucket=bucket, **params))

    def presigned_url(self, method: str, params: Mapping[str, Any], expires_in: int) -> str:
        return self._client.generate_presigned_url(method, Params=dict(params), ExpiresIn=expires_in)

    def presigned_post(
        self,
        bucket: str,
        key: str,
        fields: Mapping[str, Any] | None,
        conditions: list[Any] | None,
        expires_in: int,
    ) -> dict[str, Any]:
        return dict(
            self._client.generate_presigned_post(
                Bucket=bucket,
                Key=key,
                Fields=dict(fields) if fields is not None else None,
                Conditions=conditions,
                ExpiresIn=expires_in,
            )
        )
