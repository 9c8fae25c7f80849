"""Presigned links as the original DeltaGlider's users make them, each one fetched over HTTP from
moto's server: plain GET and PUT links, a presigned POST form, and links to delta-stored files
through a whole copy under ``.deltaglider/tmp/``."""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from support.artifacts import release_zips

from deltaglider import DeltaGliderClient
from deltaglider.errors import NotFoundError, StorageError

TMP = ".deltaglider/tmp/"


def _fetch(url: str) -> tuple[bytes, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read(), response.headers


def _copies(plain: Any, bucket: str) -> list[str]:
    listed = plain.list_objects_v2(Bucket=bucket, Prefix=TMP)
    return [obj["Key"] for obj in listed.get("Contents", [])]


def _multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body: the form's fields, then the file (S3 wants it last)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def releases(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "releases"
    folder.mkdir()
    return release_zips(folder, "app", 2, size=120_000)


@pytest.fixture
def stored(client: DeltaGliderClient, bucket: str, releases: list[Path]) -> list[Path]:
    """Two similar releases in ``releases/``: the second stored as a delta."""
    for release in releases:
        client.upload(release, f"s3://{bucket}/releases/")
    assert client.head(f"s3://{bucket}/releases/{releases[1].name}").is_delta
    return releases


def _query_names(url: str) -> set[str]:
    return set(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query))


def test_presigned_get_link_serves_the_object(client: DeltaGliderClient, bucket: str, plain: Any) -> None:
    plain.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"hello links")
    params = {"Bucket": bucket, "Key": "docs/readme.txt"}
    url = client.generate_presigned_url("get_object", Params=params)
    assert url.startswith(f"{plain.meta.endpoint_url}/{bucket}/docs/readme.txt?")  # the client's endpoint
    # Signed as boto3 signs it (the same scheme, so the same query parameters).
    assert _query_names(url) == _query_names(plain.generate_presigned_url("get_object", Params=params))
    assert _fetch(url)[0] == b"hello links"
    expires = int(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["Expires"][0])
    assert abs(expires - (time.time() + 3600)) < 60
    short = client.generate_presigned_url("get_object", Params=params, ExpiresIn=60)
    assert int(urllib.parse.parse_qs(urllib.parse.urlsplit(short).query)["Expires"][0]) < expires


def test_presigned_put_link_stores_what_is_sent(client: DeltaGliderClient, bucket: str, plain: Any) -> None:
    url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up/sent.bin"})
    # The Content-Type the link was signed with (none): urllib would send a form's otherwise.
    request = urllib.request.Request(
        url, data=b"sent through a link", method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    assert plain.get_object(Bucket=bucket, Key="up/sent.bin")["Body"].read() == b"sent through a link"


def test_presigned_post_form_uploads(client: DeltaGliderClient, bucket: str, plain: Any) -> None:
    form = client.generate_presigned_post(
        Bucket=bucket,
        Key="forms/upload.bin",
        Fields={"Content-Type": "application/octet-stream"},
        Conditions=[{"Content-Type": "application/octet-stream"}, ["content-length-range", 1, 1000]],
        ExpiresIn=600,
    )
    assert set(form) == {"url", "fields"}
    assert form["fields"]["key"] == "forms/upload.bin"
    body, content_type = _multipart(form["fields"], "upload.bin", b"posted from a form")
    request = urllib.request.Request(form["url"], data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status in (200, 204)
    assert plain.get_object(Bucket=bucket, Key="forms/upload.bin")["Body"].read() == b"posted from a form"


def test_link_with_rehydration_serves_a_delta_stored_file_whole(
    client: DeltaGliderClient, bucket: str, plain: Any, stored: list[Path]
) -> None:
    release = stored[1]
    key = f"releases/{release.name}"
    url = client.generate_presigned_url_with_rehydration(Bucket=bucket, Key=key, ExpiresIn=900)
    assert _fetch(url)[0] == release.read_bytes()
    # Saved under the file's name (S3 applies the override; moto ignores it, so it is read from the link).
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["response-content-disposition"] == [f'attachment; filename="{release.name}"']

    # The copy, in the original's layout and with its metadata.
    [copy] = _copies(plain, bucket)
    assert copy.startswith(TMP) and copy.endswith(f"_{release.name}")
    assert len(copy[len(TMP) :].split("_", 1)[0]) == 32
    head = plain.head_object(Bucket=bucket, Key=copy)
    assert head["ContentType"] == "application/zip"
    metadata = head["Metadata"]
    assert metadata["dg-original-key"] == key + ".delta"
    assert metadata["dg-original-filename"] == release.name
    assert metadata["dg-rehydrated"] == "true"
    assert {"dg-expires-at", "dg-created-at"} <= set(metadata)
    # A plain link to the stored name would not serve the file: that is what rehydration is for.
    delta = plain.get_object(Bucket=bucket, Key=key + ".delta")["Body"].read()
    assert delta != release.read_bytes()
    # Listings do not show the copy.
    assert [e.name for e in client.list(f"s3://{bucket}/", recursive=True)] == [
        f"releases/{r.name}" for r in stored
    ]


def test_link_with_rehydration_to_a_whole_file_is_the_file_itself(
    client: DeltaGliderClient, bucket: str, plain: Any, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("stored whole")
    client.upload(notes, f"s3://{bucket}/docs/")
    url = client.generate_presigned_url_with_rehydration(Bucket=bucket, Key="docs/notes.txt")
    assert f"/{bucket}/docs/notes.txt?" in url
    assert _fetch(url)[0] == b"stored whole"
    assert client.rehydrate_for_download(Bucket=bucket, Key="docs/notes.txt") is None
    assert _copies(plain, bucket) == []


def test_rehydrate_for_download_writes_a_copy(
    client: DeltaGliderClient, bucket: str, plain: Any, stored: list[Path]
) -> None:
    release = stored[1]
    # The stored name, .delta included, is accepted too (the original's docs show it).
    for key in (f"releases/{release.name}", f"releases/{release.name}.delta"):
        copy = client.rehydrate_for_download(Bucket=bucket, Key=key, ExpiresIn=60)
        assert copy is not None and copy.startswith(TMP)
        assert plain.get_object(Bucket=bucket, Key=copy)["Body"].read() == release.read_bytes()
        url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": copy})
        assert _fetch(url)[0] == release.read_bytes()
    with pytest.raises(NotFoundError):
        client.rehydrate_for_download(Bucket=bucket, Key="releases/missing.zip")


@pytest.mark.parametrize("expires_in", [-1, 1.5, True])
def test_a_bad_expiry_is_refused(client: DeltaGliderClient, bucket: str, expires_in: Any) -> None:
    with pytest.raises(ValueError, match="ExpiresIn"):
        client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=expires_in
        )
    with pytest.raises(ValueError, match="ExpiresIn"):
        client.rehydrate_for_download(Bucket=bucket, Key="k", ExpiresIn=expires_in)


def test_folder_store_refuses_links_before_writing_anything(
    folder_client: DeltaGliderClient, store_root: Path, releases: list[Path]
) -> None:
    folder_client.create_bucket(Bucket="alpha")
    for release in releases:
        folder_client.upload(release, "s3://alpha/releases/")
    with pytest.raises(StorageError, match="no HTTP endpoint"):
        folder_client.generate_presigned_url("get_object", Params={"Bucket": "alpha", "Key": "x"})
    with pytest.raises(StorageError, match="no HTTP endpoint"):
        folder_client.generate_presigned_post(Bucket="alpha", Key="x")
    with pytest.raises(StorageError, match="no HTTP endpoint"):
        folder_client.generate_presigned_url_with_rehydration(
            Bucket="alpha", Key=f"releases/{releases[1].name}"
        )
    assert not (store_root / "alpha" / ".deltaglider").exists()
    # A copy (without a link) can be made all the same: a file a local user reads directly.
    copy = folder_client.rehydrate_for_download(Bucket="alpha", Key=f"releases/{releases[1].name}")
    assert copy is not None
    assert (store_root / "alpha" / copy).read_bytes() == releases[1].read_bytes()
