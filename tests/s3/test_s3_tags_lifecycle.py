"""``tags`` are real object tags and ``lifecycle_policy`` writes real, tag-filtered rules that never
touch a reference; both read back from moto."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from support.artifacts import release_zips
from support.s3_backend import S3Backend

from deltaglider import DeltaGliderClient, create_client
from deltaglider.adapters.storage_s3 import S3Storage
from deltaglider.errors import StorageError
from deltaglider.ports.storage import PutOptions

MiB = 1024 * 1024


def _client(s3: S3Backend, tmp_path: Path, **options: Any) -> DeltaGliderClient:
    return create_client(
        endpoint_url=s3.endpoint_url, cache_dir=str(tmp_path / "cache"), log_level="WARNING", **options
    )


def _releases(tmp_path: Path, count: int) -> list[Path]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    return release_zips(src, "app", count, size=200_000)


def _tags(s3: S3Backend, bucket: str, key: str) -> dict[str, str]:
    tag_set = s3.client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


def test_tags_on_every_upload_never_on_the_reference(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    client = _client(s3, tmp_path, tags={"team": "core"})
    first, second = _releases(tmp_path, 2)
    client.upload(first, f"s3://{bucket}/app/", tags={"release": "1.0"})
    client.upload(second, f"s3://{bucket}/app/", tags={"release": "1.1", "team": "web"})
    (tmp_path / "notes.txt").write_text("whole\n")
    client.upload(tmp_path / "notes.txt", f"s3://{bucket}/app/")

    assert _tags(s3, bucket, "app/reference.bin") == {}
    assert _tags(s3, bucket, "app/app-1.0.zip.delta") == {"team": "core", "release": "1.0", "dg-kind": "file"}
    assert _tags(s3, bucket, "app/app-1.1.zip.delta") == {"team": "web", "release": "1.1", "dg-kind": "file"}
    assert _tags(s3, bucket, "app/notes.txt") == {"team": "core", "dg-kind": "file"}


def test_multipart_uploads_are_tagged_too(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    storage = S3Storage(
        s3.client, transfer_config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    )
    src = tmp_path / "big"
    src.write_bytes(os.urandom(11 * MiB))
    options = PutOptions(tags={"a": "1", "b": "x y"}, storage_class="STANDARD_IA", content_type="text/x-big")

    storage.put_file(bucket, "big", src, {"dg-x": "1"}, options=options)
    assert storage.put_file_if_absent(bucket, "big2", src, {}, options=options)

    for key in ("big", "big2"):
        assert _tags(s3, bucket, key) == {"a": "1", "b": "x y"}
        head = s3.client.head_object(Bucket=bucket, Key=key)
        assert (head["StorageClass"], head["ContentType"]) == ("STANDARD_IA", "text/x-big")


def _rules(s3: S3Backend, bucket: str) -> dict[str, dict[str, Any]]:
    rules = s3.client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return {rule["ID"]: rule for rule in rules}


def test_lifecycle_policy_merges_into_the_buckets_rules(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    theirs = {
        "ID": "their-logs",
        "Status": "Enabled",
        "Filter": {"Prefix": "logs/"},
        "Expiration": {"Days": 7},
    }
    s3.client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [theirs]})
    client = _client(s3, tmp_path)

    client.lifecycle_policy(f"s3://{bucket}/releases/app/", days_before_archive=30, days_before_delete=90)

    rules = _rules(s3, bucket)
    assert set(rules) == {"their-logs", "deltaglider:releases/app/"}
    assert rules["their-logs"]["Expiration"] == {"Days": 7}
    ours = rules["deltaglider:releases/app/"]
    assert ours["Status"] == "Enabled"
    # Prefix AND the tag that only files and deltas carry: reference.bin is never selected.
    assert ours["Filter"] == {
        "And": {"Prefix": "releases/app/", "Tags": [{"Key": "dg-kind", "Value": "file"}]}
    }
    assert ours["Transitions"] == [{"Days": 30, "StorageClass": "GLACIER"}]
    assert ours["Expiration"] == {"Days": 90}

    # Again for the same folder: replaced, not added; another folder: added.
    client.lifecycle_policy(f"s3://{bucket}/releases/app", days_before_archive=10, days_before_delete=None)
    client.lifecycle_policy(f"s3://{bucket}/other/", days_before_archive=None, days_before_delete=5)
    rules = _rules(s3, bucket)
    assert set(rules) == {"their-logs", "deltaglider:releases/app/", "deltaglider:other/"}
    assert rules["deltaglider:releases/app/"]["Transitions"] == [{"Days": 10, "StorageClass": "GLACIER"}]
    assert "Expiration" not in rules["deltaglider:releases/app/"]
    assert rules["deltaglider:other/"]["Expiration"] == {"Days": 5}
    assert "Transitions" not in rules["deltaglider:other/"]


def test_lifecycle_policy_on_a_bucket_without_rules(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    _client(s3, tmp_path).lifecycle_policy(f"s3://{bucket}/", 1, 2, archive_class="deep_archive")
    (rule,) = _rules(s3, bucket).values()
    assert rule["Filter"] == {"Tag": {"Key": "dg-kind", "Value": "file"}}
    assert rule["Transitions"] == [{"Days": 1, "StorageClass": "DEEP_ARCHIVE"}]


@pytest.mark.parametrize(
    ("archive", "delete"), [(0, 90), (30, 30), (30, 10), (None, None), (1.5, 90), (True, 90)]
)
def test_lifecycle_policy_refuses_rules_s3_would(
    s3: S3Backend, bucket: str, tmp_path: Path, archive: Any, delete: Any
) -> None:
    with pytest.raises(ValueError, match="days"):
        _client(s3, tmp_path).lifecycle_policy(f"s3://{bucket}/app/", archive, delete)


def test_lifecycle_policy_on_a_local_folder_says_it_is_s3_only(tmp_path: Path) -> None:
    client = create_client(cache_dir=str(tmp_path / "cache"))
    with pytest.raises(StorageError, match="lifecycle rules are an S3 feature"):
        client.lifecycle_policy(str(tmp_path / "store" / "app") + "/")
