"""Credentials passed the original DeltaGlider's way (``create_client(aws_access_key_id=...,
aws_secret_access_key=..., aws_session_token=...)``) are the ones that sign the client's requests to
moto's server.

(moto's IAM mode would check them itself, but moto 5 miscomputes the signature of every listing with
it on; the boto3 client that did the work is inspected instead.)"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
from support.moto_server import MotoServer
from support.s3_backend import REGION

from deltaglider.factory import create_client


def _boto3_client_inside(root: object) -> Any:
    """The botocore client the store of a DeltaGliderClient holds, wherever its wrappers keep it."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if hasattr(current, "_request_signer"):
            return current
        todo.extend(v for v in getattr(current, "__dict__", {}).values() if hasattr(v, "__dict__"))
    raise AssertionError("no boto3 client built")


def test_the_keys_given_sign_the_requests(moto_server: MotoServer, tmp_path: Path) -> None:
    bucket = f"dg-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name=REGION, endpoint_url=moto_server.url).create_bucket(Bucket=bucket)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"release notes\n" * 100)
    client = create_client(
        endpoint_url=moto_server.url,
        aws_access_key_id="AKIAORIGINALKEYS0001",
        aws_secret_access_key="original-secret",
        aws_session_token="original-token",
        region_name="eu-west-3",
        cache_dir=str(tmp_path / "cache"),
    )
    client.upload(notes, f"s3://{bucket}/rel/")
    client.download(f"s3://{bucket}/rel/notes.txt", tmp_path / "back.txt")
    assert (tmp_path / "back.txt").read_bytes() == notes.read_bytes()

    s3 = _boto3_client_inside(client.service)
    signed_with = s3._request_signer._credentials.get_frozen_credentials()
    assert (signed_with.access_key, signed_with.secret_key, signed_with.token) == (
        "AKIAORIGINALKEYS0001",
        "original-secret",
        "original-token",
    )
    assert s3.meta.region_name == "eu-west-3"
    assert s3.meta.endpoint_url == moto_server.url
