"""The URL table: what each spelling of a location means, and which ones are refused."""

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
    assert parse_url("S3://bucket/x.zip").bucket == "bucket"  # schemes are case-insensitive


#: (what the user typed, (bucket, key)): a local location is a store rooted at "/" whose first
#: component plays the bucket, so the same files on disk as a folder-per-DeltaSpace layout.
LOCAL_TABLE = [
    ("/srv/rel/app.zip", ("srv", "rel/app.zip")),
    ("/srv/rel/", ("srv", "rel/")),
    ("/srv/", ("srv", "")),
    ("/srv/rel/../x.zip", ("srv", "x.zip")),
    ("file:///srv/rel/app.zip", ("srv", "rel/app.zip")),
    ("file://localhost/srv/rel/", ("srv", "rel/")),
    ("file:///tmp/a%20b/x.zip", ("tmp", "a b/x.zip")),
]


@pytest.mark.parametrize(("url", "expected"), LOCAL_TABLE)
def test_local_locations(url: str, expected: tuple[str, str]) -> None:
    loc = parse_url(url)
    assert (loc.scheme, loc.bucket, loc.key) == ("file", *expected)
    assert str(loc) == "/" + "/".join(part for part in expected if part)


def test_relative_paths_are_taken_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    here = str(tmp_path).strip("/").split("/")
    for text, tail in [
        ("releases/app/", "releases/app/"),
        ("app.zip", "app.zip"),
        ("./app.zip", "app.zip"),
        ("./s3:/x", "s3:/x"),  # explicitly a path: the colon is part of a name
        ("sub/../a.zip", "a.zip"),
    ]:
        loc = parse_url(text)
        assert (loc.scheme, loc.bucket, loc.key) == ("file", here[0], "/".join([*here[1:], tail])), text
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_url("~/x.zip").key == "/".join([*here[1:], "x.zip"])


@pytest.mark.parametrize(
    "url",
    [
        "s3:/x",
        "s3:releases/up/",
        "S3:x",
        "s3:",
        "file:/x",
        "file:x",
        "http://host/x",
        "https://bucket.s3.amazonaws.com/k",
        "gs://bucket/k",
        "C:\\x",
        "C:x",
        "app:1.zip",
        "s3://",
        "s3:///key",
        "s3://bad bucket/x",
        "file://host/x",
        "file://relative/x",
        "",
        "/",
        "file:///",
    ],
)
def test_bad_urls_are_refused_with_the_accepted_forms(url: str) -> None:
    with pytest.raises(InvalidURLError) as raised:
        parse_url(url)
    message = str(raised.value)
    assert repr(url) in message
    if ":" in url.partition("/")[0] and not url.lower().startswith(("s3://", "file://")):
        assert "s3://bucket/key" in message and "file:///" in message


def test_a_file_directly_under_the_root_is_not_a_store_location(tmp_path: Path) -> None:
    with pytest.raises(InvalidURLError, match="directly under /"):
        parse_url("/app.zip")
    # A top-level folder that exists is one, with or without its slash (as s3://bucket is).
    top = "/" + str(tmp_path).strip("/").split("/")[0]
    assert (parse_url(top).bucket, parse_url(top).key) == (top[1:], "")


def test_paths_are_always_local(tmp_path: Path) -> None:
    # A Path cannot end in a slash: an existing folder is taken as one.
    assert parse_url(tmp_path).is_folder
    loc = parse_url(Path("s3:") / "x")  # a PathLike is a path, whatever it looks like
    assert loc.scheme == "file" and loc.key.endswith("s3:/x")


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/etc/passwd", "C:\\x", "C:x", "a\\..\\x", "a//b", "..", "."]
)
def test_safe_join_refuses_escapes(tmp_path: Path, key: str) -> None:
    with pytest.raises(InvalidURLError):
        safe_join(tmp_path, key)


def test_safe_join_keeps_names_inside(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "a/b.zip") == tmp_path / "a" / "b.zip"
    assert os.fspath(safe_join(tmp_path, "x")).startswith(os.fspath(tmp_path))


@pytest.mark.parametrize(
    "url",
    [
        "s3://b/big/..",
        "s3://b/big/../",
        "s3://b/big/../f000.zip",
        "s3://b/big/.",
        "s3://b/./x.zip",
        "s3://b/..",
        "s3://b/.",
        "s3://b/a/../../x",
        "S3://b/big/..",
        "s3://../x",
        "s3://./x",
        "file:///srv/big/..",
        "file:///srv/big/../x.zip",
        "file:///srv/./x.zip",
        "file:///srv/big/.",
        "file:///srv/a/%2e%2e/x.zip",  # percent-decoded, it is '..' too
        "file://localhost/srv/big/../",
    ],
)
def test_urls_refuse_dot_components(url: str) -> None:
    """S3 takes ``..`` literally (``big/../f.zip`` is a key of its own), so in a URL it could only
    mislead: ``sync --delete s3://b/big/.. ./mirror/`` listing nothing would empty the mirror."""
    with pytest.raises(InvalidURLError) as raised:
        parse_url(url)
    assert repr(url) in str(raised.value)


def test_a_path_ending_in_a_dot_component_names_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "x").mkdir()
    monkeypatch.chdir(tmp_path / "x")
    here = "/".join(str(tmp_path).strip("/").split("/")[1:])
    for text, key in [
        (".", f"{here}/x/"),
        ("./.", f"{here}/x/"),
        ("..", f"{here}/"),
        ("sub/..", f"{here}/x/"),
        ("./s3:x/..", f"{here}/x/"),
        (f"{tmp_path}/x/.", f"{here}/x/"),
    ]:
        loc = parse_url(text)
        assert (loc.scheme, loc.key, loc.is_folder) == ("file", key, True), text
