"""The public client end to end on S3 (moto in-process and moto's HTTP server): families of similar
files in, the same bytes out, and the failure modes the original got wrong."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.artifacts import release_zips, unrelated_file
from support.s3_backend import S3Backend

from deltaglider import DeltaGliderClient, create_client
from deltaglider.errors import DeltaGliderError, NotFoundError


def _client(s3: S3Backend, cache: Path) -> DeltaGliderClient:
    # The server is reached the way users reach MinIO or R2; the in-process mock needs no endpoint.
    return create_client(endpoint_url=s3.endpoint_url, cache_dir=str(cache), log_level="WARNING")


def _keys(s3: S3Backend, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_release_family_round_trip(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    releases = release_zips(src, "app", 4)
    notes = src / "NOTES.txt"
    notes.write_text("not a delta candidate\n")
    other = unrelated_file(src / "other-1.0.zip")
    client = _client(s3, tmp_path / "cache")
    url = f"s3://{bucket}/releases/"

    summaries = [client.upload(path, url) for path in [*releases, notes, other]]

    assert [s.operation for s in summaries] == ["PUT", "PUT_DELTA", "PUT_DELTA", "PUT_DELTA", "PUT", "PUT"]
    for summary, path in zip(summaries, [*releases, notes, other], strict=True):
        assert summary.original_size == path.stat().st_size
    assert all(s.stored_size < s.original_size // 20 for s in summaries[1:4]), summaries
    assert summaries[5].delta_ratio > 0.5  # unrelated (and no archive): refused as a delta, stored whole

    listed = {entry.name: entry for entry in client.list(url)}
    assert set(listed) == {p.name for p in [*releases, notes, other]}
    assert all(listed[p.name].original_size == p.stat().st_size for p in releases)
    assert [listed[p.name].is_delta for p in releases[1:]] == [True] * 3
    assert listed[releases[1].name].url == f"{url}{releases[1].name}"

    stats = client.stats(url)
    total = sum(p.stat().st_size for p in [*releases, notes, other])
    assert stats.original_bytes == total
    assert stats.stored_bytes < total * 0.5

    out = tmp_path / "out"
    out.mkdir()
    for path in [*releases, notes, other]:
        client.download(f"{url}{path.name}", out / path.name)
        assert (out / path.name).read_bytes() == path.read_bytes()
        assert client.verify(f"{url}{path.name}")

    # A fresh client (empty cache) reads the same: nothing depends on the writer's local state.
    fresh = _client(s3, tmp_path / "cache2")
    fresh.download(f"{url}{releases[2].name}", out / "fresh.zip")
    assert (out / "fresh.zip").read_bytes() == releases[2].read_bytes()

    for path in [*releases, notes, other]:
        client.delete(f"{url}{path.name}")
    with pytest.raises(NotFoundError):
        client.download(f"{url}{releases[1].name}", out / "gone.zip")
    # The reference stays (an upload may be encoding against it) until deleted by name, or by the
    # clean-up that rm and sync run once a folder holds no delta.
    assert _keys(s3, bucket) == ["releases/reference.bin"]
    removed = client.delete_reference_if_unused(url)
    assert removed is not None and removed.deleted == ["releases/reference.bin"]
    assert _keys(s3, bucket) == []


@pytest.mark.parametrize("damage", ["flipped-byte", "other-files-delta"])
def test_corrupted_delta_leaves_no_output_file(
    s3: S3Backend, bucket: str, tmp_path: Path, damage: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    v1, v2, v3 = release_zips(src, "app", 3)
    client = _client(s3, tmp_path / "cache")
    for path in (v1, v2, v3):
        client.upload(path, f"s3://{bucket}/r/")
    key = f"r/{v2.name}.delta"
    stored = s3.client.get_object(Bucket=bucket, Key=key)
    if damage == "flipped-byte":
        body = bytearray(stored["Body"].read())
        body[len(body) // 2] ^= 0xFF
        data = bytes(body)
    else:  # a valid delta, but of another file: decodes, and the SHA-256 must catch it
        data = s3.client.get_object(Bucket=bucket, Key=f"r/{v3.name}.delta")["Body"].read()
    s3.client.put_object(Bucket=bucket, Key=key, Body=data, Metadata=stored["Metadata"])

    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(DeltaGliderError):
        client.download(f"s3://{bucket}/r/{v2.name}", out / "v2.zip")
    assert list(out.iterdir()) == []  # neither the file nor a temporary left behind
    assert not client.verify(f"s3://{bucket}/r/{v2.name}")


def test_big_files_take_the_multipart_paths(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    """Above boto3's 8 MiB threshold: the reference is created by a conditional multipart upload,
    and downloads come back in ranged parts."""
    src = tmp_path / "src"
    src.mkdir()
    v1, v2 = release_zips(src, "big", 2, size=9 * 1024 * 1024)
    client = _client(s3, tmp_path / "cache")

    first = client.upload(v1, f"s3://{bucket}/big/")
    second = client.upload(v2, f"s3://{bucket}/big/")

    assert (first.operation, second.operation) == ("PUT", "PUT_DELTA")
    head = s3.client.head_object(Bucket=bucket, Key="big/reference.bin")
    assert head["ETag"].strip('"').endswith("-2")  # a multipart object: 9 MiB in 8 MiB parts
    for path in (v1, v2):
        fresh = _client(s3, tmp_path / f"cache-{path.stem}")
        fresh.download(f"s3://{bucket}/big/{path.name}", tmp_path / path.name)
        assert (
            hashlib.sha256((tmp_path / path.name).read_bytes()).digest()
            == hashlib.sha256(path.read_bytes()).digest()
        )


def test_concurrent_first_uploads_lose_nothing(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    """The original's fault #2: two first uploads into a new DeltaSpace left one file unrecoverable.
    Here the conditional create picks one reference and the other upload adapts to it."""
    src = tmp_path / "src"
    src.mkdir()
    files = release_zips(src, "race", 4)
    clients = [_client(s3, tmp_path / f"cache{i}") for i in range(len(files))]
    barrier = threading.Barrier(len(files))

    def upload(i: int) -> str:
        barrier.wait()
        return clients[i].upload(files[i], f"s3://{bucket}/race/").operation

    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        operations = list(pool.map(upload, range(len(files))))

    assert "PUT_DELTA" in operations, operations  # one reference, the others diffed against it
    reader = _client(s3, tmp_path / "reader-cache")
    for path in files:
        reader.download(f"s3://{bucket}/race/{path.name}", tmp_path / path.name)
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()


def test_non_ascii_names_round_trip(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    # S3 metadata is sent as HTTP headers (ASCII only): names are carried RFC 2047-encoded.
    src = tmp_path / "src"
    src.mkdir()
    releases = release_zips(src, "résumé", 2)
    client = _client(s3, tmp_path / "cache")
    url = f"s3://{bucket}/släpp/"
    summaries = [client.upload(path, url) for path in releases]
    assert [s.operation for s in summaries] == ["PUT", "PUT_DELTA"]
    assert {entry.name for entry in client.list(url)} == {p.name for p in releases}
    for path in releases:
        out = tmp_path / f"out-{path.name}"
        client.download(f"{url}{path.name}", out)
        assert out.read_bytes() == path.read_bytes()
        assert client.verify(f"{url}{path.name}")
