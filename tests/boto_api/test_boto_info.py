"""get_object_info, estimate_compression (grounded in the real upload), find_similar_files and
clear_cache, on a folder store and on moto's HTTP server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.boto_bench import Bench, family

from deltaglider.boto_api.models import CompressionEstimate, ObjectInfo
from deltaglider.errors import InvalidURLError, NotFoundError


def test_object_info_of_a_delta_and_of_a_whole_file(
    bench: Bench, releases: list[Path], tmp_path: Path
) -> None:
    for path in releases[:2]:
        bench.client.upload(path, bench.url("app/"))
    notes = tmp_path / "notes.txt"
    notes.write_text("notes\n" * 100)
    bench.client.upload(notes, bench.url("docs/"))
    stored = bench.stored()

    info = bench.client.get_object_info(bench.url("app/" + releases[1].name))
    assert isinstance(info, ObjectInfo)
    assert info.key == "app/" + releases[1].name
    assert info.size == info.original_size == releases[1].stat().st_size
    assert info.compressed_size == stored["app/" + releases[1].name + ".delta"]
    assert info.is_delta and info.reference_key == "app/reference.bin" and info.delta_chain_length == 1
    assert info.compression_ratio == pytest.approx(1 - info.compressed_size / info.size)
    assert info.last_modified.startswith("20")
    if bench.s3 is not None:  # the ETag boto3 itself reports for the stored object
        head = bench.s3.head_object(Bucket=bench.bucket, Key="app/" + releases[1].name + ".delta")
        assert info.etag == head["ETag"].strip('"')

    whole = bench.client.get_object_info(bench.url("docs/notes.txt"))
    assert (whole.key, whole.size, whole.compressed_size) == ("docs/notes.txt", 600, 600)
    assert not whole.is_delta and whole.reference_key is None and whole.delta_chain_length == 0
    assert whole.compression_ratio == 0.0

    with pytest.raises(NotFoundError):
        bench.client.get_object_info(bench.url("app/missing.tar"))


def test_estimate_is_what_the_upload_then_stores(bench: Bench, releases: list[Path], unrelated: Path) -> None:
    for path in releases[:3]:
        bench.client.upload(path, bench.url("app/"))
    before = bench.stored()

    similar = bench.client.estimate_compression(releases[3], bench.bucket, "app")
    other = bench.client.estimate_compression(unrelated, bench.bucket, "app/")
    assert isinstance(similar, CompressionEstimate)
    assert bench.stored() == before, "an estimate wrote to the store"

    size = releases[3].stat().st_size
    assert similar.should_use_delta is True
    assert similar.recommended_reference == "app/reference.bin"
    assert similar.original_size == size
    assert similar.estimated_compressed_size < size // 20
    assert similar.estimated_ratio == pytest.approx(1 - similar.estimated_compressed_size / size)
    assert other.should_use_delta is False
    assert other.recommended_reference is None
    assert other.estimated_compressed_size == other.original_size
    assert other.estimated_ratio == 0.0

    # Grounded in the encode: the real uploads store exactly what was estimated.
    done = bench.client.upload(releases[3], bench.url("app/"))
    assert done.is_delta and done.stored_size == similar.estimated_compressed_size
    whole = bench.client.upload(unrelated, bench.url("app/"))
    assert not whole.is_delta and whole.stored_size == other.estimated_compressed_size


def test_estimate_in_an_empty_folder_says_the_file_would_become_its_reference(
    folder_bench: Bench, releases: list[Path]
) -> None:
    found = folder_bench.client.estimate_compression(releases[0], "releases", "new/")
    assert found.should_use_delta is False and found.recommended_reference is None
    assert found.estimated_compressed_size >= found.original_size
    assert found.estimated_ratio == 0.0
    assert folder_bench.stored() == {}
    assert not (folder_bench.cache.exists() and any(folder_bench.cache.rglob("*-*"))), (
        "the estimate cached the file"
    )


def test_estimate_refuses_what_is_no_file(folder_bench: Bench, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        folder_bench.client.estimate_compression(tmp_path / "nope.tar", "releases")
    real = tmp_path / "real.tar"
    real.write_bytes(b"x" * 100)
    with pytest.raises(InvalidURLError):
        folder_bench.client.estimate_compression(real, "releases", "../elsewhere")
    with pytest.raises(ValueError, match="sample_size"):
        folder_bench.client.estimate_compression(tmp_path, "releases", sample_size=0)


def test_similar_files_by_name_with_the_files_sizes(
    bench: Bench, releases: list[Path], tmp_path: Path
) -> None:
    for path in releases[:3]:
        bench.client.upload(path, bench.url("app/"))
    readme = tmp_path / "README.md"
    readme.write_text("read me\n")
    bench.client.upload(readme, bench.url("app/"))

    found = bench.client.find_similar_files(bench.bucket, "app/", "app-1.9.tar")
    assert [item["Key"] for item in found] == ["app/" + p.name for p in releases[:3]]
    assert all(set(item) == {"Key", "Size", "Similarity", "LastModified"} for item in found)
    assert all(item["Size"] == releases[0].stat().st_size for item in found)  # not the deltas' sizes
    assert all(item["Similarity"] == pytest.approx(0.7) for item in found)  # extension, versions
    assert bench.client.find_similar_files(bench.bucket, "app/", "app-1.9.tar", limit=2) == found[:2]
    assert bench.client.find_similar_files(bench.bucket, "app/app-1.1", "app-1.9.tar") == [found[1]]
    assert bench.client.find_similar_files(bench.bucket, "elsewhere/", "app-1.9.tar") == []


def test_similar_files_by_content_when_the_name_is_a_local_file(
    folder_bench: Bench, releases: list[Path], unrelated: Path, tmp_path: Path
) -> None:
    bench = folder_bench
    for path in releases[:2]:
        bench.client.upload(path, bench.url("app/"))
    renamed = tmp_path / "build.bin"  # another name and extension: no name score
    renamed.write_bytes(releases[3].read_bytes())
    found = bench.client.find_similar_files(bench.bucket, "app/", str(renamed))
    assert [item["Key"] for item in found] == ["app/" + releases[0].name]  # the reference's file
    assert found[0]["Similarity"] > 0.9
    assert bench.client.find_similar_files(bench.bucket, "app/", str(unrelated.with_name("x.bin"))) == []
    stranger = tmp_path / "stranger.bin"
    stranger.write_bytes(unrelated.read_bytes())
    assert bench.client.find_similar_files(bench.bucket, "app/", str(stranger)) == []


def test_clear_cache_empties_the_reference_cache_and_nothing_else(
    bench: Bench, releases: list[Path], tmp_path: Path
) -> None:
    for path in releases[:2]:
        bench.client.upload(path, bench.url("app/"))
    bench.client.download(bench.url("app/" + releases[1].name), tmp_path / "out.tar")

    def entries() -> list[Path]:
        return [
            p
            for p in bench.cache.rglob("*")
            if p.is_file() and len(p.parent.name) == 2 and not p.name.endswith(".used")
        ]

    assert entries(), "the download cached no reference"
    keep = bench.cache / "mine.txt"
    keep.write_text("not the cache's")
    bench.client.clear_cache()
    assert entries() == []
    assert keep.read_text() == "not the cache's"
    again = tmp_path / "again.tar"
    bench.client.download(bench.url("app/" + releases[1].name), again)  # fetched again
    assert again.read_bytes() == releases[1].read_bytes()
    assert entries()


def test_clear_cache_on_a_memory_cache(tmp_path: Path, releases: list[Path]) -> None:
    from deltaglider import create_client

    client = create_client(
        endpoint_url=f"file://{tmp_path}/store", cache_backend="memory", log_level="WARNING"
    )
    os.makedirs(tmp_path / "store" / "b")
    for path in releases[:2]:
        client.upload(path, "s3://b/app/")
    cache = client.service._ctx.cache
    client.download("s3://b/app/" + releases[1].name, tmp_path / "out.tar")
    assert cache.size > 0  # type: ignore[attr-defined]
    client.clear_cache()
    assert cache.size == 0  # type: ignore[attr-defined]


def test_more_releases_keep_similarity_scores_in_range(folder_bench: Bench, tmp_path: Path) -> None:
    paths = family(tmp_path, 3, stem="lib")
    for path in paths:
        folder_bench.client.upload(path, folder_bench.url("lib/"))
    found = folder_bench.client.find_similar_files("releases", "lib/", str(paths[2]))
    assert found and all(0.5 < item["Similarity"] <= 1.0 for item in found)
