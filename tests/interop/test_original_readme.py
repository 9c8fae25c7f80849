"""The original DeltaGlider 6.2.0's README examples run unchanged against ours (issue 21).

The README is read from the original's own installed package (its ``METADATA``), not copied here, so
the test follows whatever the release says. Each Python example runs in a process of its own with this
package's interpreter, in a folder holding the files it names, against moto's server reached the way
the original's users reach MinIO (``AWS_ENDPOINT_URL``). The one change made to an example: the
backup example's MinIO address becomes the test server's. The CLI examples of "Basic Usage" and "All
Commands" run as written, each line as a command of ours.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from support.artifacts import release_zips
from support.moto_server import MotoServer
from support.original import install_original

pytestmark = pytest.mark.interop

_BUCKETS = (
    "releases",
    "my-releases",
    "my-regional-bucket",
    "my-old-bucket",
    "backups",
    "my-bucket",
    "bucket",
    "old-bucket",
    "new-bucket",
    "new",
    "backup",
)


def _readme() -> str:
    venv = install_original("6.2.0").venv
    found = sorted(venv.glob("lib/python*/site-packages/deltaglider-6.2.0.dist-info/METADATA"))
    assert found, f"the original's METADATA is not in {venv}"
    return found[0].read_text(encoding="utf-8")


def _section(readme: str, heading: str) -> str:
    """The text under a Markdown heading, to the next heading of any level (a ``#`` inside a fenced
    block is a comment of the example, not a heading)."""
    lines: list[str] | None = None
    fenced = False
    for line in readme.splitlines(keepends=True):
        is_heading = not fenced and re.match(r"#+ ", line) is not None
        if line.startswith("```"):
            fenced = not fenced
        if lines is not None:
            if is_heading:
                break
            lines.append(line)
        elif is_heading and line.lstrip("#").strip() == heading:
            lines = []
    assert lines is not None, f"no section {heading!r} in the original's README"
    return "".join(lines)


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


@pytest.fixture
def fresh_buckets(moto_server: MotoServer) -> boto3.client:
    """The README's bucket names, empty (other examples may have filled them)."""
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server.url)
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for name in _BUCKETS:
        if name in existing:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for obj in page.get("Contents", []):
                    s3.delete_object(Bucket=name, Key=obj["Key"])
            s3.delete_bucket(Bucket=name)
    for name in ("releases", "my-old-bucket", "backups", "my-bucket"):
        s3.create_bucket(Bucket=name)
    return s3


def _env(moto_server: MotoServer, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_server.url,
        "DG_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }


def _run_python(code: str, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"the example failed:\n{code}\n--- stderr:\n{done.stderr}"
    return done.stdout


def _releases(cwd: Path, names: list[str]) -> dict[str, Path]:
    """Similar zips under the README's names (the first is the base of the rest)."""
    cwd.mkdir(parents=True, exist_ok=True)
    made = release_zips(cwd, "made", len(names), size=300_000)
    files = {}
    for name, path in zip(names, made, strict=True):
        target = cwd / name
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
        files[name] = target
    return files


def test_boto3_compatible_example(
    moto_server: MotoServer, fresh_buckets: boto3.client, tmp_path: Path
) -> None:
    (code,) = _blocks(_section(_readme(), "boto3-Compatible API (Recommended)"), "python")
    files = _releases(tmp_path, ["my-app-v1.9.0.zip", "my-app-v2.0.0.zip"])
    fresh_buckets.put_object(Bucket="releases", Key="old-version.zip", Body=b"old")
    out = _run_python(code, tmp_path, _env(moto_server, tmp_path))
    assert "Stored with ETag: " in out
    assert (tmp_path / "downloaded.zip").read_bytes() == files["my-app-v2.0.0.zip"].read_bytes()
    # The listing gives the file's size, not what is stored for it.
    assert f"v2.0.0/my-app.zip: {files['my-app-v2.0.0.zip'].stat().st_size} bytes" in out
    keys = {o["Key"] for o in fresh_buckets.list_objects_v2(Bucket="releases").get("Contents", [])}
    assert "old-version.zip" not in keys


def test_bucket_management_example(
    moto_server: MotoServer, fresh_buckets: boto3.client, tmp_path: Path
) -> None:
    (code,) = _blocks(_section(_readme(), "Bucket Management"), "python")
    out = _run_python(code, tmp_path, _env(moto_server, tmp_path))
    names = {b["Name"] for b in fresh_buckets.list_buckets()["Buckets"]}
    assert {"my-releases", "my-regional-bucket"} <= names
    assert "my-old-bucket" not in names
    assert re.search(r"^my-releases - \d{4}-\d\d-\d\d", out, re.M)


def test_simple_api_example(moto_server: MotoServer, fresh_buckets: boto3.client, tmp_path: Path) -> None:
    (code,) = _blocks(_section(_readme(), "Simple API (Alternative)"), "python")
    files = _releases(tmp_path, ["my-app-v2.0.0.zip"])
    out = _run_python(code, tmp_path, _env(moto_server, tmp_path))
    assert re.search(r"Compressed from [\d.]+MB to [\d.]+MB", out)
    assert (tmp_path / "local-app.zip").read_bytes() == files["my-app-v2.0.0.zip"].read_bytes()


def test_release_storage_example(
    moto_server: MotoServer, fresh_buckets: boto3.client, tmp_path: Path
) -> None:
    (code,) = _blocks(_section(_readme(), "Software Release Storage"), "python")
    versions = ["v1.0.0", "v1.0.1", "v1.0.2", "v1.1.0"]
    files = _releases(tmp_path, [f"dist/my-app-{v}.zip" for v in versions])
    out = _run_python(code, tmp_path, _env(moto_server, tmp_path))
    assert len(re.findall(r"^v1\.\d\.\d: Stored as ", out, re.M)) == len(versions)
    # What a boto3 user of ours would do next: read each one back through us.
    check = (
        "from deltaglider import create_client\n"
        "c = create_client()\n"
        "import sys\n"
        "for k in sys.argv[1:]:\n"
        "    r = c.get_object(Bucket='releases', Key=k)\n"
        "    sys.stdout.buffer.write(r['Body'].read())\n"
    )
    for version in versions:
        key = f"{version}/my-app-{version}.zip"
        done = subprocess.run(
            [sys.executable, "-c", check, key],
            cwd=tmp_path,
            env=_env(moto_server, tmp_path),
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout == files[f"dist/my-app-{version}.zip"].read_bytes()


def test_database_backup_example(
    moto_server: MotoServer, fresh_buckets: boto3.client, tmp_path: Path
) -> None:
    (code,) = _blocks(_section(_readme(), "Automated Database Backup"), "python")
    assert "http://minio.internal:9000" in code
    code = code.replace("http://minio.internal:9000", moto_server.url)
    today = datetime.datetime.now()
    for day in (today, today + datetime.timedelta(days=1)):  # the example reads the clock itself
        (tmp_path / f"backup-{day:%Y%m%d}.sql.gz").write_bytes(os.urandom(50_000))
    out = _run_python(code, tmp_path, _env(moto_server, tmp_path))
    assert re.search(r"Backup stored: [\d.]+MB \(compressed from [\d.]+MB\)", out)
    stored = [o["Key"] for o in fresh_buckets.list_objects_v2(Bucket="backups").get("Contents", [])]
    assert any(k.startswith("postgres/") for k in stored)


def _cli_lines(readme: str, heading: str) -> list[str]:
    lines = []
    for block in _blocks(_section(readme, heading), "bash"):
        for raw in block.splitlines():
            line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
            if line.startswith("deltaglider "):
                lines.append(line)
    return lines


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deltaglider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("heading", "at_least"),
    [
        ("Basic Usage", 5),
        # About thirty commands, each a process of its own: the long run takes them all.
        pytest.param("All Commands", 20, marks=pytest.mark.slow),
    ],
)
def test_cli_examples(
    moto_server: MotoServer, fresh_buckets: boto3.client, tmp_path: Path, heading: str, at_least: int
) -> None:
    lines = _cli_lines(_readme(), heading)
    assert len(lines) >= at_least
    _releases(tmp_path, ["my-app-v1.0.0.zip", "file.zip"])
    for folder in ("dist", "local-dir", "src"):
        _releases(tmp_path / folder, ["app-1.0.zip", "app-1.1.zip"])
        (tmp_path / folder / "debug.log").write_text("log\n")
    for name in ("old-bucket", "new-bucket", "new", "backup", "bucket"):
        fresh_buckets.create_bucket(Bucket=name)
    fresh_buckets.put_object(Bucket="old-bucket", Key="a/one.zip", Body=b"one")
    fresh_buckets.put_object(Bucket="releases", Key="old-version.zip", Body=b"old")
    fresh_buckets.put_object(Bucket="releases", Key="test.zip", Body=b"test")
    env = _env(moto_server, tmp_path)
    # "verify s3://releases/file.zip" needs a file stored there by us first.
    _cli(["cp", "file.zip", "s3://releases/"], tmp_path, env).check_returncode()
    failures = []
    for line in lines:
        argv = shlex.split(line)
        if "--endpoint-url" in argv:
            argv[argv.index("--endpoint-url") + 1] = moto_server.url
        if argv[1] == "migrate" and "--yes" not in argv and "--dry-run" not in argv:
            argv.append("--yes")  # the interactive form asks first; a test cannot answer
        done = _cli(argv[1:], tmp_path, env)
        if done.returncode != 0:
            failures.append(f"{line}\n  exit {done.returncode}: {done.stderr.strip()[-400:]}")
    assert not failures, "\n".join(failures)
    assert (tmp_path / "downloaded.zip").read_bytes() == (tmp_path / "my-app-v1.0.0.zip").read_bytes()
