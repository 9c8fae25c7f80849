"""Interop with the original DeltaGlider (PyPI ``deltaglider``), both ways, through moto's S3 server.

The original runs as its own ``deltaglider`` command from a venv the test installs once (see
``support/original.py``), with the stock ``xdelta3`` binary on PATH:

- it writes a bucket (a first file, similar releases, a file as large as its delta, a non-candidate
  ``.txt``, ``.tar.gz`` files made by ``tar -czf`` that its binary diffs through gzip, the bucket
  root) and we read every file back byte for byte: 6.2.0 through moto's server, and 5.2.0 (bare
  snake_case metadata) and 6.2.0 (``dg-`` keys) through moto in-process;
- we write the same kinds of files and 6.2.0 reads every one back byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from support.artifacts import release_zips, tar_gz, unrelated_file, wheel_like_zips
from support.moto_server import MotoServer
from support.original import install_original

from deltaglider import create_client

pytestmark = pytest.mark.interop


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _family(src: Path) -> dict[str, list[Path]]:
    """What a release bucket holds, by DeltaSpace prefix ("" is the bucket root)."""
    src.mkdir()
    app = release_zips(src, "app", 3)
    payload = app[0].read_bytes()
    return {
        "releases": [
            *app,  # first file (reference + zero-diff delta), then two deltas
            unrelated_file(src / "unrelated-9.0.zip"),  # a delta as large as the file
            _text(src / "notes.txt"),  # not a delta candidate: stored as is
            # gzip magic: the binary diffs the *decompressed* tar against a plain reference
            tar_gz(src, "bundle-1.0.tar.gz", {"app.zip": payload, "VERSION": b"1.0"}),
        ],
        # A DeltaSpace whose reference is itself gzip: every delta is decompressed on both sides.
        "bundles": [
            tar_gz(src, "data-1.0.tar.gz", {"app.zip": payload, "VERSION": b"1.0"}),
            tar_gz(src, "data-1.1.tar.gz", {"app.zip": app[1].read_bytes(), "VERSION": b"1.1"}),
        ],
        "": release_zips(src, "root", 2, seed=11),  # the bucket root: reference key "reference.bin"
    }


def _text(path: Path) -> Path:
    path.write_text("".join(f"release note {i}\n" for i in range(200)))
    return path


def _url(bucket: str, prefix: str, name: str = "") -> str:
    return f"s3://{bucket}/{prefix}/{name}" if prefix else f"s3://{bucket}/{name}"


def _metadata(server: MotoServer, bucket: str) -> dict[str, dict[str, str]]:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=server.url)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.head_object(Bucket=bucket, Key=key)["Metadata"] for key in keys}


#: Objects the original's layout must contain for ``_family``: proof that our reads below go through
#: its references and deltas, not around them.
_ORIGINAL_LAYOUT = [
    "releases/reference.bin",
    "releases/app-1.0.zip.delta",  # the zero-diff delta of the first file
    "releases/app-1.1.zip.delta",
    "releases/app-1.2.zip.delta",
    "releases/unrelated-9.0.zip.delta",  # it only warned past max_ratio
    "releases/bundle-1.0.tar.gz.delta",
    "releases/notes.txt",
    "bundles/reference.bin",
    "bundles/data-1.0.tar.gz.delta",
    "bundles/data-1.1.tar.gz.delta",
    "reference.bin",
    "root-1.1.zip.delta",
]


def _sha_key(version: str, key: str) -> str:
    """Where each generation put the SHA-256: 4.x-5.x bare snake_case everywhere; 6.0-6.1 ``dg-`` keys
    on references and deltas but still bare ones on whole files; 6.2 ``dg-`` keys everywhere."""
    if version.startswith(("4.", "5.")):
        return "file_sha256"
    if version.startswith(("6.0", "6.1")) and not key.endswith((".delta", "reference.bin")):
        return "file_sha256"
    return "dg-file-sha256"


def _check_layout(stored: dict[str, dict[str, str]], version: str) -> None:
    for key in _ORIGINAL_LAYOUT:
        assert key in stored, sorted(stored)
        assert _sha_key(version, key) in stored[key], (key, stored[key])


def _check_gzip_deltas(read: Callable[[str], bytes]) -> None:
    """The binary took its external-gzip path for the .tar.gz files (ident G in the VCDIFF app
    header), so reading them back exercises our rebuild of such deltas."""
    header = read("releases/bundle-1.0.tar.gz.delta")[:512]
    assert b"/G/" in header, header
    header = read("bundles/data-1.1.tar.gz.delta")[:512]
    assert header.count(b"/G") == 2, header  # source and target both gzip


def _read_back(client: Any, bucket: str, family: dict[str, list[Path]], out: Path, writer: str) -> None:
    out.mkdir()
    for prefix, files in family.items():
        for path in files:
            target = out / f"{prefix or 'root'}-{path.name}"
            client.download(_url(bucket, prefix, path.name), target)
            assert _sha256(target) == _sha256(path), f"{writer} wrote {prefix}/{path.name}"


def _uploads(bucket: str, family: dict[str, list[Path]]) -> list[tuple[Path, str]]:
    # The full destination key: the original ignored the last folder of "s3://b/p/" (its bug).
    return [(path, _url(bucket, prefix, path.name)) for prefix, files in family.items() for path in files]


def test_we_read_what_the_original_wrote(moto_server: MotoServer, bucket: str, tmp_path: Path) -> None:
    """6.2.0 writes through moto's HTTP server, as it would to S3; we read every file."""
    original = install_original("6.2.0")
    family = _family(tmp_path / "src")
    for path, url in _uploads(bucket, family):
        original.cp(str(path), url, endpoint_url=moto_server.url, cache_dir=tmp_path / "original-cache")

    _check_layout(_metadata(moto_server, bucket), "6.2.0")
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server.url)
    _check_gzip_deltas(lambda key: s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    client = create_client(endpoint_url=moto_server.url, cache_dir=str(tmp_path / "our-cache"))
    _read_back(client, bucket, family, tmp_path / "out", "6.2.0")


# 6.2.0's generation is read through moto's server by test_we_read_what_the_original_wrote in the
# default run; through moto in process, under -m slow.
@pytest.mark.parametrize("version", ["5.2.0", "6.1.1", pytest.param("6.2.0", marks=pytest.mark.slow)])
def test_we_read_every_metadata_generation(version: str, tmp_path: Path) -> None:
    """5.2.0 wrote bare snake_case metadata (``file_sha256``), 6.1.1 ``dg-`` keys on deltas but bare
    ones on whole files, 6.2.0 ``dg-`` keys everywhere. moto's HTTP server
    cannot carry underscore names, so the original writes into moto in-process in its own venv and
    the objects, exactly as stored, are loaded into our in-process moto for reading."""
    original = install_original(version)
    family = _family(tmp_path / "src")
    bucket = "dg-generations"
    export = tmp_path / "export"
    original.write_in_process(bucket, _uploads(bucket, family), export)

    objects = json.loads((export / "objects.json").read_text())
    stored = {key: entry["metadata"] for key, entry in objects.items()}
    _check_layout(stored, version)
    _check_gzip_deltas(lambda key: (export / objects[key]["body"]).read_bytes())
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=bucket)
        for key, entry in objects.items():
            body = (export / entry["body"]).read_bytes()
            s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=entry["metadata"])
        client = create_client(cache_dir=str(tmp_path / "our-cache"))
        _read_back(client, bucket, family, tmp_path / "out", version)


def test_original_reads_what_we_wrote(moto_server: MotoServer, bucket: str, tmp_path: Path) -> None:
    original = install_original("6.2.0")
    family = _family(tmp_path / "src")
    client = create_client(
        endpoint_url=moto_server.url, cache_dir=str(tmp_path / "our-cache"), original_compatible=True
    )

    operations = {}
    for prefix, files in family.items():
        for path in files:
            summary = client.upload(path, _url(bucket, prefix))
            operations[(prefix, path.name)] = summary.operation

    # The kinds of object the original must read: references with their zero-diff deltas, deltas,
    # and whole files (past max_ratio, a non-candidate, gzip data we never diff).
    assert operations[("releases", "app-1.0.zip")] == "PUT"
    assert operations[("releases", "app-1.1.zip")] == "PUT_DELTA"
    assert operations[("releases", "unrelated-9.0.zip")] == "PUT"
    assert operations[("releases", "notes.txt")] == "PUT"
    assert operations[("releases", "bundle-1.0.tar.gz")] == "PUT"
    assert operations[("", "root-1.1.zip")] == "PUT_DELTA"
    stored = _metadata(moto_server, bucket)
    assert stored["releases/reference.bin"]["dg-note"] == "reference"
    assert stored["releases/app-1.1.zip.delta"]["dg-ref-key"] == "releases/reference.bin"
    assert stored["root-1.1.zip.delta"]["dg-ref-key"] == "reference.bin"

    out = tmp_path / "out"
    for prefix, files in family.items():
        for path in files:
            target = out / (prefix or "root") / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            original.cp(
                _url(bucket, prefix, path.name),
                str(target),
                endpoint_url=moto_server.url,
                cache_dir=tmp_path / "original-cache",
            )
            assert _sha256(target) == _sha256(path), f"6.2.0 read {prefix}/{path.name}"


def test_the_original_refuses_a_delta_of_decoded_content(
    moto_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    """Without ``original_compatible``, a wheel-like release is stored as the delta of its decoded members.
    The original cannot rebuild it; what matters is that it says so and writes no wrong file."""
    original = install_original("6.2.0")
    src = tmp_path / "src"
    src.mkdir()
    app = wheel_like_zips(src, "app", 2)
    client = create_client(endpoint_url=moto_server.url, cache_dir=str(tmp_path / "our-cache"))
    client.upload(app[0], _url(bucket, "releases"))
    assert client.upload(app[1], _url(bucket, "releases")).transform == "zip"

    target = tmp_path / "out" / app[1].name
    target.parent.mkdir()
    result = original.run_cp(
        _url(bucket, "releases", app[1].name),
        str(target),
        endpoint_url=moto_server.url,
        cache_dir=tmp_path / "original-cache",
    )

    assert result.returncode != 0, result.stdout + result.stderr
    assert "not a VCDIFF input" in result.stdout + result.stderr  # its xdelta3 stops at our header
    assert not target.exists()


def test_the_original_reads_no_base_but_reference_bin(
    moto_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    """Issue 13 asks whether deltas against a base other than ``reference.bin`` stay readable by the
    original 6.2.0. Made here by hand: the reference moved to another key of the same folder, the
    delta's ``dg-ref-key`` pointing at it, no ``reference.bin`` left. Found: the original ignores
    ``dg-ref-key`` and always fetches its folder's ``reference.bin``, so such bases can only be
    written outside ``original_compatible`` mode."""
    original = install_original("6.2.0")
    src = tmp_path / "src"
    src.mkdir()
    app = release_zips(src, "app", 2)
    client = create_client(
        endpoint_url=moto_server.url, cache_dir=str(tmp_path / "our-cache"), original_compatible=True
    )
    for path in app:
        client.upload(path, _url(bucket, "releases"))
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server.url)
    base_key = "releases/reference-0123456789abcdef.bin"
    s3.copy_object(
        Bucket=bucket, Key=base_key, CopySource={"Bucket": bucket, "Key": "releases/reference.bin"}
    )
    delta_key = f"releases/{app[1].name}.delta"
    meta = s3.head_object(Bucket=bucket, Key=delta_key)["Metadata"]
    s3.copy_object(
        Bucket=bucket,
        Key=delta_key,
        CopySource={"Bucket": bucket, "Key": delta_key},
        Metadata={**meta, "dg-ref-key": base_key},
        MetadataDirective="REPLACE",
    )
    s3.delete_object(Bucket=bucket, Key="releases/reference.bin")

    target = tmp_path / "out" / app[1].name
    target.parent.mkdir()
    result = original.run_cp(
        _url(bucket, "releases", app[1].name),
        str(target),
        endpoint_url=moto_server.url,
        cache_dir=tmp_path / "original-cache",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "releases/reference.bin" in output and "not found" in output.lower()
    assert not target.exists()
    # Ours follows dg-ref-key.
    ours = tmp_path / "ours" / app[1].name
    client.download(_url(bucket, "releases", app[1].name), ours)
    assert _sha256(ours) == _sha256(app[1])
