"""What real deployments need from the client: S3-compatible stores (checksums only where required,
path-style addressing, AWS_ENDPOINT_URL), a session/config/profile of the caller's, encryption,
storage classes, Content-Type and user metadata passed through, read back from moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from support.artifacts import release_zips
from support.s3_backend import REGION, S3Backend

from deltaglider import DeltaGliderClient, create_client
from deltaglider.errors import MetadataError, StorageError
from deltaglider.factory import S3Options


def _client(s3: S3Backend, tmp_path: Path, **options: Any) -> DeltaGliderClient:
    return create_client(
        endpoint_url=s3.endpoint_url, cache_dir=str(tmp_path / "cache"), log_level="WARNING", **options
    )


def _releases(tmp_path: Path, count: int) -> list[Path]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    return release_zips(src, "app", count, size=200_000)


def _record_requests(session: boto3.session.Session) -> list[tuple[str, str, dict[str, str]]]:
    """(operation, url, headers) of every request sent by clients of ``session``."""
    sent: list[tuple[str, str, dict[str, str]]] = []

    def record(request: Any, event_name: str, **_: Any) -> None:
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        sent.append((event_name.rsplit(".", 1)[-1], request.url, headers))

    session.events.register("before-send.s3", record)
    return sent


def _head(s3: S3Backend, bucket: str, key: str) -> dict[str, Any]:
    head: dict[str, Any] = s3.client.head_object(Bucket=bucket, Key=key)
    return head


def _tags(s3: S3Backend, bucket: str, key: str) -> dict[str, str]:
    tag_set = s3.client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


# -- the S3 client -------------------------------------------------------------------------------


def test_default_client_sends_checksums_only_where_required(
    s3: S3Backend, bucket: str, tmp_path: Path
) -> None:
    """boto3 >= 1.36 would put a CRC32 in an aws-chunked trailer on every upload, which Hetzner, R2
    and others refuse; our client sends Content-MD5, which every store verifies, and nothing else."""
    session = boto3.session.Session(region_name=REGION)
    sent = _record_requests(session)
    client = _client(s3, tmp_path, session=session)
    for path in _releases(tmp_path, 2):
        client.upload(path, f"s3://{bucket}/app/")

    puts = [headers for operation, _, headers in sent if operation == "PutObject"]
    assert len(puts) >= 3  # reference, zero-diff delta, delta
    for headers in puts:
        assert "content-md5" in headers
        assert not any(name.startswith("x-amz-checksum") for name in headers), headers
        assert "x-amz-trailer" not in headers
        assert "aws-chunked" not in headers.get("content-encoding", "")


def test_endpoint_from_aws_endpoint_url(
    s3: S3Backend, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if s3.server is None:
        pytest.skip("needs a real endpoint")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.server.url)
    src = _releases(tmp_path, 1)[0]

    create_client(cache_dir=str(tmp_path / "cache")).upload(src, f"s3://{bucket}/app/")

    assert s3.client.head_object(Bucket=bucket, Key="app/reference.bin")["ContentLength"] > 0


def test_path_style_addressing(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    if s3.server is None:
        pytest.skip("needs a real endpoint")
    session = boto3.session.Session(region_name=REGION)
    sent = _record_requests(session)
    src = _releases(tmp_path, 1)[0]

    _client(s3, tmp_path, session=session, addressing_style="path").upload(src, f"s3://{bucket}/app/")

    assert sent
    assert all(url.startswith(f"{s3.server.url}/{bucket}") for _, url, _ in sent), sent


def test_botocore_config_layers() -> None:
    """Our defaults, under the caller's Config, under the explicit options."""
    theirs = Config(
        retries={"total_max_attempts": 9, "mode": "adaptive"}, read_timeout=7, user_agent_extra="x"
    )
    config = S3Options(boto_config=theirs, max_attempts=3, connect_timeout=2, addressing_style="path")
    built = config.botocore_config()

    assert built.request_checksum_calculation == "when_required"
    assert built.response_checksum_validation == "when_required"
    assert built.retries == {"total_max_attempts": 3, "mode": "standard"}
    assert (built.connect_timeout, built.read_timeout) == (2, 7)
    assert built.user_agent_extra == "x"
    assert built.s3 == {"addressing_style": "path"}
    # The caller may still choose botocore's default checksum behaviour.
    assert (
        S3Options(boto_config=Config(request_checksum_calculation="when_supported"))
        .botocore_config()
        .request_checksum_calculation
        == "when_supported"
    )


def test_profile_and_region(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = tmp_path / "aws-config"
    config_file.write_text(
        "[profile other]\nregion = eu-central-1\naws_access_key_id = AKIAOTHER\naws_secret_access_key = s\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name)

    from_profile = S3Options(profile="other").client(None)
    assert from_profile.meta.region_name == "eu-central-1"
    assert from_profile._request_signer._credentials.access_key == "AKIAOTHER"
    assert S3Options(profile="other", region="ap-south-1").client(None).meta.region_name == "ap-south-1"
    ready = boto3.client("s3", region_name="us-west-2")
    assert S3Options(s3_client=ready).client(None) is ready


def test_an_unknown_profile_is_a_storage_error_on_first_use(tmp_path: Path) -> None:
    client = create_client(profile="dg-no-such-profile", cache_dir=str(tmp_path / "cache"))
    with pytest.raises(StorageError, match="dg-no-such-profile"):
        client.download("s3://bucket/app/x.zip", tmp_path / "x.zip")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"s3_client": object(), "profile": "p"}, TypeError),
        ({"session": object(), "profile": "p"}, TypeError),
        ({"addressing_style": "sideways"}, ValueError),
        ({"max_attempts": 0}, ValueError),
        ({"read_timeout": -1}, ValueError),
        ({"checksum": "md6"}, ValueError),
        ({"sse": "rot13"}, ValueError),
        ({"sse_kms_key_id": "k"}, ValueError),
        ({"metadata": {"dg-file-sha256": "x"}}, MetadataError),
        ({"tags": {"dg-kind": "reference"}}, MetadataError),
    ],
)
def test_bad_options_are_refused_when_the_client_is_built(
    options: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        create_client(**options)


# -- what every object gets ------------------------------------------------------------------------


def test_server_side_encryption(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    client = _client(s3, tmp_path, sse="aws:kms", sse_kms_key_id="alias/dg-test")
    for path in _releases(tmp_path, 2):
        client.upload(path, f"s3://{bucket}/app/")

    for key in ("app/reference.bin", "app/app-1.0.zip.delta", "app/app-1.1.zip.delta"):
        head = _head(s3, bucket, key)
        assert head["ServerSideEncryption"] == "aws:kms", key
        assert head["SSEKMSKeyId"].endswith("alias/dg-test"), key

    aes = _client(s3, tmp_path, sse="AES256")
    aes.upload(tmp_path / "src" / "app-1.0.zip", f"s3://{bucket}/aes/")
    assert _head(s3, bucket, "aes/reference.bin")["ServerSideEncryption"] == "AES256"


@pytest.mark.parametrize(
    ("wanted", "reference_class"), [("GLACIER", "STANDARD"), ("STANDARD_IA", "STANDARD_IA")]
)
def test_storage_class_never_archives_a_reference(
    s3: S3Backend, bucket: str, tmp_path: Path, wanted: str, reference_class: str
) -> None:
    client = _client(s3, tmp_path, storage_class=wanted)
    for path in _releases(tmp_path, 2):
        client.upload(path, f"s3://{bucket}/app/")
    (tmp_path / "notes.txt").write_text("stored whole\n")
    client.upload(tmp_path / "notes.txt", f"s3://{bucket}/app/")

    assert _head(s3, bucket, "app/reference.bin").get("StorageClass", "STANDARD") == reference_class
    for key in ("app/app-1.0.zip.delta", "app/app-1.1.zip.delta", "app/notes.txt"):
        assert _head(s3, bucket, key)["StorageClass"] == wanted, key


def test_per_upload_storage_class(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("cold\n")
    _client(s3, tmp_path).upload(tmp_path / "notes.txt", f"s3://{bucket}/x/", storage_class="deep_archive")
    assert _head(s3, bucket, "x/notes.txt")["StorageClass"] == "DEEP_ARCHIVE"


def test_content_type(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    client = _client(s3, tmp_path)
    zips = _releases(tmp_path, 2)
    for path in zips:
        client.upload(path, f"s3://{bucket}/app/")
    (tmp_path / "notes.txt").write_text("whole\n")
    (tmp_path / "data.bin").write_bytes(b"\x00" * 10)
    client.upload(tmp_path / "notes.txt", f"s3://{bucket}/app/")
    client.upload(tmp_path / "data.bin", f"s3://{bucket}/app/", content_type="application/x-custom")

    assert _head(s3, bucket, "app/notes.txt")["ContentType"] == "text/plain"
    assert _head(s3, bucket, "app/data.bin")["ContentType"] == "application/x-custom"
    # A delta's bytes are not the file's type; neither are the reference's anyone's in particular.
    for key in ("app/reference.bin", "app/app-1.0.zip.delta", "app/app-1.1.zip.delta"):
        assert _head(s3, bucket, key)["ContentType"] == "application/octet-stream", key


def test_user_metadata_beside_ours(s3: S3Backend, bucket: str, tmp_path: Path) -> None:
    client = _client(s3, tmp_path, metadata={"team": "core"})
    first, second = _releases(tmp_path, 2)
    client.upload(first, f"s3://{bucket}/app/")
    client.upload(second, f"s3://{bucket}/app/", metadata={"Build": "42", "Owner": "café"})

    meta = _head(s3, bucket, "app/app-1.1.zip.delta")["Metadata"]
    assert meta["team"] == "core"
    assert meta["build"] == "42"
    assert meta["owner"] == "=?UTF-8?B?Y2Fmw6k=?="  # non-ASCII travels RFC 2047-encoded
    assert meta["dg-file-sha256"]  # ours still there
    assert "build" not in _head(s3, bucket, "app/reference.bin")["Metadata"]
    assert "team" not in _head(s3, bucket, "app/reference.bin")["Metadata"]
    with pytest.raises(MetadataError, match="dg-"):
        client.upload(second, f"s3://{bucket}/app/", metadata={"DG-Tool": "mine"})
    # The original reads its fields bare too: a user's "note" would be taken for one of them.
    with pytest.raises(MetadataError, match="reserved"):
        client.upload(second, f"s3://{bucket}/app/", metadata={"Note": "mine"})
    # It all still reads back.
    client.download(f"s3://{bucket}/app/{second.name}", tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == second.read_bytes()
