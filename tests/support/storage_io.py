"""Small objects in and out of a StoragePort, through temporary files (the port moves files only)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from deltaglider.ports.storage import StoragePort


def put_bytes(storage: StoragePort, bucket: str, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="dg-test-put-") as folder:
        src = Path(folder) / "src"
        src.write_bytes(data)
        storage.put_file(bucket, key, src, metadata)


def get_bytes(storage: StoragePort, bucket: str, key: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="dg-test-get-") as folder:
        dest = Path(folder) / "dest"
        storage.get_file(bucket, key, dest)
        return dest.read_bytes()
