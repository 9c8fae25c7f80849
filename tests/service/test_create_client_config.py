"""``create_client`` configured by objects (``Settings``, ``S3Options``, a boto3 ``TransferConfig``)
as well as by its flat keywords, and the rule where both are given: a keyword fills a field the object
leaves at its default, and two different values for one field are a ``ValueError``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from moto import mock_aws
from support.moto_server import use_fake_aws_env

from deltaglider import factory
from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.client import DeltaGliderClient
from deltaglider.config import Settings
from deltaglider.factory import S3Options, create_client

MIB = 1024 * 1024


@pytest.fixture
def folder_url(tmp_path: Path) -> str:
    store = tmp_path / "store"
    store.mkdir()
    return f"file://{store}"


@pytest.fixture
def built_s3(monkeypatch: pytest.MonkeyPatch) -> list[tuple[S3Options, Any]]:
    """Records the ``S3Options`` and ``TransferConfig`` that the S3 store is built from (over memory)."""
    seen: list[tuple[S3Options, Any]] = []

    def build(endpoint_url: str | None, options: S3Options, transfer: Any) -> MemoryStorage:
        seen.append((options, transfer))
        return MemoryStorage()

    monkeypatch.setattr(factory, "_s3_storage", build)
    return seen


def _s3_built_for(client: DeltaGliderClient, seen: list[tuple[S3Options, Any]]) -> tuple[S3Options, Any]:
    client.service.storage.list_buckets()  # the S3 store is built on first use
    assert len(seen) == 1
    return seen[0]


# Settings


def test_a_settings_object_configures_the_client(folder_url: str) -> None:
    settings = Settings(
        max_ratio=0.2, cache_backend="memory", tool_version="mine/1", original_compatible=True
    )
    client = create_client(folder_url, settings=settings)
    assert client.service.max_ratio == 0.2
    assert client.service.tool_version == "mine/1"
    assert client.service.original_compatible is True
    assert isinstance(client.service._ctx.cache, MemoryCache)


def test_a_settings_object_is_used_as_it_is_without_the_environment(
    folder_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_MAX_RATIO", "0.1")
    assert create_client(folder_url, cache_backend="memory").service.max_ratio == 0.1
    assert create_client(folder_url, settings=Settings(cache_backend="memory")).service.max_ratio == 0.5


def test_a_keyword_fills_a_field_the_settings_object_leaves_at_its_default(folder_url: str) -> None:
    client = create_client(folder_url, settings=Settings(cache_backend="memory"), max_ratio=0.3)
    assert client.service.max_ratio == 0.3
    assert isinstance(client.service._ctx.cache, MemoryCache)


def test_one_setting_given_twice_differently_is_refused(folder_url: str) -> None:
    with pytest.raises(
        ValueError, match=r"max_ratio is given twice: Settings\(max_ratio=0\.2\) and max_ratio=0\.3"
    ):
        create_client(folder_url, settings=Settings(max_ratio=0.2, cache_backend="memory"), max_ratio=0.3)


def test_one_setting_given_twice_alike_is_accepted(folder_url: str) -> None:
    # Compared as the settings read them: "error" is the level ERROR, "1MiB" is 1048576 bytes.
    settings = Settings(log_level="ERROR", cache_max_bytes=MIB, cache_backend="memory")
    client = create_client(folder_url, settings=settings, log_level="error", cache_max_bytes="1MiB")
    assert client.service._ctx.cache._max_bytes == MIB  # type: ignore[attr-defined]


# S3Options


def test_an_s3_options_object_builds_the_s3_store(built_s3: list[tuple[S3Options, Any]]) -> None:
    options = S3Options(region="eu-west-3", addressing_style="path", checksum="sha256")
    built, _ = _s3_built_for(create_client(s3=options, cache_backend="memory"), built_s3)
    assert built == options


def test_keywords_fill_the_s3_options_fields_left_at_their_defaults(
    built_s3: list[tuple[S3Options, Any]],
) -> None:
    client = create_client(
        s3=S3Options(region="eu-west-3"), addressing_style="path", checksum=None, cache_backend="memory"
    )
    built, _ = _s3_built_for(client, built_s3)
    assert (built.region, built.addressing_style, built.checksum) == ("eu-west-3", "path", None)


def test_a_checksum_keyword_left_at_its_default_keeps_the_objects(
    built_s3: list[tuple[S3Options, Any]],
) -> None:
    built, _ = _s3_built_for(create_client(s3=S3Options(checksum="sha256"), cache_backend="memory"), built_s3)
    assert built.checksum == "sha256"


@pytest.mark.parametrize(
    ("options", "keywords", "field"),
    [
        (S3Options(region="eu-west-3"), {"region": "us-east-2"}, "region"),
        (S3Options(checksum="sha256"), {"checksum": None}, "checksum"),
        (S3Options(max_attempts=3), {"max_attempts": 5}, "max_attempts"),
    ],
    ids=["region", "checksum", "max_attempts"],
)
def test_one_s3_option_given_twice_differently_is_refused(
    options: S3Options, keywords: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=rf"{field} is given twice: S3Options\({field}="):
        create_client(s3=options, cache_backend="memory", **keywords)


def test_the_combination_is_checked_as_one_s3_options() -> None:
    with pytest.raises(TypeError, match="s3_client is a ready client"):
        create_client(s3=S3Options(s3_client=object()), region="eu-west-3", cache_backend="memory")


# TransferConfig


def test_the_transfer_config_reaches_the_s3_store(built_s3: list[tuple[S3Options, Any]]) -> None:
    transfer = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=2)
    _, built = _s3_built_for(create_client(transfer=transfer, cache_backend="memory"), built_s3)
    assert built is transfer


def test_a_transfer_that_is_no_transfer_config_is_refused() -> None:
    with pytest.raises(TypeError, match="TransferConfig"):
        create_client(transfer={"multipart_threshold": MIB}, cache_backend="memory")  # type: ignore[arg-type]


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="transfer")
        yield s3


def _stored_etags(s3: Any) -> dict[str, str]:
    listed = s3.list_objects_v2(Bucket="transfer").get("Contents", [])
    return {item["Key"]: item["ETag"].strip('"') for item in listed if item["Size"] > 5 * MIB}


@pytest.mark.parametrize("transfer", [True, False], ids=["5MiB-threshold", "boto3-default"])
def test_an_upload_above_the_transfer_threshold_goes_multipart(
    moto_s3: Any, tmp_path: Path, transfer: bool
) -> None:
    """6 MiB: above a 5 MiB threshold (two parts, an ETag ending in ``-2``), below boto3's 8 MiB."""
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB) if transfer else None
    client = create_client(s3_client=moto_s3, transfer=config, cache_backend="memory", log_level="ERROR")
    data = os.urandom(6 * MIB)
    (tmp_path / "big.bin").write_bytes(data)
    client.upload(tmp_path / "big.bin", "s3://transfer/space/")
    etags = _stored_etags(moto_s3)
    assert etags, "nothing of 6 MiB was stored"
    expected = "-2" if transfer else ""
    assert all(etag.endswith("-2") == bool(expected) for etag in etags.values()), etags
    client.download("s3://transfer/space/big.bin", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
