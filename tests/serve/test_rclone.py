"""rclone (Debian's package) with an S3 remote pointing at the server: ``copy`` up and down, ``ls``,
``check`` (by size and by content), and what it uploaded stored as deltas."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import ACCESS_KEY, BUCKET, SECRET_KEY, Served
from .test_s3_boto3 import family, stored_files

RCLONE = shutil.which("rclone")
pytestmark = pytest.mark.skipif(RCLONE is None, reason="rclone is not installed (apt-get install rclone)")


def rclone(served: Served, tmp_path: Path, *args: str) -> str:
    assert RCLONE is not None
    # The AWS SDK inside rclone reads AWS_* variables (a CA bundle, a profile): none of them apply.
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
        "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
        "RCLONE_CONFIG_DG_TYPE": "s3",
        "RCLONE_CONFIG_DG_PROVIDER": "Other",
        "RCLONE_CONFIG_DG_ACCESS_KEY_ID": ACCESS_KEY,
        "RCLONE_CONFIG_DG_SECRET_ACCESS_KEY": SECRET_KEY,
        "RCLONE_CONFIG_DG_ENDPOINT": served.url,
        "RCLONE_CONFIG_DG_REGION": "us-east-1",
        "RCLONE_CONFIG_DG_FORCE_PATH_STYLE": "true",
    }
    done = subprocess.run([RCLONE, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_copy_ls_check(served: Served, s3: Any, tmp_path: Path) -> None:
    files = family(9, 300_000, 3)
    source = tmp_path / "src"
    source.mkdir()
    for number, data in enumerate(files, 1):
        (source / f"pkg-{number}.iso").write_bytes(data)
    rclone(served, tmp_path, "copy", str(source), f"dg:{BUCKET}/rc")
    assert {"pkg-2.iso.delta", "pkg-3.iso.delta"} <= stored_files(served.root, BUCKET, "rc")
    listed = rclone(served, tmp_path, "ls", f"dg:{BUCKET}/rc")
    assert sorted(line.split() for line in listed.splitlines()) == [
        [str(len(data)), f"pkg-{number}.iso"] for number, data in enumerate(files, 1)
    ]
    rclone(served, tmp_path, "check", str(source), f"dg:{BUCKET}/rc")
    rclone(served, tmp_path, "check", "--download", str(source), f"dg:{BUCKET}/rc")
    back = tmp_path / "back"
    rclone(served, tmp_path, "copy", f"dg:{BUCKET}/rc", str(back))
    assert {p.name: p.read_bytes() for p in back.iterdir()} == {
        p.name: p.read_bytes() for p in source.iterdir()
    }
