"""Fixtures for the original's boto3-shaped calls: moto's S3 server on 127.0.0.1 (every link is
fetched from it over HTTP), a plain boto3 client on it to compare answers with, our client on it and
on a folder store (``file://`` endpoint), a fresh bucket, and families of similar files."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.boto_bench import REGION, SIZE, Bench, family
from support.boto_shapes import Store
from support.moto_server import MotoServer, run_moto_server, use_fake_aws_env

from deltaglider import DeltaGliderClient, create_client


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


@pytest.fixture(params=["folder", "s3"])
def bench(request: pytest.FixtureRequest, tmp_path: Path) -> Bench:
    cache = tmp_path / "cache"
    bucket = f"dg-{uuid.uuid4().hex[:12]}"
    if request.param == "folder":
        root = tmp_path / "store"
        (root / bucket).mkdir(parents=True)
        client = create_client(endpoint_url=f"file://{root}", cache_dir=str(cache), log_level="WARNING")
        return Bench("folder", client, bucket, cache, root=root)
    server: MotoServer = request.getfixturevalue("moto_server")
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=server.url)
    s3.create_bucket(Bucket=bucket)
    client = create_client(endpoint_url=server.url, cache_dir=str(cache), log_level="WARNING")
    return Bench("s3", client, bucket, cache, s3=s3)


@pytest.fixture
def folder_bench(tmp_path: Path) -> Bench:
    """The folder store alone, for what does not depend on the store."""
    cache = tmp_path / "cache"
    root = tmp_path / "store"
    (root / "releases").mkdir(parents=True)
    client = create_client(endpoint_url=f"file://{root}", cache_dir=str(cache), log_level="WARNING")
    return Bench("folder", client, "releases", cache, root=root)


@pytest.fixture
def releases(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "releases"
    folder.mkdir()
    return family(folder, 4)


@pytest.fixture
def unrelated(tmp_path: Path) -> Path:
    path = tmp_path / "other-1.0.tar"
    path.write_bytes(random.Random(99).randbytes(SIZE))
    return path


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
def plain_pair(moto_server: MotoServer, _fake_aws_credentials: None) -> tuple[Any, str]:
    """A plain boto3 client and a plain bucket on moto's server: what boto3 answers."""
    return boto3.client("s3", region_name=REGION, endpoint_url=moto_server.url), new_bucket(moto_server)
