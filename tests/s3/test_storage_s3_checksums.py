"""Every upload carries a checksum S3 verifies, so a body corrupted in flight is refused, not stored:
``Content-MD5`` by default (every S3-compatible store checks it), or ``x-amz-checksum-crc32``.

moto does not verify checksums itself; the fixtures make it (``support/moto_checksums.py``), and
``test_moto_alone_stores_a_corrupted_body`` shows what happens without.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from moto import mock_aws
from support.s3_backend import REGION, S3Backend

from deltaglider.adapters.storage_s3 import S3Storage
from deltaglider.errors import StorageError

MiB = 1024 * 1024
SMALL_MULTIPART = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=2)
#: botocore >= 1.36 sends checksums by default; with this setting, only where an operation requires one.
WHEN_REQUIRED = Config(
    request_checksum_calculation="when_required", retries={"total_max_attempts": 1, "mode": "standard"}
)

#: The checksum modes tested, and the header each one travels in.
CHECKSUM_MODES = ["md5", "crc32"]

Upload = Callable[[S3Storage, str, Path], object]
UPLOADS: dict[str, Upload] = {
    "put_file": lambda st, bucket, src: st.put_file(bucket, "k", src, {"m": "1"}),
    "put_file_if_absent": lambda st, bucket, src: st.put_file_if_absent(bucket, "k", src, {"m": "1"}),
}


def _sent_checksums(client: Any) -> list[tuple[str, str]]:
    """Records (operation, where the checksum travels) for every PutObject/UploadPart sent."""
    seen: list[tuple[str, str]] = []

    def record(request: Any, event_name: str, **_: Any) -> None:
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        operation = event_name.rsplit(".", 1)[-1]
        if "content-md5" in headers:
            body = request.body if isinstance(request.body, bytes) else None
            if body is not None:
                assert headers["content-md5"] == base64.b64encode(hashlib.md5(body).digest()).decode()
            seen.append((operation, "md5"))
        elif "x-amz-checksum-crc32" in headers:
            body = request.body if isinstance(request.body, bytes) else None
            if body is not None:  # a header computed over exactly this body
                assert headers["x-amz-checksum-crc32"] in (
                    base64.b64encode(binascii.crc32(body).to_bytes(4, "big")).decode(),
                )
            seen.append((operation, "header"))
        elif headers.get("x-amz-trailer", "").lower() == "x-amz-checksum-crc32":
            seen.append((operation, "trailer"))
        else:
            seen.append((operation, "none"))

    for operation in ("PutObject", "UploadPart"):
        client.meta.events.register(f"before-send.s3.{operation}", record)
    return seen


@pytest.mark.parametrize("checksum", CHECKSUM_MODES)
@pytest.mark.parametrize("size", [1000, 11 * MiB], ids=["single-put", "multipart"])
@pytest.mark.parametrize("upload", sorted(UPLOADS))
def test_every_upload_and_part_carries_a_checksum(
    s3: S3Backend, bucket: str, tmp_path: Path, *, size: int, upload: str, checksum: str
) -> None:
    client = s3.new_client(config=WHEN_REQUIRED)
    seen = _sent_checksums(client)
    src = tmp_path / "src"
    src.write_bytes(os.urandom(size))
    UPLOADS[upload](S3Storage(client, transfer_config=SMALL_MULTIPART, checksum=checksum), bucket, src)
    expected_op = "UploadPart" if size > 5 * MiB else "PutObject"
    assert seen and {op for op, _ in seen} == {expected_op}, seen
    wanted = {"md5"} if checksum == "md5" else {"header", "trailer"}
    assert all(where in wanted for _, where in seen), seen
    if size > 5 * MiB:
        assert len(seen) == 3
    back = s3.client.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert back["Body"].read() == src.read_bytes()


def _corrupt_in_flight(client: Any) -> list[str]:
    """Flips one byte of every PutObject/UploadPart body after botocore computed its checksum."""
    flipped: list[str] = []

    def corrupt(request: Any, event_name: str, **_: Any) -> None:
        body = request.body
        data = body if isinstance(body, bytes) else body.read()
        # Past any aws-chunked size line, inside the data.
        index = min(len(data) - 1, 64)
        request.body = data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]
        flipped.append(event_name.rsplit(".", 1)[-1])

    for operation in ("PutObject", "UploadPart"):
        client.meta.events.register(f"before-send.s3.{operation}", corrupt)
    return flipped


@pytest.mark.parametrize("checksum", CHECKSUM_MODES)
@pytest.mark.parametrize("size", [1000, 11 * MiB], ids=["single-put", "multipart"])
@pytest.mark.parametrize("upload", sorted(UPLOADS))
def test_a_body_corrupted_in_flight_is_refused(
    s3: S3Backend, bucket: str, tmp_path: Path, *, size: int, upload: str, checksum: str
) -> None:
    client = s3.new_client(config=WHEN_REQUIRED)
    flipped = _corrupt_in_flight(client)
    src = tmp_path / "src"
    src.write_bytes(os.urandom(size))
    with pytest.raises(StorageError, match="BadDigest"):
        UPLOADS[upload](S3Storage(client, transfer_config=SMALL_MULTIPART, checksum=checksum), bucket, src)
    assert flipped
    assert s3.client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_moto_alone_stores_a_corrupted_body(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why the fixtures patch moto: unpatched, it keeps the corrupted body. Should a later moto verify
    checksums itself, this fails and the patch can go."""
    with mock_aws():
        client = boto3.client("s3", region_name=REGION, config=WHEN_REQUIRED)
        client.create_bucket(Bucket="plain")
        _corrupt_in_flight(client)
        src = tmp_path / "src"
        src.write_bytes(b"x" * 1000)
        S3Storage(client).put_file("plain", "k", src, {})
        reader = boto3.client(
            "s3", region_name=REGION, config=Config(response_checksum_validation="when_required")
        )
        stored = reader.get_object(Bucket="plain", Key="k")["Body"].read()
    assert stored != src.read_bytes()
