"""The Python blocks of docs/getting-started.md run as written, in order, in an empty folder: the
folder part as it is, the S3 part against moto's server standing in for MinIO."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from support.moto_server import MotoServer, run_moto_server, use_fake_aws_env

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "getting-started.md"
S3_HEADING = "## S3, MinIO, R2"
MINIO_URL = "http://localhost:9000"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def guide() -> tuple[list[str], list[str]]:
    if not GUIDE.is_file():
        pytest.skip("docs/getting-started.md is not in this tree")
    folder_part, _, s3_part = GUIDE.read_text(encoding="utf-8").partition(S3_HEADING)
    return python_blocks(folder_part), python_blocks(s3_part)


def run_blocks(blocks: list[str], namespace: dict[str, object]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(GUIDE), "exec"), namespace)
    return out.getvalue()


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("DG_CACHE_DIR", str(tmp_path / "cache"))
    return work


@pytest.fixture
def minio_stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))
    with run_moto_server(tmp_path / "moto.log") as server:
        boto3.client("s3", endpoint_url=server.url).create_bucket(Bucket="releases")
        yield server


def test_the_folder_walkthrough_runs_and_prints_what_it_says(empty_folder: Path) -> None:
    folder_blocks, _ = guide()
    assert len(folder_blocks) >= 4
    printed = run_blocks(folder_blocks, {})
    assert "PUT_DELTA" in printed and "GET_DELTA" in printed and "['app-1.1.zip']" in printed
    # The sizes the guide shows in its comments are what a run prints.
    for line in ("app-1.1.zip 1000013 77 True", "2 2000013 1000105 50.0%"):
        assert line in printed, printed


def test_the_s3_walkthrough_runs_against_an_s3_endpoint(
    empty_folder: Path, minio_stand_in: MotoServer
) -> None:
    folder_blocks, s3_blocks = guide()
    assert s3_blocks, "the S3 part of the guide has no Python block"
    namespace: dict[str, object] = {}
    run_blocks(folder_blocks[:1], namespace)  # the two sample files
    s3_code = [block.replace(MINIO_URL, minio_stand_in.url) for block in s3_blocks]
    printed = run_blocks(s3_code, namespace)
    assert "PUT_DELTA app/app-1.1.zip.delta" in printed
    assert "['app-1.0.zip', 'app-1.1.zip']" in printed
