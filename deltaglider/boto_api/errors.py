# The classes bear S3's error codes as names (NoSuchKey...), as boto3's client.exceptions do.
# ruff: noqa: N818
"""How the boto3-shaped calls report a missing bucket or key, or a refused access: as boto3 itself
does, with a ``botocore.exceptions.ClientError`` carrying the S3 error code, which is at the same time
one of our errors.

    NoSuchKey      ClientError + NotFoundError       (404, Code "NoSuchKey")
    NoSuchBucket   ClientError + NotFoundError       (404, Code "NoSuchBucket")
    AccessDenied   ClientError + AccessDeniedError   (403, Code "AccessDenied")
    InvalidRange   ClientError + InvalidURLError     (416, get_object's Range past the end)
    InvalidArgument ClientError + InvalidURLError    (400, a continuation token not ours)

So code written for boto3 (``except ClientError as e: e.response["Error"]["Code"] == "NoSuchKey"``)
and code written for this package (``except deltaglider.NotFoundError``, or the builtin
``FileNotFoundError`` it derives from) both catch them. ``head_object`` answers a missing key or
bucket as S3 answers a HEAD, which has no body: Code ``"404"``, Message ``"Not Found"`` (the class
still tells which).

This module imports botocore, which is slow to load: the mixins import it on the first error only,
so that ``import deltaglider`` (and building a client) stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from deltaglider.errors import AccessDeniedError, InvalidURLError, NotFoundError
from deltaglider.ports.storage import StoragePort

__all__ = [
    "AccessDenied",
    "InvalidArgument",
    "InvalidRange",
    "NoSuchBucket",
    "NoSuchKey",
    "S3CallError",
    "boto_errors",
    "check_bucket",
    "missing",
]


class S3CallError(ClientError):  # type: ignore[misc]  # botocore ships no types
    """A boto3-shaped call's failure, as botocore reports an S3 error response."""

    def __init__(self, code: str, message: str, status: int, operation: str, **details: str) -> None:
        response: Any = {
            "Error": {"Code": code, "Message": message, **details},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        super().__init__(response, operation)

    def __reduce__(self) -> tuple[Any, ...]:
        # ClientError's own rebuilds it from (response, operation), which this signature does not take.
        error = dict(self.response["Error"])
        code, message = error.pop("Code"), error.pop("Message")
        status = self.response["ResponseMetadata"]["HTTPStatusCode"]
        return _rebuild, (type(self), (code, message, status, self.operation_name), error)


def _rebuild(
    cls: type[S3CallError], fields: tuple[str, str, int, str], details: dict[str, str]
) -> S3CallError:
    code, message, status, operation = fields
    return cls(code, message, status, operation, **details)


class NoSuchKey(S3CallError, NotFoundError):
    """No file by that key in the bucket."""


class NoSuchBucket(S3CallError, NotFoundError):
    """No such bucket (on a ``file://`` store: no such folder under its root)."""


class AccessDenied(S3CallError, AccessDeniedError):
    """The store refused the call."""


class InvalidRange(S3CallError, InvalidURLError):
    """``get_object``'s ``Range`` starts past the file's end, or is malformed."""


class InvalidArgument(S3CallError, InvalidURLError):
    """A parameter S3 would refuse (a continuation token this client did not give...)."""


def _bucket_exists(storage: StoragePort, bucket: str) -> bool:
    """Whether the bucket is there: a listing of a missing bucket (or folder) raises NotFoundError."""
    try:
        next(iter(storage.list(bucket, "", recursive=False)), None)
    except NotFoundError:
        return False
    except AccessDeniedError:
        return True  # unknown: the key's error stands
    return True


def missing(
    storage: StoragePort, bucket: str, key: str | None, operation: str, cause: BaseException | None = None
) -> S3CallError:
    """The error for a key (or, ``key`` None, a bucket) that was not found: NoSuchBucket when the
    bucket is what is missing. ``HeadObject`` answers as S3 answers a HEAD, with no body to name
    the error: Code "404" for either."""
    no_bucket = key is None or not _bucket_exists(storage, bucket)
    if operation == "HeadObject":
        return (NoSuchBucket if no_bucket else NoSuchKey)("404", "Not Found", 404, operation)
    if no_bucket or key is None:
        return NoSuchBucket(
            "NoSuchBucket", "The specified bucket does not exist", 404, operation, BucketName=bucket
        )
    text = "The specified key does not exist." + (f" ({cause})" if cause is not None else "")
    return NoSuchKey("NoSuchKey", text, 404, operation, Key=key)


def check_bucket(storage: StoragePort, bucket: str, operation: str) -> None:
    """``NoSuchBucket`` unless the bucket is there, for writes to a folder store, which would make
    the folder (S3 refuses a missing bucket itself, at no extra request)."""
    if not storage.url(bucket, "").startswith("s3://") and not _bucket_exists(storage, bucket):
        raise missing(storage, bucket, None, operation)


@contextmanager
def boto_errors(storage: StoragePort, bucket: str, key: str | None, operation: str) -> Iterator[None]:
    """Raises the boto3-shaped error for our not-found and access errors inside the block (``key``
    None: the call names a bucket only, so not-found means the bucket)."""
    try:
        yield
    except S3CallError:
        raise
    except NotFoundError as exc:
        if key is None and _bucket_exists(storage, bucket):
            raise  # not the bucket: something else is missing (the caller's own file...)
        raise missing(storage, bucket, key, operation, exc) from exc
    except AccessDeniedError as exc:
        raise AccessDenied("AccessDenied", str(exc), 403, operation) from exc
