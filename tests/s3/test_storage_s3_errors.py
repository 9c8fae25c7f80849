"""S3Storage's error table and conditional-create retries, on responses moto cannot produce
(server errors, 409 conflicts, an unreachable endpoint): botocore's Stubber plays the S3 side."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import ANY, Stubber

from deltaglider.adapters import storage_s3
from deltaglider.adapters.storage_s3 import S3Storage
from deltaglider.errors import AccessDeniedError, NotFoundError, StorageError

BUCKET = "bkt"


@pytest.fixture
def client() -> Any:
    # No retries: each stubbed error response is consumed exactly once.
    return boto3.client("s3", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("NoSuchKey", 404, NotFoundError),
        ("NoSuchBucket", 404, NotFoundError),
        ("AccessDenied", 403, AccessDeniedError),
        ("InvalidAccessKeyId", 403, AccessDeniedError),
        ("SignatureDoesNotMatch", 403, AccessDeniedError),
        ("InternalError", 500, StorageError),
        ("SlowDown", 503, StorageError),
        ("InvalidObjectState", 403, StorageError),  # a 403 whose code says it is not about access
    ],
)
def test_error_table(client: Any, stub: Stubber, code: str, status: int, expected: type[Exception]) -> None:
    stub.add_client_error(
        "list_objects_v2", service_error_code=code, http_status_code=status, service_message="m"
    )

    with pytest.raises(expected, match=f"ListObjectsV2 s3://{BUCKET}/k: {code} \\(m\\)") as raised:
        list(S3Storage(client).list(BUCKET, "k"))

    assert type(raised.value) is expected  # StorageError's subclasses must not leak into other rows
    assert isinstance(raised.value.__cause__, ClientError)


def test_head_distinguishes_missing_from_denied_and_failing(client: Any, stub: Stubber) -> None:
    stub.add_client_error("head_object", service_error_code="404", http_status_code=404)
    stub.add_client_error("head_object", service_error_code="403", http_status_code=403)
    stub.add_client_error("head_object", service_error_code="500", http_status_code=500)
    storage = S3Storage(client)

    assert storage.head(BUCKET, "k") is None
    with pytest.raises(AccessDeniedError):
        storage.head(BUCKET, "k")
    with pytest.raises(StorageError) as raised:
        storage.head(BUCKET, "k")
    assert not isinstance(raised.value, NotFoundError | AccessDeniedError)


def _put_args(key: str = "ref") -> dict[str, Any]:
    return {
        "Bucket": BUCKET,
        "Key": key,
        "Body": ANY,
        "Metadata": {},
        "ContentType": "application/octet-stream",
        "IfNoneMatch": "*",
        "ContentMD5": ANY,
    }


def _head_ok(etag: str) -> dict[str, Any]:
    return {"ContentLength": 3, "ETag": f'"{etag}"', "Metadata": {}}


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_s3, "_CONFLICT_BACKOFF_S", 0.0)


def test_conflict_is_retried_until_decided(client: Any, stub: Stubber, small_file: Path) -> None:
    """409 ConditionalRequestConflict: another write was in flight. Nothing there yet: try again."""
    stub.add_client_error(
        "put_object", "ConditionalRequestConflict", http_status_code=409, expected_params=_put_args()
    )
    stub.add_client_error("head_object", "404", http_status_code=404)
    stub.add_response("put_object", {"ETag": '"e1"'}, _put_args())
    stub.add_response("head_object", _head_ok("e1"))

    assert S3Storage(client).put_file_if_absent(BUCKET, "ref", small_file, {}) is True


def test_conflict_then_other_object_present_means_lost(client: Any, stub: Stubber, small_file: Path) -> None:
    stub.add_client_error(
        "put_object", "ConditionalRequestConflict", http_status_code=409, expected_params=_put_args()
    )
    stub.add_response("head_object", _head_ok("theirs"))

    assert S3Storage(client).put_file_if_absent(BUCKET, "ref", small_file, {}) is False


def test_conflict_forever_is_a_storage_error(client: Any, stub: Stubber, small_file: Path) -> None:
    for attempt in range(storage_s3._CONFLICT_ATTEMPTS):
        stub.add_client_error(
            "put_object", "ConditionalRequestConflict", http_status_code=409, expected_params=_put_args()
        )
        if attempt < storage_s3._CONFLICT_ATTEMPTS - 1:
            stub.add_client_error("head_object", "404", http_status_code=404)

    with pytest.raises(StorageError, match="ConditionalRequestConflict"):
        S3Storage(client).put_file_if_absent(BUCKET, "ref", small_file, {})


def test_precondition_failed_means_lost(client: Any, stub: Stubber, small_file: Path) -> None:
    stub.add_client_error(
        "put_object", "PreconditionFailed", http_status_code=412, expected_params=_put_args()
    )
    assert S3Storage(client).put_file_if_absent(BUCKET, "ref", small_file, {}) is False


def test_other_put_errors_are_raised_not_swallowed(client: Any, stub: Stubber, small_file: Path) -> None:
    stub.add_client_error("put_object", "InternalError", http_status_code=500, expected_params=_put_args())
    with pytest.raises(StorageError, match="InternalError"):
        S3Storage(client).put_file_if_absent(BUCKET, "ref", small_file, {})


def test_old_botocore_without_if_none_match_fails_clearly(
    client: Any, small_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = S3Storage(client)
    monkeypatch.setattr(storage, "_conditional_writes", False)
    with pytest.raises(StorageError, match="IfNoneMatch"):
        storage.put_file_if_absent(BUCKET, "ref", small_file, {})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens once the socket is closed


def test_unreachable_endpoint_is_a_storage_error(small_file: Path, tmp_path: Path) -> None:
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    storage = S3Storage(client)
    calls = [
        lambda: storage.head(BUCKET, "k"),
        lambda: storage.cleanup(BUCKET, "", timedelta(0)),
        lambda: storage.get_file(BUCKET, "k", tmp_path / "out"),
        lambda: storage.put_file(BUCKET, "k", small_file, {}),
        lambda: storage.put_file_if_absent(BUCKET, "k", small_file, {}),
        lambda: list(storage.list(BUCKET, "")),
        lambda: storage.delete(BUCKET, "k"),
    ]
    for call in calls:
        with pytest.raises(StorageError, match="Could not connect to the endpoint URL") as raised:
            call()
        assert isinstance(raised.value.__cause__, EndpointConnectionError)
        assert not isinstance(raised.value, NotFoundError | AccessDeniedError)


def test_created_even_if_the_recheck_is_denied(client: Any, stub: Stubber, small_file: Path) -> None:
    """Write-only credentials: S3 accepted the conditional PUT, so the create succeeded even though
    the ETag re-check cannot HEAD the object."""
    stub.add_response("put_object", {"ETag": '"e1"'}, _put_args())
    stub.add_client_error("head_object", "403", http_status_code=403)

    assert S3Storage(client).put_file_if_absent(BUCKET, "ref", small_file, {}) is True
