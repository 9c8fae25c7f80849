"""The command line against a folder store (``file://``) and against moto's S3 server on 127.0.0.1
(fake credentials, no ~/.aws); run as a user runs it, ``python -m deltaglider`` in a subprocess, or,
at a fraction of the cost, inside the test's process (``support/cli_in_process.py``).

The default run takes every test in process, and as a subprocess those marked
``CLI_AS_A_PROCESS_TOO`` or ``CLI_AS_A_PROCESS`` (support/variants.py): what only a process has (the
interpreter's start, exit status, real pipes, work at exit) and a sample of the commands.
``pytest -m slow`` runs every test both ways."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.artifacts import release_zips
from support.cli_in_process import run_in_process
from support.moto_server import MotoServer, fake_aws_env, run_moto_server

REGION = "us-east-1"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    """Runs ``deltaglider`` with a private cache and fake AWS credentials, in a subprocess or, where
    ``in_process``, in this one (``timeout`` then does not apply)."""

    env: dict[str, str]
    cwd: Path
    extra: list[str] = field(default_factory=list)  # global options every call gets (after the command)
    in_process: bool = False

    def __call__(self, *args: str | Path, extra: bool = True, timeout: float = 120) -> Result:
        argv = [str(a) for a in args] + (self.extra if extra else [])
        if self.in_process:
            return Result(*run_in_process(argv, self.env, self.cwd))
        done = subprocess.run(
            [sys.executable, "-m", "deltaglider", *argv],
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=timeout,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str | Path) -> Result:
        result = self(*args)
        assert result.code == 0, f"exit {result.code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        return result


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = fake_aws_env()
    env["DG_CACHE_DIR"] = str(tmp_path / "cache")
    env.pop("DG_LOG_LEVEL", None)
    return env


@pytest.fixture(params=["in-process", pytest.param("subprocess", marks=pytest.mark.slow)])
def cli_runner(request: pytest.FixtureRequest) -> str:
    """How the ``cli`` fixture runs a command (see the module's docstring)."""
    runner: str = request.param
    return runner


@pytest.fixture
def cli(cli_env: dict[str, str], tmp_path: Path, cli_runner: str) -> Cli:
    return Cli(cli_env, tmp_path, in_process=cli_runner == "in-process")


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto_server(tmp_path_factory.mktemp("moto") / "server.log") as server:
        yield server


@dataclass
class Store:
    """Where a test stores files: ``base`` is a store URL ending in ``/``."""

    kind: str
    base: str
    cli: Cli
    s3: Any = None  # a boto3 client on the moto server
    bucket: str = ""
    root: Path | None = None  # the folder store's folder

    def stored(self) -> list[str]:
        """Every stored object or file, references and sidecars included, relative to ``base``."""
        if self.s3 is not None:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
            return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))
        assert self.root is not None
        if not self.root.exists():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and ".dg-meta" not in p.parts
        )


def _s3_store(server: MotoServer, cli: Cli) -> Store:
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = f"dg-cli-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    # Given after the command, as `aws s3 cp a s3://b/ --endpoint-url X` accepts it.
    cli.extra = ["--endpoint-url", server.url]
    return Store("s3", f"s3://{bucket}/", cli, s3=s3, bucket=bucket)


#: S3 costs a command twice a folder's (boto3's import, a server on the other end): by default a test
#: runs on a folder only, the tests marked ``CLI_ON_S3_TOO`` (support/variants.py) on S3 as well.
@pytest.fixture(params=["folder", pytest.param("s3", marks=pytest.mark.slow)])
def store(request: pytest.FixtureRequest, cli: Cli, tmp_path: Path) -> Store:
    if request.param == "folder":
        root = tmp_path / "store"
        return Store("folder", f"file://{root}/", cli, root=root)
    return _s3_store(request.getfixturevalue("moto_server"), cli)


@pytest.fixture
def s3_store(moto_server: MotoServer, cli: Cli) -> Store:
    """A bucket on moto's server, for what only S3 has (buckets, credentials, '..' in keys)."""
    return _s3_store(moto_server, cli)


@pytest.fixture
def releases(tmp_path: Path) -> list[Path]:
    """Four consecutive releases of one zip (~200 kB each)."""
    folder = tmp_path / "releases"
    folder.mkdir()
    return release_zips(folder, "app", 4, size=200_000)


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    # In-process tests build clients too: never from the developer's real settings.
    for name, value in fake_aws_env({}).items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
