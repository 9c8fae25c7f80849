"""The original DeltaGlider 6.2.0's view of a bucket whose names keep their history: its listings
(``ls``, ``ls --recursive``) show each name's current version and never a kept one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.artifacts import release_zips
from support.moto_server import MotoServer
from support.original import install_original

from deltaglider import create_client

pytestmark = pytest.mark.interop


def _original_ls(moto_server: MotoServer, tmp_path: Path, *args: str) -> list[str]:
    original = install_original("6.2.0")
    cache = tmp_path / "original-cache"
    cache.mkdir(exist_ok=True)
    done = subprocess.run(
        [str(original.cli), "ls", *args, "--endpoint-url", moto_server.url],
        env=original.env(cache, moto_server.url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_the_original_lists_only_the_current_version(
    moto_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    client = create_client(endpoint_url=moto_server.url, cache_dir=str(tmp_path / "ours"), keep_history=True)
    for release in release_zips(tmp_path, "app", 3):
        client.upload(release, f"s3://{bucket}/releases/", name="app.zip")
    assert len(client.list_versions(f"s3://{bucket}/releases/app.zip")) == 3

    flat = _original_ls(moto_server, tmp_path, "--recursive", f"s3://{bucket}/")
    folder = _original_ls(moto_server, tmp_path, f"s3://{bucket}/releases/")

    shown = [line.split()[-1] for line in flat if line.strip()]
    assert [name for name in shown if "app" in name or "history" in name] == ["releases/app.zip"], flat
    # Its folder listing shows the helper folder it knows (its own keeps rehydrated copies there),
    # and no version.
    assert not [line for line in folder if "history" in line or line.count("app.zip") > 1], folder
    assert sum("app.zip" in line for line in folder) == 1, folder
