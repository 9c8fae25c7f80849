"""Versions over the S3 API: a server whose client keeps history answers ListObjectVersions,
GetObject and HeadObject with ``versionId``, as boto3 asks for them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import deltaglider
from deltaglider.serve.store import Store

from .conftest import BUCKET, Served, start_server


@pytest.fixture(scope="module")
def keeping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("store")
    (root / BUCKET).mkdir()
    client = deltaglider.create_client(endpoint_url=f"file://{root}", keep_history=True)
    with start_server(root, Store(client)) as running:
        yield running


def _nights(count: int) -> list[bytes]:
    body = b"".join(b"row %d of the first night\n" % i for i in range(3000))
    made = []
    for night in range(count):
        body += b"".join(b"row %d of night %d\n" % (i, night) for i in range(200))
        made.append(body)
    return made


def test_versions_list_and_read_back_over_the_s3_api(keeping: Served) -> None:
    s3: Any = keeping.boto3()
    nights = _nights(3)
    for body in nights:
        s3.put_object(Bucket=BUCKET, Key="db/dump.sql", Body=body)

    listed = s3.list_object_versions(Bucket=BUCKET, Prefix="db/dump")["Versions"]

    assert [v["Key"] for v in listed] == ["db/dump.sql"] * 3
    assert [v["IsLatest"] for v in listed] == [True, False, False]
    assert [v["Size"] for v in listed] == [len(b) for b in reversed(nights)]
    for version, body in zip(listed, reversed(nights), strict=True):
        got = s3.get_object(Bucket=BUCKET, Key="db/dump.sql", VersionId=version["VersionId"])
        assert got["Body"].read() == body
        assert got["VersionId"] == version["VersionId"]
        head = s3.head_object(Bucket=BUCKET, Key="db/dump.sql", VersionId=version["VersionId"])
        assert head["ContentLength"] == len(body)
    oldest = listed[-1]["VersionId"]
    part = s3.get_object(Bucket=BUCKET, Key="db/dump.sql", VersionId=oldest, Range="bytes=4-9")
    assert part["Body"].read() == nights[0][4:10]


def test_an_unknown_version_is_no_such_version(keeping: Served) -> None:
    s3: Any = keeping.boto3()
    s3.put_object(Bucket=BUCKET, Key="db/one.txt", Body=b"one")

    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="db/one.txt", VersionId="00000000000000001-0000000000000000")

    assert caught.value.response["Error"]["Code"] == "NoSuchVersion"
