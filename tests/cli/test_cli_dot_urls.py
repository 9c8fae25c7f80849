"""A URL with a ``.`` or ``..`` component is a usage error (exit 2) that changes nothing: S3 takes
``big/..`` as a literal prefix holding nothing, so a ``sync --delete`` from it would empty its
destination, and a ``cp`` to it would store a key named ``big/../f.zip``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

#: The ``s3_store`` fixture's type (tests/cli/conftest.py), which test modules cannot import.
Store = Any


def _mirror(folder: Path, count: int) -> dict[str, bytes]:
    folder.mkdir()
    files = {f"f{i:03}.zip": bytes([i]) * 100 for i in range(count)}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("source", ["big/..", "big/.", "big/../", "./big/"])
def test_sync_delete_from_an_s3_url_with_dot_components_deletes_nothing(
    s3_store: Store, tmp_path: Path, source: str
) -> None:
    store = s3_store
    files = _mirror(tmp_path / "mirror", 5)
    store.s3.put_object(Bucket=store.bucket, Key="big/f000.zip", Body=b"stored")
    result = store.cli("sync", "--delete", store.base + source, "./mirror/")
    assert result.code == 2, result.stderr
    assert "Traceback" not in result.stderr and repr(store.base + source).strip("'") in result.stderr
    assert _tree(tmp_path / "mirror") == files


def test_sync_delete_from_a_file_url_with_dot_components_deletes_nothing(cli: Any, tmp_path: Path) -> None:
    files = _mirror(tmp_path / "mirror", 3)
    (tmp_path / "store" / "big").mkdir(parents=True)
    result = cli("sync", "--delete", f"file://{tmp_path}/store/big/..", "./mirror/")
    assert result.code == 2, result.stderr
    assert _tree(tmp_path / "mirror") == files


def test_cp_to_an_s3_url_with_dot_components_stores_nothing(s3_store: Store, tmp_path: Path) -> None:
    store = s3_store
    local = tmp_path / "f.zip"
    local.write_bytes(b"x" * 1000)
    for target in ("big/../f.zip", "big/./f.zip", "../f.zip"):
        result = store.cli("cp", local, store.base + target)
        assert result.code == 2, result.stderr
    result = store.cli("cp", store.base + "big/../f.zip", tmp_path / "down.zip")
    assert result.code == 2, result.stderr
    assert store.stored() == []
    assert not (tmp_path / "down.zip").exists()
