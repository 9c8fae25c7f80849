"""The storage port's conditional writes and deletes, as one contract every store is held to (memory,
local folder, S3 through moto): a rewrite or a removal acts on the version it names, and on no other."""

from __future__ import annotations

from pathlib import Path

from deltaglider.ports.storage import StoragePort
from support.storage_io import get_bytes, put_bytes


def _etag(storage: StoragePort, bucket: str, key: str) -> str:
    head = storage.head(bucket, key)
    assert head is not None and head.etag, f"{key}: a head must name the version"
    return head.etag


def check_contract(storage: StoragePort, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "new"
    src.write_bytes(b"rewritten")

    put_bytes(storage, bucket, "p/a", b"first", {"dg-k": "1"})
    first = _etag(storage, bucket, "p/a")
    put_bytes(storage, bucket, "p/a", b"second", {"dg-k": "2"})
    second = _etag(storage, bucket, "p/a")
    assert first != second, "two writes of one key are two versions"

    # A rewrite of a version that was replaced since changes nothing.
    assert not storage.put_file_if_match(bucket, "p/a", src, {"dg-k": "3"}, etag=first)
    assert get_bytes(storage, bucket, "p/a") == b"second"
    # Of the current version, it replaces it, metadata and all.
    assert storage.put_file_if_match(bucket, "p/a", src, {"dg-k": "3"}, etag=second)
    head = storage.head(bucket, "p/a")
    assert head is not None and head.metadata.get("dg-k") == "3"
    assert get_bytes(storage, bucket, "p/a") == b"rewritten"
    third = _etag(storage, bucket, "p/a")

    # A removal of a version that was replaced since leaves the newer one.
    assert not storage.delete_if_match(bucket, "p/a", second)
    assert get_bytes(storage, bucket, "p/a") == b"rewritten"
    assert storage.delete_if_match(bucket, "p/a", third)
    assert storage.head(bucket, "p/a") is None

    # Nothing removed comes back: neither a rewrite nor a removal of a gone version acts.
    assert not storage.put_file_if_match(bucket, "p/a", src, {}, etag=third)
    assert storage.head(bucket, "p/a") is None
    assert not storage.delete_if_match(bucket, "p/a", third)
