"""S3Storage against moto, in-process and over HTTP: the StoragePort contract on real S3 semantics.

Conditional create on moto 5.2.1: both modes answer If-None-Match: * over an existing key with 412 on
PutObject and on CompleteMultipartUpload (``test_moto_honours_if_none_match``), but moto checks and
then writes without a lock, so racing multipart completions can both succeed
(``test_unserialized_moto_lets_two_multipart_creators_win``). The fixtures make that check atomic, as
S3 documents it (``support/moto_server.py``), so the race tests test our use of the condition.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.s3.models import S3Backend as MotoS3Backend
from support.conditional_contract import check_contract
from support.s3_backend import S3Backend
from support.storage_io import get_bytes, put_bytes
from support.variants import S3_IN_PROCESS_FIRST, S3_IN_PROCESS_TOO

from deltaglider.adapters.storage_s3 import CONTENT_TYPE, S3Storage
from deltaglider.errors import AccessDeniedError, NotFoundError, StorageError
from deltaglider.ports.storage import StoragePort

MiB = 1024 * 1024

#: The smallest multipart settings S3 accepts (parts >= 5 MiB), so a 12 MiB file takes 3 parts.
SMALL_MULTIPART = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)


@pytest.fixture
def storage(s3: S3Backend) -> S3Storage:
    return S3Storage(s3.client)


@pytest.fixture
def multipart_storage(s3: S3Backend) -> S3Storage:
    return S3Storage(s3.client, transfer_config=SMALL_MULTIPART)


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(12 * MiB + 123))
    return path


def test_satisfies_the_port() -> None:
    """mypy checks the structural match statically; this checks the signatures the service calls
    (names, order, keyword-only), so a drift fails here too. Extra parameters must be optional."""
    for name in (
        "url",
        "head",
        "list",
        "get_file",
        "put_file",
        "put_file_if_absent",
        "put_file_if_match",
        "delete",
        "delete_if_match",
        "cleanup",
    ):
        wanted = list(inspect.signature(getattr(StoragePort, name)).parameters.values())
        have = list(inspect.signature(getattr(S3Storage, name)).parameters.values())
        assert [(p.name, p.kind) for p in have[: len(wanted)]] == [(p.name, p.kind) for p in wanted], name
        assert all(p.default is not inspect.Parameter.empty for p in have[len(wanted) :]), name


# -- head, metadata ----------------------------------------------------------------------------


def test_head_missing_object_is_none(storage: S3Storage, bucket: str) -> None:
    assert storage.head(bucket, "nope/reference.bin") is None


def test_put_bytes_then_head_round_trips_metadata(storage: S3Storage, s3: S3Backend, bucket: str) -> None:
    metadata = {"dg-tool": "deltaglider/0.1.0", "DG-File-SHA256": "ab" * 32, "dg-created-at": "2026-01-01Z"}
    put_bytes(storage, bucket, "p/x.zip.delta", b"0123456789", metadata)

    head = storage.head(bucket, "p/x.zip.delta")

    assert head is not None
    assert (head.bucket, head.key, head.size) == (bucket, "p/x.zip.delta", 10)
    # Keys come back lowercased (S3 would do it anyway), values untouched.
    assert dict(head.metadata) == {
        "dg-tool": "deltaglider/0.1.0",
        "dg-file-sha256": "ab" * 32,
        "dg-created-at": "2026-01-01Z",
    }
    raw = s3.client.head_object(Bucket=bucket, Key="p/x.zip.delta")
    assert head.etag == raw["ETag"].strip('"')
    assert head.last_modified == raw["LastModified"]
    assert raw["ContentType"] == CONTENT_TYPE


def test_non_ascii_metadata_is_refused_clearly(storage: S3Storage, bucket: str) -> None:
    with pytest.raises(StorageError, match="must be ASCII"):
        put_bytes(storage, bucket, "k", b"x", {"dg-original-name": "résumé.zip"})
    assert storage.head(bucket, "k") is None


# -- files ---------------------------------------------------------------------------------------


def test_put_file_get_file_and_get_bytes(
    storage: S3Storage, s3: S3Backend, bucket: str, small_file: Path, tmp_path: Path
) -> None:
    storage.put_file(bucket, "a/small.bin", small_file, {"dg-note": "reference"})

    dest = tmp_path / "out.bin"
    storage.get_file(bucket, "a/small.bin", dest)

    assert dest.read_bytes() == small_file.read_bytes()
    assert get_bytes(storage, bucket, "a/small.bin") == small_file.read_bytes()
    raw = s3.client.head_object(Bucket=bucket, Key="a/small.bin")
    assert raw["ContentType"] == CONTENT_TYPE
    assert raw["Metadata"] == {"dg-note": "reference"}


def test_put_file_replaces_existing_object(
    storage: S3Storage, bucket: str, small_file: Path, tmp_path: Path
) -> None:
    put_bytes(storage, bucket, "k", b"old", {"v": "1"})
    storage.put_file(bucket, "k", small_file, {"v": "2"})
    head = storage.head(bucket, "k")
    assert head is not None and head.metadata == {"v": "2"}
    assert get_bytes(storage, bucket, "k") == small_file.read_bytes()


def test_empty_file_round_trips(storage: S3Storage, bucket: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert storage.put_file_if_absent(bucket, "empty", empty, {})
    storage.get_file(bucket, "empty", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b""


def test_progress_callbacks_count_every_byte(
    multipart_storage: S3Storage, bucket: str, big_file: Path, small_file: Path, tmp_path: Path
) -> None:
    lock = threading.Lock()
    for path in (small_file, big_file):
        sent: list[int] = []

        def on_upload(n: int, sent: list[int] = sent) -> None:
            with lock:  # called from the transfer manager's worker threads
                sent.append(n)

        multipart_storage.put_file(bucket, path.name, path, {}, progress=on_upload)
        assert sum(sent) == path.stat().st_size

        received: list[int] = []
        multipart_storage.get_file(bucket, path.name, tmp_path / "dl", progress=received.append)
        assert sum(received) == path.stat().st_size

        created: list[int] = []

        def on_create(n: int, created: list[int] = created) -> None:
            with lock:
                created.append(n)

        assert multipart_storage.put_file_if_absent(bucket, f"new-{path.name}", path, {}, progress=on_create)
        assert sum(created) == path.stat().st_size
        assert len(created) == (3 if path is big_file else 1)  # one call per part


def test_multipart_put_file_round_trips_with_metadata(
    multipart_storage: S3Storage, s3: S3Backend, bucket: str, big_file: Path, tmp_path: Path
) -> None:
    multipart_storage.put_file(bucket, "big/reference.bin", big_file, {"dg-note": "reference"})

    raw = s3.client.head_object(Bucket=bucket, Key="big/reference.bin")
    # A multipart ETag is "<md5 of part md5s>-<part count>": proof the multipart path ran.
    assert raw["ETag"].strip('"').endswith("-3")
    assert raw["Metadata"] == {"dg-note": "reference"}
    assert raw["ContentType"] == CONTENT_TYPE

    dest = tmp_path / "back.bin"
    multipart_storage.get_file(bucket, "big/reference.bin", dest)
    assert dest.read_bytes() == big_file.read_bytes()


def _fail_part(client: Any, part_number: int) -> None:
    """Make UploadPart fail for one part, as a dropped connection would."""

    def handler(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == part_number:
            raise ClientError(
                {"Error": {"Code": "InternalError", "Message": "injected"}, "ResponseMetadata": {}},
                "UploadPart",
            )

    client.meta.events.register("before-parameter-build.s3.UploadPart", handler)


@pytest.mark.parametrize("conditional", [False, True], ids=["put_file", "put_file_if_absent"])
def test_failed_multipart_upload_leaves_no_object_and_no_parts(
    s3: S3Backend, bucket: str, big_file: Path, conditional: bool
) -> None:
    client = s3.new_client()
    _fail_part(client, part_number=2)
    storage = S3Storage(client, transfer_config=SMALL_MULTIPART)

    with pytest.raises(StorageError, match="InternalError") as raised:
        if conditional:
            storage.put_file_if_absent(bucket, "big.bin", big_file, {})
        else:
            storage.put_file(bucket, "big.bin", big_file, {})

    assert isinstance(raised.value.__cause__, ClientError)
    assert storage.head(bucket, "big.bin") is None
    assert s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


# -- listing -----------------------------------------------------------------------------------


@S3_IN_PROCESS_FIRST
def test_list_follows_every_page(storage: S3Storage, s3: S3Backend, bucket: str) -> None:
    # S3 pages hold at most 1,000 keys; the original stopped listing at its own cap.
    keys = [f"many/{i:05d}.zip.delta" for i in range(1001)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda k: s3.client.put_object(Bucket=bucket, Key=k, Body=b"d"), keys))
    s3.client.put_object(Bucket=bucket, Key="other/x", Body=b"x")

    listed = list(storage.list(bucket, "many/"))

    assert [h.key for h in listed] == keys
    assert all(h.size == 1 and h.bucket == bucket and h.etag for h in listed)
    assert all(h.metadata == {} for h in listed)  # listings carry no user metadata


def test_list_non_recursive_shows_sub_folders(storage: S3Storage, s3: S3Backend, bucket: str) -> None:
    for key in [
        "p/a.zip",
        "p/b.zip.delta",
        "p/reference.bin",
        "p/sub/c.zip",
        "p/sub/deeper/d",
        "p/t/e",
        "pq/x",
    ]:
        s3.client.put_object(Bucket=bucket, Key=key, Body=key.encode())

    assert [(h.key, h.is_prefix) for h in storage.list(bucket, "p/", recursive=False)] == [
        ("p/a.zip", False),
        ("p/b.zip.delta", False),
        ("p/reference.bin", False),
        ("p/sub/", True),
        ("p/t/", True),
    ]
    assert [h.key for h in storage.list(bucket, "p/")] == [
        "p/a.zip",
        "p/b.zip.delta",
        "p/reference.bin",
        "p/sub/c.zip",
        "p/sub/deeper/d",
        "p/t/e",
    ]
    top = list(storage.list(bucket, "", recursive=False))
    assert [(h.key, h.is_prefix, h.size) for h in top] == [("p/", True, 0), ("pq/", True, 0)]
    assert list(storage.list(bucket, "absent/")) == []


def test_keys_with_unusual_characters(storage: S3Storage, bucket: str) -> None:
    # botocore url-encodes listings; the adapter must hand back the real key.
    key = "dir with space/naïve+plus&amp%20.zip.delta"
    put_bytes(storage, bucket, key, b"x", {})
    assert [h.key for h in storage.list(bucket, "dir with space/")] == [key]
    assert storage.head(bucket, key) is not None


# -- delete ------------------------------------------------------------------------------------


def test_delete_is_idempotent(storage: S3Storage, bucket: str) -> None:
    put_bytes(storage, bucket, "k", b"x", {})
    storage.delete(bucket, "k")
    assert storage.head(bucket, "k") is None
    storage.delete(bucket, "k")  # already gone: not an error


# -- conditional create ------------------------------------------------------------------------


@S3_IN_PROCESS_TOO
def test_moto_honours_if_none_match(s3: S3Backend, bucket: str) -> None:
    """What the conditional-create tests rely on: moto 5.2.1 refuses PutObject and
    CompleteMultipartUpload with If-None-Match: * over an existing key (412), in both modes."""
    s3.client.put_object(Bucket=bucket, Key="k", Body=b"first")
    with pytest.raises(ClientError) as raised:
        s3.client.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert raised.value.response["Error"]["Code"] == "PreconditionFailed"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412

    upload = s3.client.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    etag = s3.client.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"p")["ETag"]
    with pytest.raises(ClientError) as raised:
        s3.client.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
            IfNoneMatch="*",
        )
    assert raised.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first"


@pytest.mark.parametrize("size", [1000, 12 * MiB], ids=["single-put", "multipart"])
def test_put_file_if_absent_creates_once(
    multipart_storage: S3Storage, s3: S3Backend, bucket: str, tmp_path: Path, size: int
) -> None:
    first = tmp_path / "first"
    first.write_bytes(os.urandom(size))
    second = tmp_path / "second"
    second.write_bytes(os.urandom(size))

    assert multipart_storage.put_file_if_absent(bucket, "s/reference.bin", first, {"dg-source-name": "a"})
    assert not multipart_storage.put_file_if_absent(
        bucket, "s/reference.bin", second, {"dg-source-name": "b"}
    )

    head = multipart_storage.head(bucket, "s/reference.bin")
    assert head is not None and head.metadata == {"dg-source-name": "a"}
    assert head.size == size
    assert (head.etag or "").endswith("-3") == (size > 5 * MiB)
    assert get_bytes(multipart_storage, bucket, "s/reference.bin") == first.read_bytes()
    # The losing multipart upload was aborted, not left behind.
    assert s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@S3_IN_PROCESS_TOO  # the in-process serialization (support/moto_server.py) at work
@pytest.mark.parametrize("size", [1000, 12 * MiB], ids=["single-put", "multipart"])
def test_concurrent_creators_exactly_one_wins(
    multipart_storage: S3Storage, bucket: str, tmp_path: Path, size: int
) -> None:
    writers = 4
    rounds = 3 if size < MiB else 1
    files = []
    for i in range(writers):
        path = tmp_path / f"w{i}"
        path.write_bytes(os.urandom(size))
        files.append(path)

    for r in range(rounds):
        key = f"race{r}/reference.bin"
        barrier = threading.Barrier(writers)

        def create(i: int, key: str = key, barrier: threading.Barrier = barrier) -> bool:
            barrier.wait()
            return multipart_storage.put_file_if_absent(bucket, key, files[i], {"writer": str(i)})

        with ThreadPoolExecutor(max_workers=writers) as pool:
            results = list(pool.map(create, range(writers)))

        assert results.count(True) == 1, results
        winner = results.index(True)
        head = multipart_storage.head(bucket, key)
        assert head is not None and head.metadata == {"writer": str(winner)}
        assert get_bytes(multipart_storage, bucket, key) == files[winner].read_bytes()


def test_store_that_ignores_if_none_match_is_detected(s3: S3Backend, bucket: str, small_file: Path) -> None:
    """Some S3-compatible stores drop If-None-Match and overwrite. Simulated here by stripping the
    header and letting a rival writer replace the object right after our PUT: we must not claim it."""
    client = s3.new_client()

    def drop_condition(params: dict[str, Any], **_: Any) -> None:
        params.pop("IfNoneMatch", None)

    rival_done: list[bool] = []

    def rival_overwrites(**_: Any) -> None:
        if not rival_done:
            rival_done.append(True)
            s3.client.put_object(Bucket=bucket, Key="ref", Body=b"the rival's reference")

    client.meta.events.register("before-parameter-build.s3.PutObject", drop_condition)
    client.meta.events.register("after-call.s3.PutObject", rival_overwrites)

    assert S3Storage(client).put_file_if_absent(bucket, "ref", small_file, {}) is False
    assert s3.client.get_object(Bucket=bucket, Key="ref")["Body"].read() == b"the rival's reference"


# -- errors ------------------------------------------------------------------------------------


def test_missing_bucket_is_not_found(storage: S3Storage, small_file: Path, tmp_path: Path) -> None:
    bucket = "dg-no-such-bucket"
    for call in (
        lambda: list(storage.list(bucket, "")),
        lambda: list(storage.list(bucket, "", recursive=False)),
        lambda: storage.cleanup(bucket, "", timedelta(0)),
        lambda: get_bytes(storage, bucket, "k"),
        lambda: storage.get_file(bucket, "k", tmp_path / "out"),
        lambda: put_bytes(storage, bucket, "k", b"x", {}),
        lambda: storage.put_file(bucket, "k", small_file, {}),
        lambda: storage.put_file_if_absent(bucket, "k", small_file, {}),
        lambda: storage.delete(bucket, "k"),
    ):
        with pytest.raises(NotFoundError, match=f"the bucket '{bucket}' does not exist") as raised:
            call()
        assert isinstance(raised.value.__cause__, ClientError)
        assert isinstance(raised.value, FileNotFoundError)
    # HEAD carries no error body; one HeadBucket tells the missing bucket from a missing object.
    with pytest.raises(NotFoundError, match=f"the bucket '{bucket}' does not exist"):
        storage.head(bucket, "k")
    assert not (tmp_path / "out").exists()


def test_missing_key_is_not_found(storage: S3Storage, bucket: str, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=f"s3://{bucket}/nope") as raised:
        get_bytes(storage, bucket, "nope")
    assert raised.value.__cause__ is not None
    # One GET, no HEAD first: the error body names the missing key.
    assert raised.value.__cause__.response["Error"]["Code"] == "NoSuchKey"  # type: ignore[attr-defined]

    dest = tmp_path / "out.bin"
    with pytest.raises(NotFoundError):
        storage.get_file(bucket, "nope", dest)
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file left behind


def test_access_denied(s3: S3Backend, bucket: str, small_file: Path) -> None:
    """moto enforces IAM when asked: an unknown key and a user without S3 permissions are refused."""
    storage = S3Storage(s3.client)
    put_bytes(storage, bucket, "secret", b"x", {})
    iam = s3.new_resource_client("iam")
    iam.create_user(UserName="nobody")
    keys = iam.create_access_key(UserName="nobody")["AccessKey"]
    nobody = S3Storage(
        s3.new_client(aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"])
    )
    stranger = S3Storage(
        s3.new_client(aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="wrong")
    )

    with s3.iam_auth():
        # Reads start with a HEAD, whose 403 carries no error code.
        with pytest.raises(AccessDeniedError, match=r"AccessDenied|403") as raised:
            get_bytes(nobody, bucket, "secret")
        assert isinstance(raised.value, PermissionError)
        assert isinstance(raised.value.__cause__, ClientError)
        with pytest.raises(AccessDeniedError):
            nobody.head(bucket, "secret")  # a 403 HEAD is not "missing"
        with pytest.raises(AccessDeniedError):
            nobody.put_file_if_absent(bucket, "new", small_file, {})
        with pytest.raises(AccessDeniedError):
            list(nobody.list(bucket, ""))
        with pytest.raises(AccessDeniedError, match="InvalidAccessKeyId"):
            list(stranger.list(bucket, ""))


def test_unserialized_moto_lets_two_multipart_creators_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the fixtures serialize moto's conditional writes (support/moto_server.py): moto 5.2.1 checks
    If-None-Match and then assembles the parts, unlocked, so racing completions both succeed. Should a
    later moto make this atomic, this test fails and the serialization can go."""
    slow_complete = MotoS3Backend.complete_multipart_upload

    def widened(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # widen moto's window between the check and the write
        return slow_complete(self, *args, **kwargs)

    monkeypatch.setattr(MotoS3Backend, "complete_multipart_upload", widened)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="race")
        uploads = []
        for i in range(2):
            upload = client.create_multipart_upload(Bucket="race", Key="k")["UploadId"]
            part = client.upload_part(Bucket="race", Key="k", UploadId=upload, PartNumber=1, Body=b"%d" % i)
            uploads.append((upload, part["ETag"]))
        barrier = threading.Barrier(2)

        def complete(upload_etag: tuple[str, str]) -> str:
            barrier.wait()
            try:
                client.complete_multipart_upload(
                    Bucket="race",
                    Key="k",
                    UploadId=upload_etag[0],
                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": upload_etag[1]}]},
                    IfNoneMatch="*",
                )
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])
            return "created"

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(complete, uploads))
    assert outcomes == ["created", "created"]


@pytest.mark.parametrize("size", [1000, 12 * MiB], ids=["single-put", "multipart"])
def test_conditional_rewrites_and_deletes_act_on_the_named_version_only(
    multipart_storage: S3Storage, bucket: str, tmp_path: Path, size: int
) -> None:
    check_contract(multipart_storage, bucket, tmp_path)
    # A multipart rewrite checks the version on completion, and aborts when it lost.
    big = tmp_path / "big"
    big.write_bytes(os.urandom(size))
    put_bytes(multipart_storage, bucket, "m", b"old", {})
    head = multipart_storage.head(bucket, "m")
    assert head is not None and head.etag
    put_bytes(multipart_storage, bucket, "m", b"newer", {})
    assert not multipart_storage.put_file_if_match(bucket, "m", big, {}, etag=head.etag)
    assert get_bytes(multipart_storage, bucket, "m") == b"newer"
    current = multipart_storage.head(bucket, "m")
    assert current is not None and current.etag
    assert multipart_storage.put_file_if_match(bucket, "m", big, {}, etag=current.etag)
    assert get_bytes(multipart_storage, bucket, "m") == big.read_bytes()


def test_list_resumes_after_a_key_without_listing_what_comes_before(
    storage: S3Storage, s3: S3Backend, bucket: str
) -> None:
    keys = [f"p/{i:02d}.zip" for i in range(20)] + ["p/sub/x", "p/sub/y"]
    for key in keys:
        s3.client.put_object(Bucket=bucket, Key=key, Body=b"d")
    sent: list[str] = []
    s3_client = storage._client  # the adapter's own client: see what its listing requests ask
    s3_client.meta.events.register(
        "before-send.s3.ListObjectsV2", lambda request, **_: sent.append(request.url)
    )

    resumed = [h.key for h in storage.list(bucket, "p/", start_after="p/12.zip")]
    folders = [
        (h.key, h.is_prefix) for h in storage.list(bucket, "p/", recursive=False, start_after="p/sub/")
    ]

    assert resumed == keys[13:]
    assert folders == []  # the folder that holds the start is not after it
    # The store is asked to start there: a resumed listing of a large folder costs no page before it.
    assert len(sent) == 2
    assert all("start-after=p%2F" in url for url in sent)
