from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import deltaglider
from deltaglider import config
from deltaglider.client import UploadSummary
from deltaglider.errors import InvalidURLError, MetadataError, NotFoundError
from deltaglider.factory import create_client


def test_upload_summary_properties() -> None:
    s = UploadSummary("PUT_DELTA", "b", "k.delta", 4 * 1024 * 1024, 1024 * 1024, True, 0.25)
    assert s.original_size_mb == 4.0
    assert s.stored_size_mb == 1.0
    assert s.savings_percent == 75.0
    assert UploadSummary("PUT", "b", "k", 0, 0, False).savings_percent == 0.0


def test_importing_deltaglider_is_cheap() -> None:
    code = (
        "import sys, deltaglider\n"
        "heavy = ('boto3', 'botocore', 'deltaglider.client', 'deltaglider._xdelta3')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "deltaglider.create_client\n"
        "assert 'deltaglider.client' in sys.modules and 'boto3' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": ""})


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("DG_LOG_LEVEL", "DG_CACHE_DIR", "DG_MAX_RATIO", "DG_CACHE_BACKEND", "DG_CACHE_MAX_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DG_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch


def test_settings_resolve_argument_then_env_then_default() -> None:
    env = {"DG_MAX_RATIO": "0.3", "DG_LOG_LEVEL": "debug", "DG_CACHE_DIR": "/x", "DG_CACHE_MAX_BYTES": "10MB"}
    assert config.resolve(env={}).max_ratio == 0.5
    assert config.resolve(env={}).cache_dir == "/tmp/.deltaglider/cache"
    from_env = config.resolve(env=env)
    assert (from_env.max_ratio, from_env.log_level, from_env.cache_dir, from_env.cache_max_bytes) == (
        0.3,
        "DEBUG",
        "/x",
        10 << 20,
    )
    given = config.resolve(max_ratio=0.2, log_level="ERROR", cache_dir="/y", cache_max_bytes=5, env=env)
    assert (given.max_ratio, given.log_level, given.cache_dir, given.cache_max_bytes) == (
        0.2,
        "ERROR",
        "/y",
        5,
    )
    assert config.resolve(max_ratio=0.0, env=env).max_ratio == 0.0  # 0 is a value, not "unset"


@pytest.mark.parametrize(
    "env",
    [{"DG_MAX_RATIO": "lots"}, {"DG_MAX_RATIO": "2"}, {"DG_LOG_LEVEL": "LOUD"}, {"DG_CACHE_BACKEND": "s3"}],
)
def test_bad_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        config.resolve(env=env)


def test_upload_max_ratio_resolves_call_then_client_then_env(
    clean_env: pytest.MonkeyPatch, releases: list[Path], tmp_path: Path
) -> None:
    store = f"{tmp_path}/store/"
    clean_env.setenv("DG_MAX_RATIO", "0.0")
    from_env = create_client()
    # The environment's 0.0 turns deltas off: stored whole, and no reference is started.
    assert from_env.upload(releases[0], store).key.endswith("/app-1.0.zip")
    assert from_env.upload(releases[1], store, max_ratio=0.5).key.endswith("/reference.bin")  # call wins
    client = create_client(max_ratio=0.5)  # the client beats the environment
    assert client.upload(releases[2], store).operation == "PUT_DELTA"
    assert client.upload(releases[3], store, max_ratio=0.0).operation == "PUT"


def test_log_level_and_cache_dir_resolution(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import logging

    clean_env.setenv("DG_LOG_LEVEL", "ERROR")
    create_client()
    assert logging.getLogger("deltaglider").level == logging.ERROR
    create_client(log_level="DEBUG")
    assert logging.getLogger("deltaglider").level == logging.DEBUG
    create_client(cache_dir=str(tmp_path / "mine"))
    assert (tmp_path / "mine").is_dir()
    assert (tmp_path / "cache").is_dir()  # from DG_CACHE_DIR, made by the first clients
    logging.getLogger("deltaglider").setLevel(logging.NOTSET)


def test_client_routes_local_paths_and_names(
    clean_env: pytest.MonkeyPatch, releases: list[Path], tmp_path: Path
) -> None:
    client = create_client()
    store = tmp_path / "store"
    client.upload(releases[0], f"{store}/")
    renamed = client.upload(releases[1], f"file://{store}", name="renamed.zip")
    # One model: the first component of the path plays the bucket, the rest is the key.
    bucket, _, rest = str(store).strip("/").partition("/")
    assert (renamed.bucket, renamed.key) == (bucket, f"{rest}/renamed.zip.delta")
    out = tmp_path / "out.zip"
    client.download(f"{store}/renamed.zip", out)
    assert out.read_bytes() == releases[1].read_bytes()
    assert client.verify(str(store / "renamed.zip"))
    assert sorted(e.name for e in client.list(str(store))) == ["app-1.0.zip", "renamed.zip"]
    assert client.stats(f"file://{store}").file_count == 2
    with pytest.raises(InvalidURLError, match="missing the object key"):
        client.download(f"{store}/", out)
    with pytest.raises(NotFoundError):
        client.download(f"{store}/nope.zip", out)


def test_s3_urls_can_be_served_from_a_folder(
    clean_env: pytest.MonkeyPatch, releases: list[Path], tmp_path: Path
) -> None:
    client = create_client(endpoint_url=f"file://{tmp_path}/root")
    client.upload(releases[0], "s3://bucket/a/b/")
    client.upload(releases[1], "s3://bucket/a/b/")
    assert (tmp_path / "root/bucket/a/b/reference.bin").is_file()
    assert (tmp_path / "root/bucket/a/b/app-1.1.zip.delta").is_file()
    out = tmp_path / "o.zip"
    client.download("s3://bucket/a/b/app-1.1.zip", out)
    assert out.read_bytes() == releases[1].read_bytes()


def test_upload_refuses_bad_destinations(clean_env: pytest.MonkeyPatch, releases: list[Path]) -> None:
    client = create_client(endpoint_url="file:///nonexistent-root")
    for url in ("s3://b/../x/", "s3://b/a//c/", "s3://b/./"):
        with pytest.raises(InvalidURLError):
            client.upload(releases[0], url)
    with pytest.raises(MetadataError, match="tags take letters"):
        client.upload(releases[0], "s3://b/x/", tags={"a": "b;c"})
    with pytest.raises(MetadataError, match="reserved"):
        client.upload(releases[0], "s3://b/x/", tags={"dg-kind": "reference"})
    with pytest.raises(MetadataError, match="at most 9 tags"):
        client.upload(releases[0], "s3://b/x/", tags={f"t{i}": "v" for i in range(10)})


def test_nothing_is_left_unimplemented() -> None:
    """The spec's placeholders (tags, lifecycle_policy) are real: no code path raises
    NotImplementedError any more."""
    package = Path(deltaglider.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "NotImplementedError" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_unknown_options_are_refused(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError, match="max_ration"):
        create_client(max_ration=0.3)
