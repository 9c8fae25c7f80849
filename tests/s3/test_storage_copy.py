"""``StoragePort.copy``: the object's bytes, metadata, Content-Type and tags at a new key, within the
store (S3: CopyObject, on moto in-process and its HTTP server; a local folder; memory)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.s3_backend import S3Backend

from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.adapters.storage_s3 import S3Storage
from deltaglider.errors import NotFoundError
from deltaglider.ports.storage import PutOptions, StoragePort

OPTIONS = PutOptions(content_type="text/plain", tags={"team": "web"})
META = {"dg-file-sha256": "ab" * 32, "note": "kept"}


def _check_copy(storage: StoragePort, bucket: str, small_file: Path, tmp_path: Path) -> None:
    storage.put_file(bucket, "a/src.txt", small_file, META, options=OPTIONS)
    storage.copy(bucket, "a/src.txt", bucket, "b/dst.txt")
    head = storage.head(bucket, "b/dst.txt")
    assert head is not None and dict(head.metadata) == META
    storage.get_file(bucket, "b/dst.txt", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == small_file.read_bytes()
    assert storage.head(bucket, "a/src.txt") is not None  # the source stays
    with pytest.raises(NotFoundError):
        storage.copy(bucket, "a/none.txt", bucket, "b/none.txt")
    assert storage.head(bucket, "b/none.txt") is None


def test_s3_copy_keeps_metadata_type_and_tags(
    s3: S3Backend, bucket: str, small_file: Path, tmp_path: Path
) -> None:
    _check_copy(S3Storage(s3.client), bucket, small_file, tmp_path)
    got = s3.client.head_object(Bucket=bucket, Key="b/dst.txt")
    assert got["ContentType"] == "text/plain"
    tags = s3.client.get_object_tagging(Bucket=bucket, Key="b/dst.txt")["TagSet"]
    assert tags == [{"Key": "team", "Value": "web"}]


def test_local_copy_keeps_metadata_and_tags(small_file: Path, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    (tmp_path / "store" / "bucket").mkdir(parents=True)
    _check_copy(storage, "bucket", small_file, tmp_path)
    sidecars = sorted((tmp_path / "store" / "bucket").rglob(".dg-meta/*"))
    texts = [p.read_text() for p in sidecars if p.name.startswith(("src.txt", "dst.txt"))]
    assert len(texts) == 2 and all("team=web" in text for text in texts)


def test_memory_copy(small_file: Path, tmp_path: Path) -> None:
    storage = MemoryStorage()
    _check_copy(storage, "bucket", small_file, tmp_path)
    assert storage.options("bucket", "b/dst.txt") == OPTIONS
