"""``deltaglider stats`` as the original's README writes it: a bare bucket name, its modes, its cache
flags and its JSON keys; the cached totals follow every write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

Store = Any  # tests/cli/conftest.py's Store

ORIGINAL_KEYS = {
    "bucket",
    "object_count",
    "total_size",
    "compressed_size",
    "space_saved",
    "average_compression_ratio",
    "delta_objects",
    "direct_objects",
}


def test_a_bare_bucket_name_with_each_mode(s3_store: Store, releases: list[Path]) -> None:
    cli = s3_store.cli
    cli.ok("cp", "--recursive", releases[0].parent, s3_store.base + "app/")
    exact = cli.ok("--json", "stats", s3_store.bucket).json()
    assert set(exact) >= ORIGINAL_KEYS
    assert exact["mode"] == "detailed" and exact["bucket"] == s3_store.bucket
    assert exact["object_count"] == 4 and exact["delta_objects"] + exact["direct_objects"] == 4
    assert exact["total_size"] == sum(p.stat().st_size for p in releases)
    stored = s3_store.s3.list_objects_v2(Bucket=s3_store.bucket)["Contents"]
    assert exact["compressed_size"] == sum(
        o["Size"] for o in stored if not o["Key"].startswith(".deltaglider/")
    )
    sampled = cli.ok("--json", "stats", s3_store.base.rstrip("/"), "--sampled", "--no-cache").json()
    assert sampled["mode"] == "sampled" and sampled["object_count"] == 4
    quick = cli.ok("--json", "stats", s3_store.bucket, "--quick", "--no-cache").json()
    assert quick["total_size"] <= exact["total_size"] and quick["space_saved"] == 0


@pytest.mark.slow
def test_the_cached_totals_follow_an_upload_and_a_delete(s3_store: Store, releases: list[Path]) -> None:
    cli = s3_store.cli
    for path in releases[:2]:
        cli.ok("cp", path, s3_store.base + "app/")
    first = cli.ok("--json", "stats", s3_store.bucket).json()
    cli.ok("cp", releases[2], s3_store.base + "app/")
    grown = cli.ok("--json", "stats", s3_store.bucket).json()
    assert grown["object_count"] == first["object_count"] + 1
    assert grown["total_size"] == first["total_size"] + releases[2].stat().st_size
    cli.ok("rm", s3_store.base + "app/" + releases[2].name)
    assert cli.ok("--json", "stats", s3_store.bucket).json()["total_size"] == first["total_size"]


def test_a_folder_store_bucket_by_name_and_refused_flag_pairs(
    cli: Any, releases: list[Path], tmp_path: Path
) -> None:
    root = tmp_path / "store"
    (root / "releases").mkdir(parents=True)
    endpoint = ["--endpoint-url", f"file://{root}"]
    cli.ok("cp", releases[0], "s3://releases/app/", *endpoint)
    doc = cli.ok("--json", "stats", "releases", *endpoint).json()
    assert doc["object_count"] == 1 and doc["total_size"] == releases[0].stat().st_size
    assert cli("stats", "releases", "--refresh", "--no-cache", *endpoint).code == 2
    assert cli("stats", "releases", "--sampled", "--detailed", *endpoint).code == 2
    text = cli.ok("stats", "releases", "--detailed", "--refresh", *endpoint).stdout
    assert "files:      1" in text
