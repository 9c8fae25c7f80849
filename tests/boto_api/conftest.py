"""Fixtures for the boto3-shaped calls: moto's S3 server on 127.0.0.1 (every link is fetched from it
over HTTP), a plain boto3 client on it to compare answers with, our client on it, and a folder
store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.moto_server import MotoServer, run_moto_server, use_fake_aws_env

from deltaglider import DeltaGliderClient, create_client

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto_server(tmp_path_factory.mktemp("moto") / "server.log") as server:
        yield server


@pytest.fixture
def plain(moto_server: MotoServer, _fake_aws_credentials: None) -> Any:
    """A plain boto3 client on the server: what our answers are compared with."""
    return boto3.client("s3", region_name=REGION, endpoint_url=moto_server.url)


@pytest.fixture
def client(moto_server: MotoServer, tmp_path: Path, _fake_aws_credentials: None) -> DeltaGliderClient:
    return create_client(endpoint_url=moto_server.url, cache_dir=str(tmp_path / "cache"), log_level="WARNING")


@pytest.fixture
def bucket(plain: Any) -> str:
    name = f"dg-api-{uuid.uuid4().hex[:12]}"
    plain.create_bucket(Bucket=name)
    return name


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    return root


@pytest.fixture
def folder_client(store_root: Path, tmp_path: Path) -> DeltaGliderClient:
    """Our client on a folder store: ``s3://bucket/key`` is ``<store_root>/bucket/key``."""
    return create_client(
        endpoint_url=f"file://{store_root}", cache_dir=str(tmp_path / "cache"), log_level="WARNING"
    )
