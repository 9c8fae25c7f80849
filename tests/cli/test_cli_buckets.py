"""``purge``, ``put-bucket-acl`` and ``get-bucket-acl`` as the original DeltaGlider's users type them,
against moto's S3 server and a folder store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TMP = ".deltaglider/tmp/"


def _expiry(offset: timedelta) -> str:
    return (datetime.now(UTC) + offset).replace(tzinfo=None).isoformat()


def _keys(store: Any) -> set[str]:
    return {obj["Key"] for obj in store.s3.list_objects_v2(Bucket=store.bucket).get("Contents", [])}


def test_purge_removes_expired_copies_and_reports(s3_store: Any) -> None:
    planted = {
        f"{TMP}old_app.zip": _expiry(timedelta(minutes=-1)),
        f"{TMP}new_app.zip": _expiry(timedelta(hours=1)),
        "app/expired-looking.zip": _expiry(timedelta(days=-1)),
    }
    for key, expires in planted.items():
        s3_store.s3.put_object(
            Bucket=s3_store.bucket, Key=key, Body=b"12345", Metadata={"dg-expires-at": expires}
        )

    preview = s3_store.cli.ok("purge", f"s3://{s3_store.bucket}/", "--dry-run", "--json").json()
    assert preview["would_delete_count"] == 1 and preview["total_size_to_free"] == 5
    assert [f["key"] for f in preview["expired_files"]] == [f"{TMP}old_app.zip"]
    assert _keys(s3_store) == set(planted)
    done = s3_store.cli.ok("purge", s3_store.bucket)
    assert "Files deleted:        1" in done.stdout and "Space freed:          5 bytes" in done.stdout
    assert _keys(s3_store) == set(planted) - {f"{TMP}old_app.zip"}


def test_bucket_acl_commands_on_s3(s3_store: Any) -> None:
    put = s3_store.cli.ok("put-bucket-acl", f"s3://{s3_store.bucket}", "--acl", "public-read")
    assert f"ACL updated for bucket: {s3_store.bucket}" in put.stdout
    acl = json.loads(s3_store.cli.ok("get-bucket-acl", s3_store.bucket).stdout)
    assert acl["Grants"] == s3_store.s3.get_bucket_acl(Bucket=s3_store.bucket)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in acl["Grants"])


def test_put_bucket_acl_takes_grants_and_a_whole_policy(s3_store: Any) -> None:
    owner = s3_store.s3.get_bucket_acl(Bucket=s3_store.bucket)["Owner"]["ID"]
    policy = {
        "Owner": {"ID": owner},
        "Grants": [{"Grantee": {"ID": owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}],
    }
    s3_store.cli.ok("put-bucket-acl", s3_store.bucket, "--access-control-policy", json.dumps(policy))
    assert [g["Permission"] for g in s3_store.s3.get_bucket_acl(Bucket=s3_store.bucket)["Grants"]] == [
        "FULL_CONTROL"
    ]
    s3_store.cli.ok("put-bucket-acl", s3_store.bucket, "--grant-read", f"id={owner}")
    assert [g["Permission"] for g in s3_store.s3.get_bucket_acl(Bucket=s3_store.bucket)["Grants"]] == ["READ"]


def test_bucket_commands_refuse_bad_input(s3_store: Any) -> None:
    for args in (
        ["put-bucket-acl", s3_store.bucket],  # no ACL given
        ["put-bucket-acl", s3_store.bucket, "--access-control-policy", "{not json"],
        ["get-bucket-acl", f"s3://{s3_store.bucket}/some/prefix"],
        ["purge", ""],
    ):
        result = s3_store.cli(*args)
        assert result.code == 2, (args, result.stdout, result.stderr)
    missing = s3_store.cli("get-bucket-acl", "no-such-bucket-here")
    assert missing.code == 1 and "NoSuchBucket" in missing.stderr


def test_bucket_acl_commands_on_a_folder_store(cli: Any, tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "alpha").mkdir(parents=True)
    endpoint = ["--endpoint-url", f"file://{root}"]
    acl = json.loads(cli.ok("get-bucket-acl", "alpha", *endpoint).stdout)
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    refused = cli("put-bucket-acl", "alpha", "--acl", "private", *endpoint)
    assert refused.code == 1 and "no ACLs" in refused.stderr
    assert cli.ok("purge", "alpha", "--json", *endpoint).json()["deleted_count"] == 0
