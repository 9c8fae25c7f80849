"""The whole copies that links to delta-stored files need (``.deltaglider/tmp/``), between the
original DeltaGlider 6.2.0 and us, through moto's S3 server:

- the copies we write are the original's: its ``purge --dry-run`` finds our expired copy, and only
  that one, from the same key layout and ``dg-expires-at``;
- the copies it wrote are ours to clean: our purge removes its expired copy and keeps its live one.

(6.2.0's own ``purge`` without ``--dry-run`` removes nothing, ours or its own: it compares its naive
UTC clock with the expiry it has made timezone-aware, and counts a TypeError for every copy.)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import pytest
from support.artifacts import release_zips
from support.moto_server import MotoServer
from support.original import OriginalDeltaGlider, install_original

from deltaglider import create_client

pytestmark = pytest.mark.interop

TMP = ".deltaglider/tmp/"

#: In the original's venv: upload the releases (the second becomes a delta), then copy the second
#: twice, expired and live; prints the copies' keys.
_UPLOAD_AND_REHYDRATE = """
import json, sys
from deltaglider import create_client
bucket, endpoint, *files = sys.argv[1:]
client = create_client(endpoint_url=endpoint)
for path in files:
    client.upload(path, f"s3://{bucket}/releases/")
key = "releases/" + files[-1].rsplit("/", 1)[1]
print(json.dumps([client.rehydrate_for_download(Bucket=bucket, Key=key, ExpiresIn=s) for s in (0, 3600)]))
"""


def _releases(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "releases"
    folder.mkdir()
    return release_zips(folder, "app", 2, size=80_000)


def _run(original: OriginalDeltaGlider, args: list[str], cache: Path, endpoint: str) -> str:
    cache.mkdir(parents=True, exist_ok=True)
    # Run from the cache folder: ``python -c`` puts its working folder first on sys.path, and from a
    # checkout of ours that would import our deltaglider instead of the original's.
    done = subprocess.run(
        args,
        env=original.env(cache, endpoint),
        cwd=cache,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def test_the_original_finds_our_expired_copies(moto_server: MotoServer, bucket: str, tmp_path: Path) -> None:
    original = install_original("6.2.0")
    client = create_client(
        endpoint_url=moto_server.url, cache_dir=str(tmp_path / "ours"), log_level="WARNING"
    )
    for release in _releases(tmp_path):
        client.upload(release, f"s3://{bucket}/releases/")
    expired = client.rehydrate_for_download(Bucket=bucket, Key="releases/app-1.1.zip", ExpiresIn=0)
    live = client.rehydrate_for_download(Bucket=bucket, Key="releases/app-1.1.zip", ExpiresIn=3600)
    assert expired is not None and live is not None

    command = [str(original.cli), "purge", bucket, "--dry-run", "--json", "--endpoint-url", moto_server.url]
    preview = json.loads(_run(original, command, tmp_path / "theirs", moto_server.url))
    assert [found["key"] for found in preview["expired_files"]] == [expired]


def test_we_purge_the_copies_the_original_made(moto_server: MotoServer, bucket: str, tmp_path: Path) -> None:
    original = install_original("6.2.0")
    cache = tmp_path / "theirs"
    releases = [str(release) for release in _releases(tmp_path)]
    script = [str(original.venv / "bin" / "python"), "-c", _UPLOAD_AND_REHYDRATE, bucket, moto_server.url]
    printed = _run(original, [*script, *releases], cache, moto_server.url)
    expired, live = json.loads(printed.strip().splitlines()[-1])
    assert expired.startswith(TMP) and live.startswith(TMP)

    client = create_client(
        endpoint_url=moto_server.url, cache_dir=str(tmp_path / "ours"), log_level="WARNING"
    )
    result = client.purge_temp_files(Bucket=bucket)
    assert (result["deleted_count"], result["error_count"]) == (1, 0)
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server.url)
    left = {obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket, Prefix=TMP).get("Contents", [])}
    assert left == {live}
