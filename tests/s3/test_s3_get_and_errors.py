"""The storage port's download is one GET that brings the object's metadata with it, and S3 errors a
user can act on: a missing bucket says so, a denied request says which operation on which URL and
where to look."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ResponseStreamingError
from botocore.stub import Stubber
from support.artifacts import release_zips
from support.s3_backend import REGION, S3Backend

from deltaglider import create_client
from deltaglider.adapters.storage_s3 import S3Storage
from deltaglider.errors import AccessDeniedError, NotFoundError, StorageError

MiB = 1024 * 1024
SMALL_PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=3)


def _count_requests(client: Any) -> list[tuple[str, str]]:
    """(operation, Range header or "") of every request the client sends."""
    sent: list[tuple[str, str]] = []

    def record(request: Any, event_name: str, **_: Any) -> None:
        value = request.headers.get("Range") or b""
        sent.append((event_name.rsplit(".", 1)[-1], value.decode() if isinstance(value, bytes) else value))

    client.meta.events.register("before-send.s3", record)
    return sent


@pytest.mark.parametrize("size", [0, 1000, 12 * MiB + 7], ids=["empty", "small", "ranged"])
def test_get_file_is_one_get_and_returns_the_head(
    s3: S3Backend, bucket: str, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    s3.client.put_object(Bucket=bucket, Key="k", Body=data, Metadata={"dg-file-sha256": "abc", "Other": "x"})
    expected = s3.client.head_object(Bucket=bucket, Key="k")
    client = s3.new_client()
    sent = _count_requests(client)
    progress: list[int] = []

    head = S3Storage(client, transfer_config=SMALL_PARTS).get_file(
        bucket, "k", tmp_path / "out", progress.append
    )

    assert (tmp_path / "out").read_bytes() == data
    assert (head.bucket, head.key, head.size) == (bucket, "k", size)
    assert head.metadata == {"dg-file-sha256": "abc", "other": "x"}
    assert head.etag == expected["ETag"].strip('"')
    assert head.last_modified == expected["LastModified"]
    assert sum(progress) == size
    operations = [operation for operation, _ in sent]
    assert "HeadObject" not in operations
    if size <= SMALL_PARTS.multipart_threshold:
        assert sent == [("GetObject", "")]
    else:
        # The first GET's body gives the first part; the rest comes in parallel ranges.
        assert sent[0] == ("GetObject", "")
        assert {r for _, r in sent[1:]} == {f"bytes={5 * MiB}-{10 * MiB - 1}", f"bytes={10 * MiB}-{size - 1}"}


def test_an_object_replaced_during_a_ranged_get_is_not_stitched(
    s3: S3Backend, bucket: str, tmp_path: Path
) -> None:
    s3.client.put_object(Bucket=bucket, Key="k", Body=os.urandom(11 * MiB))
    client = s3.new_client(config=boto3.session.Config(retries={"total_max_attempts": 1}))
    replaced: list[bool] = []

    def replace_once(**_: Any) -> None:
        if not replaced:
            replaced.append(True)
            s3.client.put_object(Bucket=bucket, Key="k", Body=os.urandom(11 * MiB))

    client.meta.events.register("after-call.s3.GetObject", replace_once)
    with pytest.raises(StorageError, match=r"PreconditionFailed|412"):
        S3Storage(client, transfer_config=SMALL_PARTS).get_file(bucket, "k", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_object_is_one_get_and_not_found(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    client = s3.new_client()
    sent = _count_requests(client)
    with pytest.raises(NotFoundError, match=f"GetObject s3://{bucket}/nope: NoSuchKey"):
        S3Storage(client).get_file(bucket, "nope", tmp_path / "out")
    assert [operation for operation, _ in sent] == ["GetObject"]
    assert not (tmp_path / "out").exists()


def test_download_from_a_missing_bucket_says_the_bucket_does_not_exist(s3: S3Backend, tmp_path: Path) -> None:
    client = create_client(endpoint_url=s3.endpoint_url, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(NotFoundError, match="the bucket 'dg-no-such-bucket' does not exist"):
        client.download("s3://dg-no-such-bucket/app/app-1.0.zip", tmp_path / "out.zip")
    with pytest.raises(NotFoundError, match="does not exist"):
        list(client.list("s3://dg-no-such-bucket/app/"))
    assert not (tmp_path / "out.zip").exists()


def test_download_of_a_missing_key_still_says_no_object(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    client = create_client(endpoint_url=s3.endpoint_url, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(NotFoundError, match="no object at") as raised:
        client.download(f"s3://{bucket}/app/app-1.0.zip", tmp_path / "out.zip")
    assert "bucket" not in str(raised.value)


def test_denied_download_names_the_operation_url_and_what_to_check(
    s3: S3Backend, bucket: str, tmp_path: Path
) -> None:
    s3.client.put_object(Bucket=bucket, Key="app/notes.txt", Body=b"x")
    iam = s3.new_resource_client("iam")
    # The server outlives a test: a user name of this test's own.
    iam.create_user(UserName="dg-denied-download")
    keys = iam.create_access_key(UserName="dg-denied-download")["AccessKey"]
    nobody = s3.new_client(
        aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"]
    )
    client = create_client(s3_client=nobody, cache_dir=str(tmp_path / "cache"))

    with s3.iam_auth(), pytest.raises(AccessDeniedError) as raised:
        client.download(f"s3://{bucket}/app/notes.txt", tmp_path / "out.txt")

    message = str(raised.value)
    assert f"GetObject s3://{bucket}/app/notes.txt" in message  # a download is a GET, no HEAD first
    assert "credentials" in message
    assert "s3:GetObject" in message
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize(
    ("method", "operation", "action"),
    [
        ("list_objects_v2", "ListObjectsV2", "s3:ListBucket"),
        ("put_object", "PutObject", "s3:PutObject"),
        ("get_object", "GetObject", "s3:GetObject"),
    ],
)
def test_every_denial_hints_at_credentials_and_policy(
    tmp_path: Path, method: str, operation: str, action: str
) -> None:
    client = boto3.client(
        "s3", region_name=REGION, config=boto3.session.Config(retries={"total_max_attempts": 1})
    )
    src = tmp_path / "src"
    src.write_bytes(b"x")
    calls = {
        "list_objects_v2": lambda storage: list(storage.list("bkt", "p/")),
        "put_object": lambda storage: storage.put_file("bkt", "p/k", src, {}),
        "get_object": lambda storage: storage.get_file("bkt", "p/k", tmp_path / "out"),
    }
    with Stubber(client) as stub:
        stub.add_client_error(method, "AccessDenied", "Access Denied", http_status_code=403)
        with pytest.raises(AccessDeniedError) as raised:
            calls[method](S3Storage(client))
    message = str(raised.value)
    assert message.startswith(f"{operation} s3://bkt/p")
    assert "AccessDenied (Access Denied)" in message
    assert "AWS_PROFILE" in message
    assert action in message


class _Body:
    """A response body that breaks off after ``good`` bytes, as a reset connection does."""

    def __init__(self, data: bytes, good: int | None = None) -> None:
        self._data, self._good, self._at = data, len(data) if good is None else good, 0

    def read(self, amount: int = -1) -> bytes:
        if self._at >= self._good and self._good < len(self._data):
            raise ResponseStreamingError(error="connection reset by peer")
        end = min(self._good, self._at + amount if amount >= 0 else len(self._data))
        chunk, self._at = self._data[self._at : end], end
        return chunk

    def close(self) -> None:
        pass


def test_a_body_that_breaks_off_is_fetched_again(tmp_path: Path) -> None:
    data = os.urandom(3 * MiB)
    client = boto3.client(
        "s3", region_name=REGION, config=boto3.session.Config(retries={"total_max_attempts": 1})
    )
    with Stubber(client) as stub:
        stub.add_response(
            "get_object", {"Body": _Body(data, good=MiB), "ContentLength": len(data), "ETag": '"e"'}
        )
        stub.add_response("get_object", {"Body": _Body(data), "ContentLength": len(data), "ETag": '"e"'})
        head = S3Storage(client).get_file("bkt", "k", tmp_path / "out")
        stub.assert_no_pending_responses()
    assert (tmp_path / "out").read_bytes() == data
    assert head.etag == "e"

    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_response("get_object", {"Body": _Body(data, good=10), "ContentLength": len(data)})
        with pytest.raises(StorageError, match="connection reset"):
            S3Storage(client).get_file("bkt", "k", tmp_path / "out")
        stub.assert_no_pending_responses()
    assert not (tmp_path / "out").exists()


def _md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def test_a_body_unlike_its_etag_is_fetched_again(tmp_path: Path) -> None:
    """A single-part object's ETag is the MD5 of its bytes: a body flipped on the way is fetched
    again instead of failing the download's SHA-256 check with nothing wrong in the store."""
    data = os.urandom(100_000)
    flipped = bytes([data[0] ^ 1]) + data[1:]
    client = boto3.client("s3", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "get_object", {"Body": _Body(flipped), "ContentLength": len(data), "ETag": _md5(data)}
        )
        stub.add_response("get_object", {"Body": _Body(data), "ContentLength": len(data), "ETag": _md5(data)})
        S3Storage(client).get_file("bkt", "k", tmp_path / "out")
        stub.assert_no_pending_responses()
    assert (tmp_path / "out").read_bytes() == data

    with Stubber(client) as stub:
        for i in range(3):
            body = bytes([data[0] ^ (i + 1)]) + data[1:]
            stub.add_response(
                "get_object", {"Body": _Body(body), "ContentLength": len(data), "ETag": _md5(data)}
            )
        with pytest.raises(StorageError, match="differed from its ETag"):
            S3Storage(client).get_file("bkt", "k", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_store_whose_etags_are_not_md5s_is_learned_once(tmp_path: Path) -> None:
    data = os.urandom(1000)
    other = '"0123456789abcdef0123456789abcdef"'
    client = boto3.client("s3", region_name=REGION)
    storage = S3Storage(client)
    with Stubber(client) as stub:
        for _ in range(3):  # twice for the first download (same bytes: the ETag is no MD5), once after
            stub.add_response("get_object", {"Body": _Body(data), "ContentLength": len(data), "ETag": other})
        storage.get_file("bkt", "k", tmp_path / "one")
        storage.get_file("bkt", "k", tmp_path / "two")
        stub.assert_no_pending_responses()
    assert (tmp_path / "one").read_bytes() == (tmp_path / "two").read_bytes() == data


def test_a_delta_download_with_its_reference_cached_is_one_s3_request(
    s3: S3Backend, bucket: str, tmp_path: Path
) -> None:
    session = boto3.session.Session(region_name=REGION)
    sent: list[str] = []
    session.events.register(
        "before-send.s3", lambda event_name, **_: sent.append(event_name.rsplit(".", 1)[-1])
    )
    client = create_client(endpoint_url=s3.endpoint_url, cache_dir=str(tmp_path / "cache"), session=session)
    src = tmp_path / "src"
    src.mkdir()
    first, second = release_zips(src, "app", 2, size=200_000)
    (src / "notes.txt").write_text("stored whole\n")
    for path in (first, second, src / "notes.txt"):
        client.upload(path, f"s3://{bucket}/app/")  # the reference is cached from here on

    for path in (second, src / "notes.txt"):
        sent.clear()
        client.download(f"s3://{bucket}/app/{path.name}", tmp_path / path.name)
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()
        assert sent == ["GetObject"], (path.name, sent)
