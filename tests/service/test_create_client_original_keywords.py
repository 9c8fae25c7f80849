"""``create_client`` takes the original DeltaGlider's keywords (``aws_access_key_id``,
``aws_secret_access_key``, ``aws_session_token``, ``region_name``, boto3's own ``**kwargs``): each
reaches the boto3 client built, contradictions are refused, and credentials never show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from support.moto_server import use_fake_aws_env

from deltaglider import factory
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.factory import S3Options, create_client

ROOT = str(Path(__file__).resolve().parents[2])
KEY_ID = "AKIAORIGINALKEYS0001"
SECRET = "original-secret-never-shown"
TOKEN = "original-session-token-never-shown"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[S3Options]:
    """The ``S3Options`` each client's S3 store is built from (the store itself: memory)."""
    seen: list[S3Options] = []

    def build(endpoint_url: str | None, options: S3Options, transfer: Any) -> MemoryStorage:
        seen.append(options)
        return MemoryStorage()

    monkeypatch.setattr(factory, "_s3_storage", build)
    return seen


def _boto3_client(built: list[S3Options], **keywords: Any) -> Any:
    """The boto3 client that ``create_client(**keywords)`` builds for its S3 store."""
    client = create_client(cache_backend="memory", log_level="ERROR", **keywords)
    client.service.storage.list_buckets()  # built on first use
    return built[-1].client("http://127.0.0.1:9")


def test_the_keys_given_are_the_clients_credentials(built: list[S3Options]) -> None:
    s3 = _boto3_client(built, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, aws_session_token=TOKEN)
    credentials = s3._request_signer._credentials.get_frozen_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (KEY_ID, SECRET, TOKEN)
    plain = _boto3_client(built)._request_signer._credentials.get_frozen_credentials()
    assert plain.access_key == "testing"  # without them, boto3's own (here the fake environment's)


def test_region_name_is_region(built: list[S3Options]) -> None:
    assert _boto3_client(built, region_name="eu-west-3").meta.region_name == "eu-west-3"
    assert _boto3_client(built, region_name="eu-west-3", region="eu-west-3").meta.region_name == "eu-west-3"


def test_boto3_keywords_reach_the_boto3_client(built: list[S3Options]) -> None:
    s3 = _boto3_client(built, verify=False, api_version="2006-03-01", config=Config(user_agent_extra="mine"))
    assert s3._endpoint.http_session._verify is False
    assert "mine" in s3.meta.config.user_agent_extra
    # Our defaults stay under the caller's config (checksums only where required).
    assert s3.meta.config.request_checksum_calculation == "when_required"


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"region": "us-east-2", "region_name": "eu-west-3"}, "name two regions"),
        ({"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET, "profile": "p"}, "profile"),
        ({"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET, "session": object()}, "session"),
        ({"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET, "s3_client": object()}, "s3_client"),
        ({"aws_access_key_id": KEY_ID}, "go together"),
        ({"aws_secret_access_key": SECRET}, "go together"),
        ({"aws_session_token": TOKEN}, "temporary credentials"),
        ({"config": Config(), "boto_config": Config()}, "once"),
    ],
)
def test_contradictions_are_refused(keywords: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        create_client(cache_backend="memory", **keywords)
    assert SECRET not in str(raised.value) and TOKEN not in str(raised.value)


def test_an_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'no_such_option'"):
        create_client(cache_backend="memory", no_such_option=1)
    with pytest.raises(TypeError, match="s3_client is a ready client"):
        create_client(cache_backend="memory", s3_client=object(), verify=False)


def test_credentials_never_show() -> None:
    options = S3Options(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET, aws_session_token=TOKEN)
    assert KEY_ID not in repr(options) and SECRET not in repr(options) and TOKEN not in repr(options)
    given = S3Options(aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
    with pytest.raises(ValueError, match="given twice") as raised:
        create_client(s3=given, aws_access_key_id="AKIAOTHERKEY", aws_secret_access_key=SECRET)
    assert KEY_ID not in str(raised.value) and "AKIAOTHERKEY" not in str(raised.value)


def test_the_keys_do_not_import_boto3_before_s3_is_used() -> None:
    code = (
        "import sys\n"
        "from deltaglider import create_client\n"
        "create_client(aws_access_key_id='k', aws_secret_access_key='s', region_name='eu-west-3',"
        " verify=False, cache_backend='memory')\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": ROOT})
