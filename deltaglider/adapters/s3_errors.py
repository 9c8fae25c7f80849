"""S3 failures as the library's errors: one table from S3 error codes (or bare HTTP statuses) to
``deltaglider.errors``, messages that name the operation, the URL and, for a denial, the IAM action
needed. The botocore exception stays reachable as ``__cause__``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from deltaglider.errors import AccessDeniedError, DeltaGliderError, NotFoundError, StorageError

#: The IAM action each operation needs: named in access-denied messages.
_IAM_ACTIONS = {
    "HeadObject": "s3:GetObject (and s3:ListBucket, without which a missing object is a 403)",
    "GetObject": "s3:GetObject",
    "PutObject": "s3:PutObject (and s3:PutObjectTagging for tags)",
    "DeleteObject": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads and s3:AbortMultipartUpload",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "ListBuckets": "s3:ListAllMyBuckets",
}
#: Operations whose IAM action is granted on the bucket itself, not on its objects.
_ON_THE_BUCKET = frozenset(
    {
        "ListObjectsV2",
        "HeadBucket",
        "ListMultipartUploads",
        "GetBucketLifecycleConfiguration",
        "PutBucketLifecycleConfiguration",
    }
)

#: S3 error codes (or bare HTTP statuses: HEAD responses carry no error body) -> our errors.
#: Anything not listed becomes ``StorageError``.
ERROR_TABLE: dict[str, type[DeltaGliderError]] = {
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
PRECONDITION_FAILED = frozenset({"PreconditionFailed", "412"})
#: A conditional create collided with another write in flight (retry).
CONDITIONAL_CONFLICT = frozenset({"ConditionalRequestConflict"})

#: What boto3, botocore and the transfer manager raise for a failed request.
BOTO_ERRORS = (ClientError, BotoCoreError, Boto3Error)


def error_code(exc: BaseException) -> str:
    """The S3 error code of a ClientError, falling back to its HTTP status ("404" for a HEAD)."""
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code") or "")
    if not code:
        code = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")
    return code


def botocore_cause(exc: BaseException) -> BaseException:
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


def translate(exc: BaseException, operation: str, bucket: str, key: str) -> DeltaGliderError:
    """One of our errors for a failed S3 call, with a message naming the call and the object."""
    where = f"{operation} s3://{bucket}/{key}" if bucket else operation
    cause = botocore_cause(exc)
    if isinstance(cause, ClientError):
        code = error_code(cause)
        message = str(cause.response.get("Error", {}).get("Message") or "")
        error_class = ERROR_TABLE.get(code, StorageError)
        text = f"{where}: {code}" + (f" ({message})" if message else "")
        if code == "NoSuchBucket":
            text += f": the bucket {bucket!r} does not exist"
        elif error_class is AccessDeniedError:
            action = _IAM_ACTIONS.get(operation, f"s3:{operation}")
            text += (
                f": access denied; check the credentials in use (AWS_PROFILE or --profile, "
                f"AWS_ACCESS_KEY_ID...) and that the IAM or bucket policy allows {action} on "
                f"{_resource(operation, bucket, key)}"
            )
        return error_class(text)
    if isinstance(cause, ConnectTimeoutError | ReadTimeoutError):
        limit = "connect_timeout" if isinstance(cause, ConnectTimeoutError) else "read_timeout"
        return StorageError(
            f"{where}: {cause} (the endpoint did not answer in time: check it, or raise {limit}, "
            f"--{limit.replace('_', '-')} on the command line)"
        )
    # Connection refused, missing credentials...: botocore's own message says which.
    return StorageError(f"{where}: {cause}")


def _resource(operation: str, bucket: str, key: str) -> str:
    """The ARN an operation's IAM action is granted on (a bucket listing is on every resource)."""
    if not bucket:
        return '"*" (it names no bucket)'
    if operation in _ON_THE_BUCKET:
        return f"arn:aws:s3:::{bucket}"
    return f"arn:aws:s3:::{bucket}/{key}"


@contextmanager
def s3_errors(operation: str, bucket: str, key: str) -> Iterator[None]:
    try:
        yield
    except BOTO_ERRORS as exc:
        raise translate(exc, operation, bucket, key) from botocore_cause(exc)
    except DeltaGliderError:
        raise
    except ValueError as exc:
        # botocore's parsers raise a bare ValueError on a malformed reply (a damaged timestamp in a
        # listing, say): it is the store's answer that is wrong, not the caller's input.
        raise StorageError(f"{operation} s3://{bucket}/{key}: malformed reply from the store: {exc}") from exc
