"""Deltas that the original's xdelta3 binary made over gzip/xz/bzip2 files (it decompressed them first).

The binary itself writes them here, exactly as 6.2.0 ran it (`xdelta3 -e -9 -s reference target out`).
"""

from __future__ import annotations

import gzip
import random
import subprocess
from pathlib import Path

import pytest
from support.binaries import xdelta3_binary
from support.sdk import make_service, sha256

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import ObjectKey
from deltaglider.core.rebuild.legacy import gzip_like_cli
from deltaglider.errors import IntegrityError

pytestmark = pytest.mark.interop


def _payload(seed: int, edit: bytes = b"") -> bytes:
    rng = random.Random(seed)
    text = b"".join(f"{i} {rng.random()}\n".encode() for i in range(6000))
    return text[:30_000] + edit + text[30_000:]


def _compress(tool: list[str], data: bytes, path: Path) -> Path:
    path.write_bytes(subprocess.run(tool, input=data, capture_output=True, check=True).stdout)
    return path


def _original_bucket(storage: MemoryStorage, reference: Path, target: Path, tmp_path: Path) -> None:
    """reference.bin and target.delta as 6.2.0 left them."""
    delta = tmp_path / "target.delta"
    subprocess.run(
        [xdelta3_binary(), "-e", "-f", "-9", "-s", str(reference), str(target), str(delta)],
        check=True,
        capture_output=True,
    )
    storage.set_raw(
        "b",
        "rel/reference.bin",
        reference.read_bytes(),
        {"dg-file-sha256": sha256(reference), "dg-source-name": reference.name, "dg-note": "reference"},
    )
    storage.set_raw(
        "b",
        f"rel/{target.name}.delta",
        delta.read_bytes(),
        {
            "dg-tool": "deltaglider/6.2.0",
            "dg-original-name": target.name,
            "dg-file-sha256": sha256(target),
            "dg-file-size": str(target.stat().st_size),
            "dg-ref-key": "rel/reference.bin",
            "dg-ref-sha256": sha256(reference),
            "dg-delta-size": str(delta.stat().st_size),
        },
    )


@pytest.mark.parametrize(
    ("tool", "suffix"),
    [(["gzip", "-c"], ".tar.gz"), (["xz", "-c"], ".tar.xz"), (["bzip2", "-c"], ".tar.bz2")],
)
def test_files_made_at_the_tools_defaults_rebuild(
    storage: MemoryStorage, tmp_path: Path, tool: list[str], suffix: str
) -> None:
    reference = _compress(tool, _payload(1), tmp_path / f"a{suffix}")
    target = _compress(tool, _payload(1, b"a new line\n"), tmp_path / f"b{suffix}")
    _original_bucket(storage, reference, target, tmp_path)
    out = tmp_path / "out"
    summary = make_service(storage).get(ObjectKey("b", f"rel/{target.name}"), out)
    assert out.read_bytes() == target.read_bytes()
    assert summary.reconstructed


def test_the_first_file_is_served_from_the_reference(storage: MemoryStorage, tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    with open(archive, "wb") as raw, gzip.GzipFile("a.tar", "wb", 9, raw, mtime=1_700_000_000) as gz:
        gz.write(_payload(2))
    _original_bucket(storage, archive, archive, tmp_path)
    out = tmp_path / "out"
    make_service(storage).get(ObjectKey("b", "rel/a.tar.gz"), out)
    assert out.read_bytes() == archive.read_bytes()


def test_a_file_the_original_could_not_rebuild_is_refused_clearly(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    reference = _compress(["gzip", "-c"], _payload(3), tmp_path / "a.tar.gz")
    target = tmp_path / "b.tar.gz"
    with open(target, "wb") as raw, gzip.GzipFile("b.tar", "wb", 9, raw, mtime=1_700_000_000) as gz:
        gz.write(_payload(3, b"edit"))  # gzip -9 with name and mtime: not what `gzip -c` writes
    _original_bucket(storage, reference, target, tmp_path)
    out_dir = tmp_path / "out"
    with pytest.raises(IntegrityError, match="gzip -c"):
        make_service(storage).get(ObjectKey("b", "rel/b.tar.gz"), out_dir / "b.tar.gz")
    assert not out_dir.exists() or list(out_dir.iterdir()) == []
    assert not make_service(storage).verify(ObjectKey("b", "rel/b.tar.gz")).valid


def test_compressed_target_against_a_plain_reference(storage: MemoryStorage, tmp_path: Path) -> None:
    reference = tmp_path / "a.zip"
    reference.write_bytes(b"PK\x03\x04" + _payload(4))
    target = _compress(["gzip", "-c"], _payload(4, b"more"), tmp_path / "b.tar.gz")
    _original_bucket(storage, reference, target, tmp_path)
    out = tmp_path / "out"
    make_service(storage).get(ObjectKey("b", "rel/b.tar.gz"), out)
    assert out.read_bytes() == target.read_bytes()


@pytest.mark.parametrize("size", [0, 100, 4000])
def test_gzip_emulation_matches_gzip_c_on_small_inputs(size: int) -> None:
    data = random.Random(size).randbytes(size // 2) * 2
    expected = subprocess.run(["gzip", "-c"], input=data, capture_output=True, check=True).stdout
    assert gzip_like_cli(data) == expected
