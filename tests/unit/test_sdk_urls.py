from __future__ import annotations

import os
from pathlib import Path

import pytest

from deltaglider.errors import InvalidURLError
from deltaglider.urls import parse_url, safe_join


def test_s3_urls() -> None:
    loc = parse_url("s3://bucket/a/b/")
    assert (loc.scheme, loc.bucket, loc.prefix, loc.name, loc.is_folder) == (
        "s3",
        "bucket",
        "a/b",
        None,
        True,
    )
    loc = parse_url("s3://bucket/a/b")
    assert (loc.prefix, loc.name, loc.is_folder) == ("a", "b", False)
    assert parse_url("s3://bucket").is_folder
    assert parse_url("s3://bucket/").prefix == ""
    assert parse_url("s3://bucket/x.zip").prefix == ""


@pytest.mark.parametrize("url", ["s3://", "s3:///key", "http://host/x", "s3://bad bucket/x", "file://host/x"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(InvalidURLError):
        parse_url(url)


def test_local_paths_and_file_urls(tmp_path: Path) -> None:
    loc = parse_url(f"file://{tmp_path}/store/")
    assert (loc.scheme, loc.bucket, loc.key) == ("file", f"{tmp_path}/store", "")
    loc = parse_url(f"{tmp_path}/store/app.zip")
    assert (loc.bucket, loc.key, loc.name) == (f"{tmp_path}/store", "app.zip", "app.zip")
    loc = parse_url("file:///tmp/a%20b/x.zip")
    assert (loc.bucket, loc.key) == ("/tmp/a b", "x.zip")
    loc = parse_url("relative/dir/")
    assert loc.bucket == os.path.abspath("relative/dir")
    # A Path cannot end in a slash: an existing folder is taken as one.
    assert parse_url(tmp_path).is_folder


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/etc/passwd", "C:\\x", "C:x", "a\\..\\x", "a//b", "..", "."]
)
def test_safe_join_refuses_escapes(tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidURLError):
        safe_join(tmp_path, key)


def test_safe_join_keeps_names_inside(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "a/b.zip") == tmp_path / "a" / "b.zip"
