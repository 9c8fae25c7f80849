"""put_object, get_object and head_object on a folder store and on moto's HTTP server: bytes back as
put, streaming both ways, the file's size and the user's metadata for deltas too, ranges, and
answers shaped as boto3's for the same call on a plain bucket."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.boto_shapes import Store, assert_shape_like, releases

from deltaglider import NotFoundError
from deltaglider.core import scratch


class _NoWholeReads(io.RawIOBase):
    """A stream that refuses to be read whole: a spooler must read it a chunk at a time."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.largest = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > 8 * 1024 * 1024:
            raise AssertionError(f"read({size}) would hold the whole stream in memory")
        self.largest = max(self.largest, size)
        return self._data.read(size)


def _scratch_folders() -> set[str]:
    mine = f"{scratch.PREFIX}{os.getpid()}-"
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith(mine)}


def test_bodies_of_every_kind_come_back_as_put(store: Store, tmp_path: Path) -> None:
    client, bucket = store.client, store.bucket
    first, second, third, fourth = releases(4)
    path = tmp_path / "given.zip"
    path.write_bytes(fourth)
    bodies: list[tuple[str, Any, bytes]] = [
        ("rel/app-1.0.zip", first, first),  # bytes: the folder's first file
        ("rel/app-1.1.zip", io.BytesIO(second), second),  # a file object
        ("rel/app-1.2.zip", _NoWholeReads(third), third),  # a stream read in chunks
        ("rel/app-1.3.zip", path, fourth),  # a path, as the original took it
        ("rel/notes.txt", "héllo", "héllo".encode()),  # str, as UTF-8
        ("rel/empty.bin", None, b""),  # no Body: an empty file, as boto3 stores it
    ]
    before = _scratch_folders()
    answers = {key: client.put_object(Bucket=bucket, Key=key, Body=body) for key, body, _ in bodies}
    assert _scratch_folders() == before, "the spool is removed after the upload"

    for key, _, expected in bodies:
        got = client.get_object(Bucket=bucket, Key=key)
        with got["Body"] as body:
            assert body.read() == expected, key
        assert got["ContentLength"] == len(expected)
    assert answers["rel/app-1.1.zip"]["DeltaGliderInfo"]["IsDelta"] is True
    assert answers["rel/app-1.1.zip"]["DeltaGliderInfo"]["StoredAs"] == "rel/app-1.1.zip.delta"
    assert answers["rel/app-1.2.zip"]["DeltaGliderInfo"]["Operation"] == "PUT_DELTA"
    assert answers["rel/notes.txt"]["DeltaGliderInfo"]["IsDelta"] is False
    info = answers["rel/app-1.1.zip"]["DeltaGliderInfo"]
    assert set(info) == {
        "OriginalSizeMB",
        "StoredSizeMB",
        "IsDelta",
        "CompressionRatio",
        "SavingsPercent",
        "DeltaRatio",
        "StoredAs",
        "Operation",
    }
    assert info["DeltaRatio"] == info["StoredSizeMB"] / info["OriginalSizeMB"]
    assert info["StoredSizeMB"] < info["OriginalSizeMB"] / 10
    assert info["SavingsPercent"] > 90


def test_a_stream_is_spooled_a_chunk_at_a_time(store: Store) -> None:
    data = releases(1, size=3 * 1024 * 1024)[0]
    stream = _NoWholeReads(data)
    store.client.put_object(Bucket=store.bucket, Key="big.bin", Body=stream)
    assert 0 < stream.largest <= 1024 * 1024
    assert store.client.get_object(Bucket=store.bucket, Key="big.bin")["Body"].read() == data


def test_the_etag_names_the_version_in_every_answer(store: Store) -> None:
    client, bucket = store.client, store.bucket
    first, second = releases(2)
    client.put_object(Bucket=bucket, Key="rel/app-1.0.zip", Body=first)
    put = client.put_object(Bucket=bucket, Key="rel/app-1.1.zip", Body=second)
    etag = put["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    assert client.head_object(Bucket=bucket, Key="rel/app-1.1.zip")["ETag"] == etag
    assert client.get_object(Bucket=bucket, Key="rel/app-1.1.zip")["ETag"] == etag
    listed = client.list_objects(Bucket=bucket, Prefix="rel/")["Contents"]
    assert {o["Key"]: o.get("ETag") for o in listed}["rel/app-1.1.zip"] == etag
    again = client.put_object(Bucket=bucket, Key="rel/app-1.1.zip", Body=first)
    assert again["ETag"] != etag


def test_head_and_get_of_a_delta_give_the_file_size_and_the_users_metadata(store: Store) -> None:
    client, bucket = store.client, store.bucket
    first, second = releases(2)
    client.put_object(Bucket=bucket, Key="rel/app-1.0.zip", Body=first, Metadata={"Build": "1"})
    put = client.put_object(
        Bucket=bucket, Key="rel/app-1.1.zip", Body=second, Metadata={"Build": "2", "Owner": "ça"}
    )
    assert put["DeltaGliderInfo"]["IsDelta"] is True

    head = client.head_object(Bucket=bucket, Key="rel/app-1.1.zip")
    assert head["ContentLength"] == len(second)
    assert head["Metadata"] == {"build": "2", "owner": "ça"}
    assert head["ContentType"] == "application/zip"
    got = client.get_object(Bucket=bucket, Key="rel/app-1.1.zip")
    assert got["Metadata"] == {"build": "2", "owner": "ça"}
    assert got["Body"].read() == second
    assert got["LastModified"] == head["LastModified"]


def test_content_type_and_tagging_are_stored(store: Store) -> None:
    client, bucket = store.client, store.bucket
    client.put_object(
        Bucket=bucket, Key="doc/readme", Body=b"text", ContentType="text/markdown", Tagging="team=a&tier=2"
    )
    if store.s3 is not None:
        stored = store.s3.head_object(Bucket=bucket, Key="doc/readme")
        assert stored["ContentType"] == "text/markdown"
        tags = store.s3.get_object_tagging(Bucket=bucket, Key="doc/readme")["TagSet"]
        assert {(t["Key"], t["Value"]) for t in tags} >= {("team", "a"), ("tier", "2")}
    with pytest.raises(ValueError, match="dg-"):
        client.put_object(Bucket=bucket, Key="doc/x", Body=b"", Metadata={"dg-file-sha256": "0" * 64})
    with pytest.raises(TypeError, match="Body"):
        client.put_object(Bucket=bucket, Key="doc/x", Body=12)


def test_a_missing_body_file_is_not_a_missing_bucket(store: Store, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        store.client.put_object(Bucket=store.bucket, Key="a.zip", Body=tmp_path / "absent.zip")
    assert not isinstance(caught.value, ClientError)


@pytest.mark.parametrize(
    "asked", ["bytes=0-9", "bytes=100-199", "bytes=-5", "bytes=59990-", "bytes=59000-99999999", "bytes=0-0"]
)
def test_ranges_are_answered_as_s3_answers_them(
    store: Store, plain_pair: tuple[Any, str], asked: str
) -> None:
    s3, plain_bucket = plain_pair
    first, second = releases(2)
    store.client.put_object(Bucket=store.bucket, Key="rel/app-1.0.zip", Body=first)
    store.client.put_object(Bucket=store.bucket, Key="rel/app-1.1.zip", Body=second)
    s3.put_object(Bucket=plain_bucket, Key="rel/app-1.1.zip", Body=second)

    ours = store.client.get_object(Bucket=store.bucket, Key="rel/app-1.1.zip", Range=asked)
    boto = s3.get_object(Bucket=plain_bucket, Key="rel/app-1.1.zip", Range=asked)
    assert_shape_like(ours, boto, f"Range {asked}: ")
    assert ours["ContentRange"] == boto["ContentRange"]
    assert ours["ContentLength"] == boto["ContentLength"]
    assert ours["Body"].read() == boto["Body"].read()


def test_a_range_past_the_end_is_refused_as_s3_refuses_it(store: Store, plain_pair: tuple[Any, str]) -> None:
    s3, plain_bucket = plain_pair
    before = _scratch_folders()
    store.client.put_object(Bucket=store.bucket, Key="f.bin", Body=b"0123456789")
    s3.put_object(Bucket=plain_bucket, Key="f.bin", Body=b"0123456789")
    with pytest.raises(ClientError) as boto:
        s3.get_object(Bucket=plain_bucket, Key="f.bin", Range="bytes=10-20")
    with pytest.raises(ClientError) as ours:
        store.client.get_object(Bucket=store.bucket, Key="f.bin", Range="bytes=10-20")
    assert ours.value.response["Error"]["Code"] == boto.value.response["Error"]["Code"] == "InvalidRange"
    assert ours.value.response["ResponseMetadata"]["HTTPStatusCode"] == 416
    assert _scratch_folders() == before, "a refused range leaves no copy behind"


def test_the_body_streams_as_botocores_does(store: Store) -> None:
    data = b"".join(b"line %d\n" % i for i in range(3000))
    store.client.put_object(Bucket=store.bucket, Key="log.txt", Body=data)

    body = store.client.get_object(Bucket=store.bucket, Key="log.txt")["Body"]
    assert body.read(5) == data[:5]
    assert body.tell() == 5
    assert b"".join(body.iter_chunks(1000)) == data[5:]
    assert body.read() == b""
    body.close()
    assert body.closed

    lines = list(store.client.get_object(Bucket=store.bucket, Key="log.txt")["Body"].iter_lines(chunk_size=7))
    assert lines == data.splitlines()
    before = _scratch_folders()
    with store.client.get_object(Bucket=store.bucket, Key="log.txt")["Body"] as body:
        assert len(_scratch_folders() - before) == 1, "the checked copy waits in a scratch folder"
        assert b"".join(body) == data
    assert _scratch_folders() == before, "closing the body removes its copy"


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return {"Code": response["Error"]["Code"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


def test_missing_keys_and_buckets_raise_what_boto3_raises(store: Store, plain_pair: tuple[Any, str]) -> None:
    s3, plain_bucket = plain_pair
    client = store.client
    calls = {
        "get key": (
            lambda: client.get_object(Bucket=store.bucket, Key="nope.zip"),
            lambda: s3.get_object(Bucket=plain_bucket, Key="nope.zip"),
        ),
        "head key": (
            lambda: client.head_object(Bucket=store.bucket, Key="nope.zip"),
            lambda: s3.head_object(Bucket=plain_bucket, Key="nope.zip"),
        ),
        "get bucket": (
            lambda: client.get_object(Bucket="no-such-bucket-dg", Key="a"),
            lambda: s3.get_object(Bucket="no-such-bucket-dg", Key="a"),
        ),
        "head bucket": (
            lambda: client.head_object(Bucket="no-such-bucket-dg", Key="a"),
            lambda: s3.head_object(Bucket="no-such-bucket-dg", Key="a"),
        ),
        "put bucket": (
            lambda: client.put_object(Bucket="no-such-bucket-dg", Key="a", Body=b"x"),
            lambda: s3.put_object(Bucket="no-such-bucket-dg", Key="a", Body=b"x"),
        ),
        "delete bucket": (
            lambda: client.delete_object(Bucket="no-such-bucket-dg", Key="a"),
            lambda: s3.delete_object(Bucket="no-such-bucket-dg", Key="a"),
        ),
    }
    for what, (ours, boto) in calls.items():
        assert _error(ours) == _error(boto), what

    with pytest.raises(NotFoundError):
        client.get_object(Bucket=store.bucket, Key="nope.zip")
    with pytest.raises(FileNotFoundError):
        client.head_object(Bucket=store.bucket, Key="nope.zip")


def test_answers_have_boto3s_shape(store: Store, plain_pair: tuple[Any, str]) -> None:
    s3, plain_bucket = plain_pair
    first, second = releases(2)
    client, bucket = store.client, store.bucket
    client.put_object(Bucket=bucket, Key="rel/app-1.0.zip", Body=first)
    s3.put_object(Bucket=plain_bucket, Key="rel/app-1.0.zip", Body=first)
    for call, kwargs in [
        ("put_object", {"Key": "rel/app-1.1.zip", "Body": second, "Metadata": {"a": "b"}}),
        ("head_object", {"Key": "rel/app-1.1.zip"}),
        ("get_object", {"Key": "rel/app-1.1.zip"}),
        ("delete_objects", {"Delete": {"Objects": [{"Key": "rel/app-1.0.zip"}, {"Key": "gone"}]}}),
        ("delete_object", {"Key": "rel/app-1.1.zip"}),
        ("delete_object", {"Key": "never-there"}),
    ]:
        ours = getattr(client, call)(Bucket=bucket, **kwargs)
        boto = getattr(s3, call)(Bucket=plain_bucket, **kwargs)
        assert_shape_like(ours, boto, f"{call}: ")
        if call == "delete_objects":
            assert ours["Deleted"][1]["Key"] == "gone"
            assert [d["Key"] for d in ours["Deleted"]] == [d["Key"] for d in boto["Deleted"]]
