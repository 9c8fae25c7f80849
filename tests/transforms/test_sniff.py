from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from deltaglider.transforms import detect, detect_bytes


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a", b"x")
    return buf.getvalue()


def _tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("a")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


@pytest.mark.parametrize("name", ["pkg.whl", "app.jar", "x.apk", "noext", "misleading.txt"])
def test_a_zip_is_a_zip_whatever_its_name(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(_zip())
    assert detect(tmp_path / name) == "zip"


def test_gzip_tar_and_unknown(tmp_path: Path) -> None:
    assert detect_bytes(gzip.compress(b"x", mtime=0)) == "gzip"
    assert detect_bytes(_tar()) == "tar"
    assert detect_bytes(b"PK\x05\x06" + bytes(18)) == "zip"  # an empty zip
    assert detect_bytes(b"\x1f\x8b\x09rest") is None  # not deflate
    assert detect_bytes(b"") is None
    (tmp_path / "plain.gz").write_bytes(b"not compressed at all")
    assert detect(tmp_path / "plain.gz") is None


def test_only_compressed_containers_are_transformed(tmp_path: Path) -> None:
    from deltaglider.transforms import encode_container

    (tmp_path / "plain.tar").write_bytes(_tar())
    (tmp_path / "text").write_bytes(b"hello")
    for name in ("plain.tar", "text"):
        assert encode_container(tmp_path / name, tmp_path / f"{name}.decoded") is None
        assert not (tmp_path / f"{name}.decoded").exists()
