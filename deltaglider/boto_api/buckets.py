"""Bucket calls: create, delete, list, ACLs, on the client's own store, as boto3 makes them.

On S3 each is boto3's call on the store's client: the same response, and the same botocore
``ClientError`` on failure (``NoSuchBucket``, ``BucketNotEmpty``, ``BucketAlreadyOwnedByYou``...),
where the original DeltaGlider wrapped every failure in a ``RuntimeError`` and answered success for a
bucket that already existed (even one owned by someone else) or did not. On a ``file://`` store a
bucket is a folder; see ``adapters.local_admin`` for what that allows.
"""

# boto3's own keyword names (Bucket, Key, ExpiresIn...), which callers pass by name.
# ruff: noqa: N803

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deltaglider.core.service import DeltaService


def _given(**params: Any) -> dict[str, Any]:
    """The keyword arguments a caller gave (those left at None are not sent, as boto3 sends none)."""
    return {name: value for name, value in params.items() if value is not None}


class BucketCalls:
    """Mixed into DeltaGliderClient."""

    service: DeltaService

    def create_bucket(
        self,
        Bucket: str,
        CreateBucketConfiguration: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Creates the bucket (a folder on a ``file://`` store). ``CreateBucketConfiguration`` (e.g.
        ``{"LocationConstraint": "eu-west-1"}``) and any other CreateBucket keyword (``ACL``,
        ``ObjectOwnership``...) go to S3 as given, as do the other calls' extra keywords
        (``ExpectedBucketOwner``...). Returns ``{"Location": ...}`` and boto3's
        ``ResponseMetadata``."""
        params = _given(CreateBucketConfiguration=CreateBucketConfiguration, **kwargs)
        return self.service.storage.bucket_admin().create_bucket(Bucket, params)

    def delete_bucket(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """Deletes an empty bucket; ``ClientError`` ``BucketNotEmpty`` while it holds any object
        (deltaglider's references and ``.deltaglider/tmp/`` copies included), ``NoSuchBucket`` for a
        missing one."""
        return self.service.storage.bucket_admin().delete_bucket(Bucket, kwargs)

    def list_buckets(self, **kwargs: Any) -> dict[str, Any]:
        """ListBuckets as boto3 returns it: ``{"Buckets": [{"Name", "CreationDate"}...], "Owner":
        {...}, "ResponseMetadata": {...}}`` (on a ``file://`` store the folders under it, the owner
        being the user running this)."""
        return self.service.storage.bucket_admin().list_buckets(kwargs)

    def put_bucket_acl(  # noqa: PLR0917 - boto3's signature, which the original kept
        self,
        Bucket: str,
        ACL: str | None = None,
        AccessControlPolicy: dict[str, Any] | None = None,
        GrantFullControl: str | None = None,
        GrantRead: str | None = None,
        GrantReadACP: str | None = None,
        GrantWrite: str | None = None,
        GrantWriteACP: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Sets the bucket's ACL: a canned ``ACL`` (``private``, ``public-read``...), ``Grant*``
        grantee lists (``id=...``, ``uri=...``) or a whole ``AccessControlPolicy``. S3 only: a
        folder store has no ACLs and refuses (``StorageError``)."""
        params = _given(
            ACL=ACL,
            AccessControlPolicy=AccessControlPolicy,
            GrantFullControl=GrantFullControl,
            GrantRead=GrantRead,
            GrantReadACP=GrantReadACP,
            GrantWrite=GrantWrite,
            GrantWriteACP=GrantWriteACP,
            **kwargs,
        )
        return self.service.storage.bucket_admin().put_bucket_acl(Bucket, params)

    def get_bucket_acl(self, Bucket: str, **kwargs: Any) -> dict[str, Any]:
        """The bucket's ``Owner`` and ``Grants`` as boto3 returns them (a folder: its owner with
        ``FULL_CONTROL``, its file permissions aside)."""
        return self.service.storage.bucket_admin().get_bucket_acl(Bucket, kwargs)
