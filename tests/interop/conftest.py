"""Interop fixtures: moto's S3 server in a subprocess (the original DeltaGlider runs in processes of
its own, so the store must be reachable over HTTP) and fake credentials for everyone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest
from support.moto_server import MotoServer, run_moto_server, use_fake_aws_env


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto_server(tmp_path_factory.mktemp("moto") / "server.log") as server:
        yield server


@pytest.fixture
def bucket(moto_server: MotoServer, _fake_aws_credentials: None) -> str:
    name = f"dg-interop-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server.url).create_bucket(Bucket=name)
    return name
