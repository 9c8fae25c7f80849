"""The real ``aws`` CLI (awscli v1) against ``deltaglider serve`` started as a command: ``cp`` up and
down (one file past the multipart threshold), ``ls``, ``sync``, ``rm``, every byte compared, and the
uploads stored as deltas in the folder store."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import deltaglider

from .conftest import ACCESS_KEY, BUCKET, SECRET_KEY
from .test_s3_boto3 import MIB, family, stored_files

AWS = shutil.which("aws", path=os.path.dirname(sys.executable)) or shutil.which("aws")
pytestmark = pytest.mark.skipif(
    AWS is None, reason="the awscli package is not installed (pip install awscli)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``deltaglider serve FOLDER`` in a subprocess, as a user starts it."""
    root = tmp_path_factory.mktemp("aws-store")
    (root / BUCKET).mkdir()
    port = _free_port()
    env = {**os.environ, "DG_SERVE_ACCESS_KEY": ACCESS_KEY, "DG_SERVE_SECRET_KEY": SECRET_KEY}
    # The deltaglider this test imported (the checkout, or the installed wheel in CI), never the
    # sdist's source tree beside the tests, which has no compiled codec.
    package_root = Path(deltaglider.__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(package_root), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "deltaglider", "serve", str(root), "--port", str(port), "-q"], env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("deltaglider serve did not start") from None
                time.sleep(0.1)
        yield url, root
    finally:
        process.terminate()
        process.wait(20)


@pytest.fixture(scope="module")
def aws_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("aws-config")
    config = folder / "config"
    # What `aws configure set default.s3.multipart_threshold 5MB` (and _chunksize) writes, written
    # directly: each `aws` start costs most of a second.
    config.write_text(
        "[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"
        "    multipart_threshold = 5MB\n    multipart_chunksize = 5MB\n"
    )
    env = {
        **os.environ,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "credentials"),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    return env


def aws(env: dict[str, str], url: str, *args: str) -> str:
    done = subprocess.run(
        [AWS, "--endpoint-url", url, "s3", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cp_up_and_down_and_ls(server_url: tuple[str, Path], aws_env: dict[str, str], tmp_path: Path) -> None:
    url, root = server_url
    files = family(5, 300_000, 2)
    (tmp_path / "up").mkdir()
    for number, data in enumerate(files, 1):
        (tmp_path / "up" / f"lib-{number}.iso").write_bytes(data)
    aws(aws_env, url, "cp", "--recursive", str(tmp_path / "up"), f"s3://{BUCKET}/quick/")
    assert "lib-2.iso.delta" in stored_files(root, BUCKET, "quick")
    listed = aws(aws_env, url, "ls", f"s3://{BUCKET}/quick/")
    assert sorted(line.split()[-1] for line in listed.splitlines()) == ["lib-1.iso", "lib-2.iso"]
    aws(aws_env, url, "cp", f"s3://{BUCKET}/quick/lib-2.iso", str(tmp_path / "back.iso"))
    assert (tmp_path / "back.iso").read_bytes() == files[1]


@pytest.mark.slow
def test_cp_up_and_down_ls_sync_rm(
    server_url: tuple[str, Path], aws_env: dict[str, str], tmp_path: Path
) -> None:
    url, root = server_url
    small = family(3, 300_000, 2)
    big = family(4, 12 * MIB, 2)
    up = tmp_path / "up"
    up.mkdir()
    for number in (1, 2):
        (up / f"tool-{number}.iso").write_bytes(small[number - 1])
        (up / f"big-{number}.iso").write_bytes(big[number - 1])
    for name in ("tool-1.iso", "tool-2.iso", "big-1.iso", "big-2.iso"):
        aws(aws_env, url, "cp", str(up / name), f"s3://{BUCKET}/cp/{name}")
    on_disk = stored_files(root, BUCKET, "cp")
    assert {"tool-2.iso.delta", "big-2.iso.delta", "reference.bin"} <= on_disk
    assert not {"tool-2.iso", "big-2.iso"} & on_disk

    listed = aws(aws_env, url, "ls", f"s3://{BUCKET}/cp/")
    sizes = {line.split()[-1]: int(line.split()[-2]) for line in listed.splitlines()}
    assert sizes == {
        "big-1.iso": len(big[0]),
        "big-2.iso": len(big[1]),
        "tool-1.iso": 300_000,
        "tool-2.iso": 300_000,
    }

    down = tmp_path / "down"
    aws(aws_env, url, "cp", f"s3://{BUCKET}/cp/big-2.iso", str(down / "big-2.iso"))
    assert (down / "big-2.iso").read_bytes() == big[1]

    mirror = tmp_path / "mirror"
    aws(aws_env, url, "sync", f"s3://{BUCKET}/cp/", str(mirror))
    assert {p.name: p.read_bytes() for p in mirror.iterdir()} == {
        p.name: p.read_bytes() for p in up.iterdir()
    }

    (up / "tool-3.iso").write_bytes(small[1][:1000] + b"new" + small[1][1003:])
    aws(aws_env, url, "sync", str(up), f"s3://{BUCKET}/synced/")
    assert {"tool-3.iso.delta"} <= stored_files(root, BUCKET, "synced")
    back = tmp_path / "back"
    aws(aws_env, url, "sync", f"s3://{BUCKET}/synced/", str(back))
    assert (back / "tool-3.iso").read_bytes() == (up / "tool-3.iso").read_bytes()

    aws(aws_env, url, "rm", f"s3://{BUCKET}/cp/tool-2.iso")
    aws(aws_env, url, "rm", "--recursive", f"s3://{BUCKET}/synced/")
    left = aws(aws_env, url, "ls", "--recursive", f"s3://{BUCKET}/cp/")
    names = sorted(line.split()[-1] for line in left.splitlines())
    assert names == ["cp/big-1.iso", "cp/big-2.iso", "cp/tool-1.iso"]
