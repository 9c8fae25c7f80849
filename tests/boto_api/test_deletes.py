"""delete_object, delete_objects and delete_objects_recursive: a file goes whatever its stored form,
through the service's removal, so that no file left loses what it is rebuilt from; nothing outside
the named keys or folder is touched."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from support.boto_shapes import Store, releases


def _stored_keys(store: Store) -> list[str]:
    """Every object in the bucket, hidden ones included, as the store holds them."""
    return sorted(obj.key for obj in store.client.service.storage.list(store.bucket, "", recursive=True))


def _files(store: Store, prefix: str = "") -> list[str]:
    return [o["Key"] for o in store.client.list_objects(Bucket=store.bucket, Prefix=prefix)["Contents"]]


def _put_family(store: Store, folder: str, count: int) -> list[bytes]:
    payloads = releases(count)
    for i, data in enumerate(payloads):
        store.client.put_object(Bucket=store.bucket, Key=f"{folder}/app-1.{i}.zip", Body=data)
    return payloads


def test_deleting_a_delta_by_its_name_removes_it_and_leaves_the_others_readable(store: Store) -> None:
    payloads = _put_family(store, "rel", 3)
    assert "rel/app-1.1.zip.delta" in _stored_keys(store)

    answer = store.client.delete_object(Bucket=store.bucket, Key="rel/app-1.1.zip")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert answer["DeltaGliderInfo"]["Type"] == "delta"
    assert answer["DeltaGliderInfo"]["StoredKeys"] == ["rel/app-1.1.zip.delta"]
    assert "rel/app-1.1.zip.delta" not in _stored_keys(store)
    assert _files(store, "rel/") == ["rel/app-1.0.zip", "rel/app-1.2.zip"]
    for i in (0, 2):
        got = store.client.get_object(Bucket=store.bucket, Key=f"rel/app-1.{i}.zip")["Body"].read()
        assert got == payloads[i]


def test_deleting_what_is_not_there_succeeds_as_on_s3(store: Store) -> None:
    store.client.put_object(Bucket=store.bucket, Key="keep.txt", Body=b"x")
    answer = store.client.delete_object(Bucket=store.bucket, Key="never-there.zip")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert answer["DeltaGliderInfo"]["Deleted"] is False
    assert _stored_keys(store) == ["keep.txt"]


def test_delete_objects_reports_each_key(store: Store) -> None:
    payloads = _put_family(store, "rel", 3)
    store.client.put_object(Bucket=store.bucket, Key="rel/notes.txt", Body=b"notes")
    answer = store.client.delete_objects(
        Bucket=store.bucket,
        Delete={
            "Objects": [
                {"Key": "rel/app-1.2.zip"},
                {"Key": "rel/notes.txt"},
                {"Key": "rel/missing.zip"},
                # A base that deltas still need is refused, never removed under them.
                {"Key": "rel/reference.bin"},
            ]
        },
    )
    assert [d["Key"] for d in answer["Deleted"]] == ["rel/app-1.2.zip", "rel/notes.txt", "rel/missing.zip"]
    assert answer["Deleted"][0]["StoredKey"] == "rel/app-1.2.zip.delta"
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("rel/reference.bin", "ReferenceInUse")]
    assert answer["DeltaGliderInfo"]["DeltaFilesDeleted"] == 1
    assert _files(store, "rel/") == ["rel/app-1.0.zip", "rel/app-1.1.zip"]
    for i in (0, 1):
        got = store.client.get_object(Bucket=store.bucket, Key=f"rel/app-1.{i}.zip")["Body"].read()
        assert got == payloads[i]

    quiet = store.client.delete_objects(
        Bucket=store.bucket, Delete={"Objects": [{"Key": "rel/app-1.0.zip"}], "Quiet": True}
    )
    assert quiet["Deleted"] == [] and "Errors" not in quiet
    assert _files(store, "rel/") == ["rel/app-1.1.zip"]


def test_delete_objects_refuses_a_malformed_request_and_a_missing_bucket(store: Store) -> None:
    with pytest.raises(ValueError, match="Objects"):
        store.client.delete_objects(Bucket=store.bucket, Delete={"Objects": ["a"]})
    with pytest.raises(ClientError) as caught:
        store.client.delete_objects(Bucket="no-such-bucket-dg", Delete={"Objects": [{"Key": "a"}]})
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"


def test_recursive_delete_empties_the_folder_and_touches_nothing_else(store: Store) -> None:
    _put_family(store, "rel", 3)
    _put_family(store, "rel/sub", 2)
    store.client.put_object(Bucket=store.bucket, Key="rel/notes.txt", Body=b"notes")
    if store.kind == "s3":  # a folder store cannot hold a file and a folder of one name
        store.client.put_object(Bucket=store.bucket, Key="rel", Body=b"a file named as the folder")
    kept = _put_family(store, "release", 2)  # shares the prefix "rel", not the folder
    store.client.put_object(Bucket=store.bucket, Key="rel2.txt", Body=b"other")

    answer: dict[str, Any] = store.client.delete_objects_recursive(Bucket=store.bucket, Prefix="rel")
    assert answer["FailedCount"] == 0, answer.get("Errors")
    left = _stored_keys(store)
    assert not [k for k in left if k == "rel" or k.startswith("rel/")], left
    assert _files(store) == ["rel2.txt", "release/app-1.0.zip", "release/app-1.1.zip"]
    for i, data in enumerate(kept):
        got = store.client.get_object(Bucket=store.bucket, Key=f"release/app-1.{i}.zip")["Body"].read()
        assert got == data
    info = answer["DeltaGliderInfo"]
    assert (
        info["DeltasDeleted"] >= 3
        and info["ReferencesDeleted"] == 2
        and info["DirectDeleted"] == (2 if store.kind == "s3" else 1)
    )
    assert answer["DeletedCount"] == info["DeltasDeleted"] + info["ReferencesDeleted"] + info["DirectDeleted"]


def test_recursive_delete_of_a_missing_bucket_raises_no_such_bucket(store: Store) -> None:
    with pytest.raises(ClientError) as caught:
        store.client.delete_objects_recursive(Bucket="no-such-bucket-dg", Prefix="x/")
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"
