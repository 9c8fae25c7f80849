"""``upload(file, url)`` reads ``url`` as the folder, with or without its trailing slash, as the
original DeltaGlider and the seed's docs do; ``name=`` stores the file under another name. The
command line and ``copy`` keep ``aws s3 cp``'s rule, where a destination without a slash is the
object's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.artifacts import release_zips
from support.variants import CLIENT_ON_S3_TOO

from deltaglider import DeltaGliderClient
from deltaglider.errors import InvalidURLError


@pytest.fixture
def builds(tmp_path: Path) -> list[Path]:
    (tmp_path / "b").mkdir()
    zips = release_zips(tmp_path / "b", "app", 2, size=40_000)
    renamed = []
    for index, path in enumerate(zips):
        folder = tmp_path / f"build{index}"
        folder.mkdir()
        renamed.append(path.rename(folder / "build.zip"))
    return renamed


def _names(client: DeltaGliderClient, folder: str) -> list[str]:
    return sorted(entry.name for entry in client.list(folder, recursive=True))


@CLIENT_ON_S3_TOO
def test_the_url_is_the_folder_with_or_without_its_slash(
    client_and_folder: tuple[DeltaGliderClient, str], builds: list[Path], tmp_path: Path
) -> None:
    client, folder = client_and_folder
    first = client.upload(builds[0], folder + "v2")
    second = client.upload(builds[1], folder + "v3/")
    assert first.key.endswith("app/v2/reference.bin") or first.key.endswith("app/v2/build.zip")
    assert _names(client, folder) == ["v2/build.zip", "v3/build.zip"]
    client.download(folder + "v2/build.zip", tmp_path / "back.zip")
    assert (tmp_path / "back.zip").read_bytes() == builds[0].read_bytes()
    assert second.bucket == first.bucket


def test_name_stores_the_file_under_another_name(
    client_and_folder: tuple[DeltaGliderClient, str], builds: list[Path], tmp_path: Path
) -> None:
    client, folder = client_and_folder
    client.upload(builds[0], folder + "rel", name="app-1.0.zip")
    client.upload(builds[1], folder + "rel/", name="app-1.1.zip")
    assert _names(client, folder) == ["rel/app-1.0.zip", "rel/app-1.1.zip"]
    client.download(folder + "rel/app-1.1.zip", tmp_path / "back.zip")
    assert (tmp_path / "back.zip").read_bytes() == builds[1].read_bytes()
    with pytest.raises(InvalidURLError, match="must not contain '/'"):
        client.upload(builds[0], folder + "rel/", name="sub/app.zip")


@CLIENT_ON_S3_TOO
def test_copy_keeps_the_aws_s3_cp_rule(
    client_and_folder: tuple[DeltaGliderClient, str], builds: list[Path]
) -> None:
    client, folder = client_and_folder
    assert client.copy(builds[0], folder + "rel/app-1.0.zip").ok
    assert client.copy(builds[1], folder + "rel/").ok
    assert _names(client, folder) == ["rel/app-1.0.zip", "rel/build.zip"]
