"""The fake AWS environment every S3 test runs in: fake credentials, and botocore's config and
credentials files pointing at a real empty file, so that no profile of the machine's ``~/.aws`` (which
could hold real credentials or an endpoint) reaches a test."""

from __future__ import annotations

import tempfile
from pathlib import Path

import boto3
import pytest
from support.moto_server import AWS_FILE_VARIABLES, fake_aws_env, use_fake_aws_env


def test_config_files_are_one_real_empty_file() -> None:
    env = fake_aws_env({})
    paths = {env[name] for name in AWS_FILE_VARIABLES}
    assert len(paths) == 1
    path = Path(paths.pop())
    assert path.is_file() and not path.is_symlink()
    assert path.stat().st_size == 0
    assert path.parent.parent.samefile(tempfile.gettempdir())


def test_no_profile_of_the_home_folder_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[profile planted]\nregion = eu-west-3\n")
    (home / ".aws" / "credentials").write_text("[planted]\naws_access_key_id = REAL\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_PROFILE", "planted")
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))
    session = boto3.session.Session()
    assert "planted" not in session.available_profiles
    credentials = session.get_credentials()
    assert credentials is not None and credentials.access_key == "testing"
