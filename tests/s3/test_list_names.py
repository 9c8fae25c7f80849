"""``list()`` gives the same names on S3 (moto in-process and its HTTP server) and on a local folder:
relative to the folder listed, ``.delta`` stripped, references hidden, sub-folders as ``PRE``-style
entries when not recursive."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.artifacts import release_zips
from support.s3_backend import S3Backend

from deltaglider import DeltaGliderClient, create_client
from deltaglider.core.models import ListEntry

#: (folder under the store, how many releases): a DeltaSpace at the top and two nested ones.
LAYOUT = [("app/", 3), ("app/beta/", 2), ("tools/x/", 1)]


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return release_zips(tmp_path_factory.mktemp("src"), "app", 3, size=50_000)


def _fill(client: DeltaGliderClient, root: str, releases: list[Path], notes: Path) -> None:
    for folder, count in LAYOUT:
        for path in releases[:count]:
            client.upload(path, f"{root}{folder}")
    client.upload(notes, f"{root}app/")
    client.upload(notes, root, name="top.txt")


def _view(entries: list[ListEntry], root: str) -> list[tuple[str, bool, bool, int | None, str]]:
    # The URL differs only in how the store is named; what follows it must be the same.
    return [(e.name, e.is_prefix, e.is_delta, e.original_size, e.url.removeprefix(root)) for e in entries]


def test_s3_and_a_folder_list_the_same_names(
    s3: S3Backend, bucket: str, releases: list[Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("release notes\n")
    s3_client = create_client(
        endpoint_url=s3.endpoint_url, cache_dir=str(tmp_path / "c1"), log_level="WARNING"
    )
    local_client = create_client(cache_dir=str(tmp_path / "c2"), log_level="WARNING")
    roots = {"s3": f"s3://{bucket}/", "local": f"{tmp_path}/store/"}
    _fill(s3_client, roots["s3"], releases, notes)
    _fill(local_client, roots["local"], releases, notes)

    for sub in ("", "app/", "app/beta/", "tools/"):
        for recursive in (False, True):
            seen = {
                kind: _view(list(client.list(roots[kind] + sub, recursive=recursive)), roots[kind])
                for kind, client in (("s3", s3_client), ("local", local_client))
            }
            assert seen["s3"] == seen["local"], (sub, recursive)

    top = list(local_client.list(roots["local"]))
    assert [(e.name, e.is_prefix) for e in top] == [("app/", True), ("tools/", True), ("top.txt", False)]
    assert top[0].url == f"{tmp_path}/store/app/" and top[0].original_size is None
    shallow = [e.name for e in local_client.list(roots["local"] + "app")]  # no slash: still the folder
    assert shallow == ["app-1.0.zip", "app-1.1.zip", "app-1.2.zip", "beta/", "notes.txt"]
    deep = [e.name for e in local_client.list(roots["local"] + "app/", recursive=True)]
    assert deep == [
        "app-1.0.zip",
        "app-1.1.zip",
        "app-1.2.zip",
        "beta/app-1.0.zip",
        "beta/app-1.1.zip",
        "notes.txt",
    ]


def test_a_file_endpoint_lists_like_s3(releases: list[Path], tmp_path: Path) -> None:
    client = create_client(endpoint_url=f"file://{tmp_path}/root", cache_dir=str(tmp_path / "c"))
    for path in releases[:2]:
        client.upload(path, "s3://bucket/app/")
    assert [(e.name, e.is_prefix) for e in client.list("s3://bucket/")] == [("app/", True)]
    entries = list(client.list("s3://bucket/app/"))
    assert [e.name for e in entries] == ["app-1.0.zip", "app-1.1.zip"]
    assert entries[1].url == f"{tmp_path}/root/bucket/app/app-1.1.zip"
