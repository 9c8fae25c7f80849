"""Bulk jobs on executors: moto's S3 server on 127.0.0.1, a bucket of many small DeltaSpaces, and a
Dask ``LocalCluster`` of worker processes (skipped where Dask is not installed).

Worker processes find the fake credentials in their environment, as a real worker finds its own, and
import the same ``deltaglider`` as this process (its folder goes first on their ``PYTHONPATH``).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.artifacts import release_zips
from support.moto_server import MotoServer, fake_aws_env, run_moto_server, use_fake_aws_env

import deltaglider
from deltaglider import DeltaGliderClient, create_client

REGION = "us-east-1"
#: The bucket the tests migrate: this many folders (DeltaSpaces) of FILES_PER_SPACE releases each.
SPACES = 40
FILES_PER_SPACE = 3


def worker_env() -> dict[str, str]:
    """The environment worker processes start with: fake credentials, this ``deltaglider`` first."""
    env = fake_aws_env()
    here = str(Path(deltaglider.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    return env


@pytest.fixture
def process_env() -> dict[str, str]:
    """The environment of a process a test starts (see ``worker_env``)."""
    return worker_env()


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))
    monkeypatch.setenv("PYTHONPATH", worker_env()["PYTHONPATH"])


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto_server(tmp_path_factory.mktemp("moto") / "server.log") as server:
        yield server


@pytest.fixture
def s3(moto_server: MotoServer) -> Any:
    return boto3.client("s3", region_name=REGION, endpoint_url=moto_server.url)


def _new_bucket(s3: Any) -> str:
    name = f"dg-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def new_bucket(s3: Any) -> Callable[[], str]:
    """Makes an empty bucket, by a new name, each call."""
    return lambda: _new_bucket(s3)


@pytest.fixture
def client(moto_server: MotoServer, tmp_path: Path) -> DeltaGliderClient:
    return create_client(endpoint_url=moto_server.url, cache_dir=str(tmp_path / "cache"), log_level="ERROR")


@pytest.fixture(scope="session")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """SPACES folders of small zip releases (a zip starts a reference whatever its size)."""
    root = tmp_path_factory.mktemp("releases")
    found = {}
    for space in range(SPACES):
        folder = root / f"space{space:02d}"
        folder.mkdir()
        found[folder.name] = release_zips(folder, f"tool{space:02d}", FILES_PER_SPACE, size=6_000, seed=space)
    return found


@dataclass(frozen=True)
class PlainBucket:
    """A bucket holding releases as plain objects, as a bucket looks before its migration."""

    name: str
    releases: dict[str, list[Path]]  # folder -> its releases, oldest first

    @property
    def files(self) -> int:
        return sum(len(paths) for paths in self.releases.values())


@pytest.fixture
def plain_bucket(s3: Any, releases: dict[str, list[Path]]) -> Callable[[int], PlainBucket]:
    """Makes a bucket of the first ``spaces`` folders of ``releases``."""

    def fill(spaces: int) -> PlainBucket:
        bucket = _new_bucket(s3)
        chosen = dict(list(releases.items())[:spaces])
        for folder, paths in chosen.items():
            for path in paths:
                s3.put_object(Bucket=bucket, Key=f"{folder}/{path.name}", Body=path.read_bytes())
        return PlainBucket(bucket, chosen)

    return fill


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[Any]:
    """Two worker processes on 127.0.0.1, one thread each, no dashboard."""
    distributed = pytest.importorskip("distributed")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in worker_env().items():
            patch.setenv(name, value)
        with distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster:
            yield cluster


@pytest.fixture
def dask_client(dask_cluster: Any) -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with distributed.Client(dask_cluster, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
        yield client
