"""The client's batch helpers, ``head`` and ``list_buckets``, on moto (in-process and its HTTP server)
and on a folder store: the same answers on both."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from support.artifacts import release_zips
from support.s3_backend import S3Backend
from support.variants import CLIENT_ON_S3_TOO

from deltaglider import DeltaGliderClient, create_client
from deltaglider.errors import NotFoundError


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@CLIENT_ON_S3_TOO
def test_upload_many_and_download_many_round_trip_in_order(
    client_and_folder: tuple[DeltaGliderClient, str], tmp_path: Path
) -> None:
    client, base = client_and_folder
    files = release_zips(tmp_path, "app", 4, size=120_000)
    moved: list[int] = []
    ups = client.upload_many([(f, base) for f in files], workers=4, progress=moved.append)
    # One outcome per file, in input order, whichever thread finished first.
    keys = [o.unwrap().key.rpartition("/")[2] for o in ups]
    assert all(
        key in (f.name, f.name + ".delta", "reference.bin") for key, f in zip(keys, files, strict=True)
    )
    assert sum(o.unwrap().is_delta for o in ups) >= 2
    assert sum(moved) > 0
    out = tmp_path / "out"
    out.mkdir()
    downs = client.download_many(
        [(base + f.name, out / f.name) for f in files] + [(base + "missing.zip", out / "missing.zip")],
        workers=3,
    )
    assert [o.ok for o in downs] == [True, True, True, True, False]
    assert isinstance(downs[-1].error, NotFoundError)
    for f in files:
        assert (out / f.name).read_bytes() == f.read_bytes()


def test_head_tells_size_sha_and_form_without_downloading(
    client_and_folder: tuple[DeltaGliderClient, str], tmp_path: Path
) -> None:
    client, base = client_and_folder
    files = release_zips(tmp_path, "app", 2, size=120_000)
    client.upload(files[0], base)
    client.upload(files[1], base)
    info = client.head(base + files[1].name)
    assert (info.size, info.sha256, info.is_delta) == (files[1].stat().st_size, _sha(files[1]), True)
    assert info.key.endswith(files[1].name + ".delta") and 0 < info.stored_size < info.size
    with pytest.raises(NotFoundError):
        client.head(base + "nothing.zip")


def test_list_buckets(s3: S3Backend, tmp_path: Path) -> None:
    names = sorted([s3.create_bucket(), s3.create_bucket()])
    client = create_client(endpoint_url=s3.endpoint_url, cache_dir=str(tmp_path / "c"), log_level="WARNING")
    listed = client.list_buckets()  # boto3's shape, as the original DeltaGlider returns it
    assert set(names) <= {b["Name"] for b in listed["Buckets"]}
    assert listed["Owner"] == s3.client.list_buckets()["Owner"]
    root = tmp_path / "root"
    (root / "alpha").mkdir(parents=True)
    (root / "beta").mkdir()
    (root / "file.txt").write_text("not a bucket")
    local = create_client(endpoint_url=f"file://{root}", cache_dir=str(tmp_path / "c"), log_level="WARNING")
    assert [b["Name"] for b in local.list_buckets()["Buckets"]] == ["alpha", "beta"]
