"""S3 fixtures: every test runs against moto in-process (``mock_aws``) and against moto's HTTP server.

Tests ask for ``s3`` (an ``S3Backend``: a boto3 client plus how to reach the store) and usually for
``bucket`` (a fresh bucket in it). Nothing here can reach real AWS: credentials are fake, ``~/.aws``
is hidden, and the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from support.moto_checksums import verify_upload_checksums
from support.moto_server import (
    MotoServer,
    run_moto_server,
    serialize_conditional_writes,
    use_fake_aws_env,
)
from support.s3_backend import REGION, S3Backend

from deltaglider import DeltaGliderClient, create_client


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with run_moto_server(log) as server:
        yield server


#: A few retries only: tests that provoke failures should not sit through botocore's backoff.
CLIENT_CONFIG = Config(retries={"total_max_attempts": 2, "mode": "standard"})


#: moto in process costs a test more than its server does (a fresh boto3 session to load for every
#: test): by default a test runs on the server only, the tests marked ``S3_IN_PROCESS_TOO`` or
#: ``S3_IN_PROCESS_FIRST`` (support/variants.py) in process as well or instead.
@pytest.fixture(params=[pytest.param("mock_aws", marks=pytest.mark.slow), "server"])
def s3(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, _fake_aws_credentials: None
) -> Iterator[S3Backend]:
    if request.param == "mock_aws":
        # Atomic conditional writes, as on S3 (the server subprocess does the same; see moto_server).
        serialize_conditional_writes(monkeypatch.setattr)
        # And checksums verified, as S3 (and the server subprocess) does.
        verify_upload_checksums(monkeypatch.setattr)
        with mock_aws():
            yield S3Backend(
                kind="mock_aws",
                client=boto3.client("s3", region_name=REGION, config=CLIENT_CONFIG),
                endpoint_url=None,
                server=None,
            )
    else:
        server: MotoServer = request.getfixturevalue("moto_server")
        yield S3Backend(
            kind="server",
            client=boto3.client("s3", region_name=REGION, endpoint_url=server.url, config=CLIENT_CONFIG),
            endpoint_url=server.url,
            server=server,
        )


@pytest.fixture
def bucket(s3: S3Backend) -> str:
    return s3.create_bucket()


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.bin"
    path.write_bytes(b"deltaglider " * 1000)
    return path


#: By default on a folder store, and on S3 for the tests marked ``CLIENT_ON_S3_TOO``
#: (support/variants.py): those of a behaviour S3 answers in its own way (server-side copies, batched
#: heads, listings compared by sync).
@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.slow)])
def client_and_folder(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[DeltaGliderClient, str]:
    """A client and an empty store folder URL: a folder store, or a new bucket on moto's HTTP server
    (the parametrized ``s3`` fixture cannot be asked for from inside this one)."""
    cache = str(tmp_path / "cache")
    if request.param == "folder":
        return create_client(cache_dir=cache, log_level="WARNING"), f"file://{tmp_path}/store/app/"
    server: MotoServer = request.getfixturevalue("moto_server")
    bucket = f"dg-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name=REGION, endpoint_url=server.url).create_bucket(Bucket=bucket)
    return create_client(endpoint_url=server.url, cache_dir=cache, log_level="WARNING"), f"s3://{bucket}/app/"
