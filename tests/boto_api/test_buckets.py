"""create_bucket, delete_bucket, list_buckets, put_bucket_acl and get_bucket_acl as the original
DeltaGlider's users call them: on S3 (moto's HTTP server) the answers and errors of a plain boto3
client; on a folder store, folders, with S3's error codes for what S3 refuses."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.boto_shapes import assert_same_shape

from deltaglider import DeltaGliderClient
from deltaglider.errors import StorageError


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _name() -> str:
    return f"dg-api-{uuid.uuid4().hex[:12]}"


# -- S3 -------------------------------------------------------------------------------------------


def test_create_list_delete_answer_as_boto3(client: DeltaGliderClient, plain: Any) -> None:
    ours, theirs = _name(), _name()
    created = client.create_bucket(Bucket=ours)
    assert_same_shape(created, plain.create_bucket(Bucket=theirs))
    assert created["Location"] == f"/{ours}"

    listed = client.list_buckets()
    assert_same_shape(listed, plain.list_buckets())
    assert {ours, theirs} <= {b["Name"] for b in listed["Buckets"]}

    deleted = client.delete_bucket(Bucket=ours)
    assert_same_shape(deleted, plain.delete_bucket(Bucket=theirs))
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert ours not in {b["Name"] for b in client.list_buckets()["Buckets"]}


def test_bucket_errors_are_boto3_client_errors(
    client: DeltaGliderClient, bucket: str, plain: Any, tmp_path: Path
) -> None:
    # The original answered success for a missing bucket and wrapped other failures in RuntimeError.
    with pytest.raises(ClientError) as missing:
        client.delete_bucket(Bucket=_name())
    assert _code(missing) == "NoSuchBucket"
    with pytest.raises(ClientError) as missing_acl:
        client.get_bucket_acl(Bucket=_name())
    assert _code(missing_acl) == "NoSuchBucket"

    release = tmp_path / "notes.txt"
    release.write_text("kept")
    client.upload(release, f"s3://{bucket}/docs/")
    with pytest.raises(ClientError) as full:
        client.delete_bucket(Bucket=bucket)
    assert _code(full) == "BucketNotEmpty"
    assert plain.get_object(Bucket=bucket, Key="docs/notes.txt")["Body"].read() == b"kept"


def test_create_bucket_passes_its_configuration_to_s3(client: DeltaGliderClient, plain: Any) -> None:
    name = _name()
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert plain.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"


def test_bucket_acls_round_trip_as_boto3(client: DeltaGliderClient, bucket: str, plain: Any) -> None:
    put = client.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    acl = client.get_bucket_acl(Bucket=bucket)
    assert_same_shape(acl, plain.get_bucket_acl(Bucket=bucket))
    assert acl["Grants"] == plain.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"READ"} <= {
        g["Permission"] for g in acl["Grants"] if g["Grantee"].get("URI", "").endswith("/AllUsers")
    }

    client.put_bucket_acl(Bucket=bucket, ACL="private")
    assert not [g for g in client.get_bucket_acl(Bucket=bucket)["Grants"] if "URI" in g["Grantee"]]

    owner = acl["Owner"]["ID"]
    client.put_bucket_acl(Bucket=bucket, GrantFullControl=f"id={owner}", GrantRead=f"id={owner}")
    permissions = {g["Permission"] for g in client.get_bucket_acl(Bucket=bucket)["Grants"]}
    assert permissions == {"FULL_CONTROL", "READ"}


# -- folder store ---------------------------------------------------------------------------------


def test_folder_store_buckets_are_folders(folder_client: DeltaGliderClient, store_root: Path) -> None:
    created = folder_client.create_bucket(Bucket="alpha")
    assert created["Location"] == "/alpha" and (store_root / "alpha").is_dir()
    folder_client.create_bucket(Bucket="beta", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    listed = folder_client.list_buckets()
    assert [b["Name"] for b in listed["Buckets"]] == ["alpha", "beta"]
    assert listed["Owner"]["ID"] == str(os.getuid())

    with pytest.raises(ClientError) as again:
        folder_client.create_bucket(Bucket="alpha")
    assert _code(again) == "BucketAlreadyOwnedByYou"
    with pytest.raises(ClientError) as bad:
        folder_client.create_bucket(Bucket="..")
    assert _code(bad) == "InvalidBucketName"
    with pytest.raises(StorageError, match="ObjectLockEnabledForBucket"):
        folder_client.create_bucket(Bucket="gamma", ObjectLockEnabledForBucket=True)
    assert not (store_root / "gamma").exists()

    assert folder_client.delete_bucket(Bucket="beta")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not (store_root / "beta").exists()
    with pytest.raises(ClientError) as missing:
        folder_client.delete_bucket(Bucket="beta")
    assert _code(missing) == "NoSuchBucket"


def test_folder_store_deletes_only_an_empty_bucket(
    folder_client: DeltaGliderClient, store_root: Path, tmp_path: Path
) -> None:
    folder_client.create_bucket(Bucket="alpha")
    note = tmp_path / "notes.txt"
    note.write_text("kept")
    folder_client.upload(note, "s3://alpha/docs/")
    with pytest.raises(ClientError) as full:
        folder_client.delete_bucket(Bucket="alpha")
    assert _code(full) == "BucketNotEmpty"
    assert (store_root / "alpha/docs/notes.txt").read_text() == "kept"

    # Once its files are deleted, what the store keeps beside them (sidecars, locks) goes too.
    folder_client.delete("s3://alpha/docs/notes.txt")
    folder_client.delete_bucket(Bucket="alpha")
    assert not (store_root / "alpha").exists()


@pytest.mark.parametrize("leftover", ["link", "temporary", "plain file in .dg-meta"])
def test_folder_store_never_deletes_a_bucket_holding_anything_else(
    folder_client: DeltaGliderClient, store_root: Path, tmp_path: Path, leftover: str
) -> None:
    folder_client.create_bucket(Bucket="alpha")
    deep = store_root / "alpha" / "a" / "b"
    deep.mkdir(parents=True)
    if leftover == "link":
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "precious").write_text("x")
        (deep / "elsewhere").symlink_to(outside)
        planted = deep / "elsewhere"
    elif leftover == "temporary":
        planted = deep / ".app.zip.0123456789ab.dg-part"
        planted.write_text("half a download")
    else:
        (deep / ".dg-meta").mkdir()
        planted = deep / ".dg-meta" / "notes"
        planted.write_text("not a sidecar")
    with pytest.raises(ClientError) as full:
        folder_client.delete_bucket(Bucket="alpha")
    assert _code(full) == "BucketNotEmpty" and str(planted) in str(full.value)
    assert os.path.lexists(planted)
    if leftover == "link":
        assert (tmp_path / "outside" / "precious").exists()


def test_folder_store_acls(folder_client: DeltaGliderClient, store_root: Path) -> None:
    folder_client.create_bucket(Bucket="alpha")
    acl = folder_client.get_bucket_acl(Bucket="alpha")
    owner = {"ID": str(os.getuid()), "DisplayName": acl["Owner"]["DisplayName"]}
    assert acl["Owner"] == owner
    assert acl["Grants"] == [{"Grantee": {**owner, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}]
    with pytest.raises(StorageError, match="no ACLs"):
        folder_client.put_bucket_acl(Bucket="alpha", ACL="public-read")
    with pytest.raises(ClientError) as missing:
        folder_client.put_bucket_acl(Bucket="nothing", ACL="private")
    assert _code(missing) == "NoSuchBucket"
    with pytest.raises(ClientError) as missing_get:
        folder_client.get_bucket_acl(Bucket="nothing")
    assert _code(missing_get) == "NoSuchBucket"
