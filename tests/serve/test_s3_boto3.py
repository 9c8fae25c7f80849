"""boto3 against the server: buckets, listings (prefix, delimiter, pages), HEAD, GET with ranges,
PUT, multipart, deletes and presigned URLs, every byte compared, and what the folder store holds."""

from __future__ import annotations

import hashlib
import random
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from .conftest import BUCKET, Served

MIB = 1024 * 1024


def family(seed: int, size: int, versions: int) -> list[bytes]:
    """``versions`` files of ``size`` bytes, each a few edits from the previous."""
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(size))
    out = [bytes(data)]
    for _ in range(versions - 1):
        for _ in range(5):
            at = rng.randrange(size - 64)
            data[at : at + 64] = rng.randbytes(64)
        out.append(bytes(data))
    return out


def stored_files(root: Path, bucket: str, folder: str) -> set[str]:
    """Names in the store's folder, as the folder store keeps them on disk (no sidecars)."""
    return {path.name for path in (root / bucket / folder).iterdir() if path.is_file()}


@pytest.fixture(scope="module")
def release(s3: Any) -> list[bytes]:
    files = family(1, 400_000, 3)
    for number, data in enumerate(files, 1):
        s3.put_object(Bucket=BUCKET, Key=f"rel/app-{number}.iso", Body=data)
    return files


def test_buckets_are_listed(s3: Any) -> None:
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]


def test_put_stores_deltas_that_read_back_exactly(s3: Any, served: Served, release: list[bytes]) -> None:
    on_disk = stored_files(served.root, BUCKET, "rel")
    assert {"app-2.iso.delta", "app-3.iso.delta"} <= on_disk
    assert "app-2.iso" not in on_disk
    for number, data in enumerate(release, 1):
        body = s3.get_object(Bucket=BUCKET, Key=f"rel/app-{number}.iso")["Body"].read()
        assert body == data


def test_listing_shows_files_with_their_sizes(s3: Any, release: list[bytes]) -> None:
    answer = s3.list_objects_v2(Bucket=BUCKET, Prefix="rel/")
    assert [(o["Key"], o["Size"]) for o in answer["Contents"]] == [
        (f"rel/app-{n}.iso", len(data)) for n, data in enumerate(release, 1)
    ]


def test_head_and_etag_follow_the_content(s3: Any, release: list[bytes]) -> None:
    head = s3.head_object(Bucket=BUCKET, Key="rel/app-2.iso")
    assert head["ContentLength"] == len(release[1])
    assert head["ETag"] == f'"{hashlib.sha256(release[1]).hexdigest()}"'
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="rel/app-2")["Contents"][0]
    assert listed["ETag"] == head["ETag"]
    got = s3.get_object(Bucket=BUCKET, Key="rel/app-2.iso")
    assert got["ETag"] == head["ETag"]


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=1000-1999", 1000, 1999), ("bytes=399000-", 399000, 399999), ("bytes=-10", 399990, 399999),
     ("bytes=399990-500000", 399990, 399999)],
)  # fmt: skip
def test_get_range(s3: Any, release: list[bytes], header: str, first: int, last: int) -> None:
    got = s3.get_object(Bucket=BUCKET, Key="rel/app-3.iso", Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {first}-{last}/{len(release[2])}"
    assert got["Body"].read() == release[2][first : last + 1]


def test_range_past_the_end_is_416(s3: Any, release: list[bytes]) -> None:
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="rel/app-3.iso", Range="bytes=400000-")
    assert caught.value.response["Error"]["Code"] == "InvalidRange"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416


def test_missing_key_and_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="rel/nothing.bin")
    assert caught.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as caught:
        s3.list_objects_v2(Bucket="no-such-bucket")
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_delimiter_and_pages(s3: Any) -> None:
    for name in ("tree/a.txt", "tree/b/1.txt", "tree/b/2.txt", "tree/c.txt", "tree/d/1.txt"):
        s3.put_object(Bucket=BUCKET, Key=name, Body=name.encode())
    top = s3.list_objects_v2(Bucket=BUCKET, Prefix="tree/", Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["tree/a.txt", "tree/c.txt"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["tree/b/", "tree/d/"]
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix="tree/", PaginationConfig={"PageSize": 2}
    )
    seen = [[o["Key"] for o in page.get("Contents", [])] for page in pages]
    assert seen == [["tree/a.txt", "tree/b/1.txt"], ["tree/b/2.txt", "tree/c.txt"], ["tree/d/1.txt"]]


def test_multipart_upload(s3: Any, served: Served, tmp_path: Path) -> None:
    files = family(2, 11 * MIB, 2)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    for number, data in enumerate(files, 1):
        source = tmp_path / f"big-{number}.iso"
        source.write_bytes(data)
        s3.upload_file(str(source), BUCKET, f"big/big-{number}.iso", Config=config)
    assert "big-2.iso.delta" in stored_files(served.root, BUCKET, "big")
    target = tmp_path / "back.bin"
    s3.download_file(BUCKET, "big/big-2.iso", str(target), Config=config)
    assert target.read_bytes() == files[1]


def test_multipart_abort_and_small_parts(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/x.bin")["UploadId"]
    first = s3.upload_part(Bucket=BUCKET, Key="mp/x.bin", UploadId=upload, PartNumber=1, Body=b"a" * 10)
    second = s3.upload_part(Bucket=BUCKET, Key="mp/x.bin", UploadId=upload, PartNumber=2, Body=b"b" * 10)
    parts = [{"PartNumber": 1, "ETag": first["ETag"]}, {"PartNumber": 2, "ETag": second["ETag"]}]
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key="mp/x.bin", UploadId=upload, MultipartUpload={"Parts": parts}
        )
    assert caught.value.response["Error"]["Code"] == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp/x.bin", UploadId=upload)
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=BUCKET, Key="mp/x.bin", UploadId=upload, PartNumber=3, Body=b"c")
    assert caught.value.response["Error"]["Code"] == "NoSuchUpload"


def test_single_part_multipart_completes(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/one.bin")["UploadId"]
    part = s3.upload_part(Bucket=BUCKET, Key="mp/one.bin", UploadId=upload, PartNumber=1, Body=b"only part")
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key="mp/one.bin", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )  # fmt: skip
    assert s3.get_object(Bucket=BUCKET, Key="mp/one.bin")["Body"].read() == b"only part"


def test_delete_and_delete_objects(s3: Any) -> None:
    for name in ("gone/1.txt", "gone/2.txt", "gone/3.txt"):
        s3.put_object(Bucket=BUCKET, Key=name, Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="gone/1.txt")
    answer = s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "gone/2.txt"}, {"Key": "gone/3.txt"}]}
    )
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["gone/2.txt", "gone/3.txt"]
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="gone/")


def test_presigned_get(s3: Any, release: list[bytes]) -> None:
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "rel/app-2.iso"}, ExpiresIn=60
    )
    with urllib.request.urlopen(url) as answer:
        assert answer.read() == release[1]


def test_metadata_round_trip(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="meta/a.txt", Body=b"hello", Metadata={"owner": "ci"})
    assert s3.head_object(Bucket=BUCKET, Key="meta/a.txt")["Metadata"] == {"owner": "ci"}


def test_presigned_get_signature_v4(served: Served, release: list[bytes]) -> None:
    client = served.boto3(signature_version="s3v4")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "rel/app-3.iso"}, ExpiresIn=60
    )
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url) as answer:
        assert answer.read() == release[2]


def test_conditional_get(s3: Any, release: list[bytes]) -> None:
    etag = s3.head_object(Bucket=BUCKET, Key="rel/app-1.iso")["ETag"]
    got = s3.get_object(Bucket=BUCKET, Key="rel/app-1.iso", IfMatch=etag, Range="bytes=0-3")
    assert got["Body"].read() == release[0][:4]
    assert error_code(lambda: s3.get_object(Bucket=BUCKET, Key="rel/app-1.iso", IfMatch='"other"')) == (
        "PreconditionFailed",
        412,
    )
    assert error_code(lambda: s3.get_object(Bucket=BUCKET, Key="rel/app-1.iso", IfNoneMatch=etag)) == (
        "304",
        304,
    )


def error_code(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]
