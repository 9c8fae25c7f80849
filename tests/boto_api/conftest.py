"""Fixtures for the boto3-shaped calls: a client on a store (a folder, or a bucket on moto's HTTP
server), and a plain boto3 client with a plain bucket on the same server, whose answers ours are
compared with."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.boto_shapes import Store
from support.moto_server import MotoServer, run_moto_server, use_fake_aws_env

from deltaglider import create_client

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto_server(tmp_path_factory.mktemp("moto") / "server.log") as server:
        yield server


def new_bucket(server: MotoServer) -> str:
    name = f"dg-boto-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name=REGION, endpoint_url=server.url).create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, _fake_aws_credentials: None) -> Store:
    cache = str(tmp_path / "cache")
    if request.param == "folder":
        (tmp_path / "store" / "bkt").mkdir(parents=True)
        client = create_client(endpoint_url=f"file://{tmp_path}/store", cache_dir=cache, log_level="WARNING")
        return Store("folder", client, "bkt", None)
    server: MotoServer = request.getfixturevalue("moto_server")
    client = create_client(endpoint_url=server.url, cache_dir=cache, log_level="WARNING")
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=server.url)
    return Store("s3", client, new_bucket(server), s3)


@pytest.fixture
def plain(moto_server: MotoServer, _fake_aws_credentials: None) -> tuple[Any, str]:
    """A plain boto3 client and a plain bucket on moto's server: what boto3 answers."""
    return boto3.client("s3", region_name=REGION, endpoint_url=moto_server.url), new_bucket(moto_server)
