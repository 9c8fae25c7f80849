"""purge_temp_files removes the expired copies under ``.deltaglider/tmp/`` and nothing else: not a
copy still valid, not one without an expiry, not an object elsewhere that carries one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.artifacts import release_zips

from deltaglider import DeltaGliderClient

TMP = ".deltaglider/tmp/"


def _utc(offset: timedelta, *, suffix: str = "") -> str:
    return (datetime.now(UTC) + offset).replace(tzinfo=None).isoformat() + suffix


def _keys(plain: Any, bucket: str) -> set[str]:
    return {obj["Key"] for obj in plain.list_objects_v2(Bucket=bucket).get("Contents", [])}


@pytest.fixture
def planted(client: DeltaGliderClient, bucket: str, plain: Any, tmp_path: Path) -> dict[str, str]:
    """A bucket with two releases (the second a delta), copies of it made by rehydration (one
    expired, one not) and objects planted by hand; returns them by role."""
    folder = tmp_path / "releases"
    folder.mkdir()
    for release in release_zips(folder, "app", 2, size=60_000):
        client.upload(release, f"s3://{bucket}/releases/")
    expired = client.rehydrate_for_download(Bucket=bucket, Key="releases/app-1.1.zip", ExpiresIn=0)
    live = client.rehydrate_for_download(Bucket=bucket, Key="releases/app-1.1.zip", ExpiresIn=3600)
    assert expired is not None and live is not None
    hand = {
        # As the original writes it (naive UTC), and with a Z: both expired.
        f"{TMP}original_written.zip": _utc(timedelta(minutes=-5)),
        f"{TMP}zulu.zip": _utc(timedelta(minutes=-5), suffix="Z"),
        f"{TMP}future.zip": _utc(timedelta(hours=1)),
        f"{TMP}unreadable.zip": "next tuesday",
        f"{TMP}no_expiry.zip": "",
        # An expiry outside .deltaglider/tmp/ is none of the purge's business.
        "releases/expired-looking.zip": _utc(timedelta(days=-1)),
        ".deltaglider/stats.json": _utc(timedelta(days=-1)),
    }
    for key, expires in hand.items():
        plain.put_object(
            Bucket=bucket, Key=key, Body=b"x" * 10, Metadata={"dg-expires-at": expires} if expires else {}
        )
    return {"expired": expired, "live": live}


def test_purge_removes_expired_copies_only(
    client: DeltaGliderClient, bucket: str, plain: Any, planted: dict[str, str]
) -> None:
    before = _keys(plain, bucket)
    gone = {planted["expired"], f"{TMP}original_written.zip", f"{TMP}zulu.zip"}
    expired_size = sum(plain.head_object(Bucket=bucket, Key=k)["ContentLength"] for k in gone)

    preview = client.purge_temp_files(Bucket=bucket, dry_run=True)
    assert _keys(plain, bucket) == before
    assert preview["would_delete_count"] == 3 and preview["deleted_count"] == 0
    assert {f["key"] for f in preview["expired_files"]} == gone
    assert preview["total_size_to_free"] == expired_size

    result = client.purge_temp_files(Bucket=bucket)
    assert _keys(plain, bucket) == before - gone
    assert result["bucket"] == bucket and result["prefix"] == TMP
    assert (result["expired_count"], result["deleted_count"], result["error_count"]) == (3, 3, 0)
    assert result["total_size_freed"] == expired_size
    assert result["errors"] == [] and result["duration_seconds"] >= 0
    assert set(result) == {
        "bucket",
        "prefix",
        "deleted_count",
        "expired_count",
        "error_count",
        "total_size_freed",
        "duration_seconds",
        "errors",
    }
    # The files themselves still download, and a second purge finds nothing.
    assert client.purge_temp_files(Bucket=bucket)["deleted_count"] == 0


def test_purge_on_a_folder_store(folder_client: DeltaGliderClient, store_root: Path, tmp_path: Path) -> None:
    folder_client.create_bucket(Bucket="alpha")
    folder = tmp_path / "releases"
    folder.mkdir()
    for release in release_zips(folder, "app", 2, size=60_000):
        folder_client.upload(release, "s3://alpha/releases/")
    expired = folder_client.rehydrate_for_download(Bucket="alpha", Key="releases/app-1.1.zip", ExpiresIn=0)
    live = folder_client.rehydrate_for_download(Bucket="alpha", Key="releases/app-1.1.zip", ExpiresIn=600)
    assert expired is not None and live is not None
    result = folder_client.purge_temp_files(Bucket="alpha")
    assert result["deleted_count"] == 1
    assert not (store_root / "alpha" / expired).exists() and (store_root / "alpha" / live).exists()
    assert (store_root / "alpha/releases/app-1.1.zip.delta").exists()
