"""An upload stores nothing its own check did not rebuild: the check compares the rebuilt file with the
original, so a codec that decodes to the right size but the wrong bytes makes the upload fail.

These tests give the service such a codec, rather than count what it hashes: a check that hashes the
rebuilt file and then ignores the result must fail them.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest
from support.families import SPACE, drifting_family
from support.sdk import make_service
from transforms.helpers import sample_text

from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.errors import CodecError


class _WrongRebuilds(XDelta3Diff):
    """The codec, but every decode comes out with its last byte changed: the right size, the wrong
    file."""

    def decode(self, source: Path, delta: Path, out: Path, *, expected_size: int | None = None) -> int:
        size = super().decode(source, delta, out, expected_size=expected_size)
        with open(out, "r+b") as f:
            f.seek(-1, 2)
            last = f.read(1)[0]
            f.seek(-1, 2)
            f.write(bytes([last ^ 1]))
        return size


def test_a_first_file_whose_zero_diff_does_not_rebuild_it_stores_nothing(tmp_path: Path) -> None:
    first = drifting_family(tmp_path, 1)[0]
    store = MemoryStorage()
    with pytest.raises(CodecError, match="does not rebuild"):
        make_service(store, diff=_WrongRebuilds()).put(first, SPACE)
    assert store.keys("b") == []


def test_a_delta_that_does_not_rebuild_its_file_is_never_stored(tmp_path: Path) -> None:
    first, second = drifting_family(tmp_path, 2)
    store = MemoryStorage()
    make_service(store).put(first, SPACE)
    before = store.keys("b")
    with pytest.raises(CodecError, match="does not rebuild"):
        make_service(store, diff=_WrongRebuilds()).put(second, SPACE)
    assert store.keys("b") == before


def _tar_gz(path: Path, seed: bytes) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for i in range(4):
            data = sample_text(60_000, seed=seed if i == 2 else bytes([i]))
            info = tarfile.TarInfo(f"pkg/mod{i}.py")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(raw.getvalue(), compresslevel=9, mtime=0))
    return path


def test_a_delta_of_decoded_content_that_does_not_rebuild_its_file_is_never_stored(tmp_path: Path) -> None:
    """The decoded stream comes back with its last byte (the gzip trailer's, kept raw) changed: it
    recompresses to the right size, and only the comparison with the file's SHA-256 can tell."""
    first = _tar_gz(tmp_path / "pkg-1.0.tar.gz", b"one")
    second = _tar_gz(tmp_path / "pkg-1.1.tar.gz", b"two")
    honest = make_service(MemoryStorage())
    honest.put(first, SPACE)
    assert honest.put(second, SPACE).transform == "gzip"  # what the check guards
    store = MemoryStorage()
    make_service(store).put(first, SPACE)
    before = store.keys("b")
    with pytest.raises(CodecError, match=r"transformed delta .* does not rebuild"):
        make_service(store, diff=_WrongRebuilds()).put(second, SPACE)
    assert store.keys("b") == before
