"""The diff adapter's header reading: what a delta declares before any of it is decoded."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.binaries import xdelta3_binary

from deltaglider import codec
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.errors import DecodeError


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("size", [0, 1, 100_000, 3_000_000])
def test_inspect_gives_the_size_a_delta_rebuilds(tmp_path: Path, size: int) -> None:
    source = os.urandom(size)
    target = source[: size // 2] + b"edit" + source[size // 2 :]
    delta = _write(tmp_path / "d", codec.encode(source, target))
    header = XDelta3Diff().inspect(delta)
    assert (header.target_size, header.external) == (len(target), None)


def test_inspect_names_the_binarys_external_compression(tmp_path: Path) -> None:
    import gzip

    old = _write(tmp_path / "a.gz", gzip.compress(b"old text\n" * 1000, mtime=0))
    new = _write(tmp_path / "b.gz", gzip.compress(b"new text\n" * 1000, mtime=0))
    delta = tmp_path / "d"
    subprocess.run([xdelta3_binary(), "-e", "-f", "-s", str(old), str(new), str(delta)], check=True)
    header = XDelta3Diff().inspect(delta)
    assert header.external == ("G", "G")
    with pytest.raises(DecodeError, match="external compression"):
        XDelta3Diff().decode(old, delta, tmp_path / "out", expected_size=new.stat().st_size)


@pytest.mark.parametrize("cut", [1, 4, 5, 7, -1])
def test_inspect_refuses_a_cut_header(tmp_path: Path, cut: int) -> None:
    data = codec.encode(b"source" * 100, b"target" * 100)
    with pytest.raises(DecodeError):
        XDelta3Diff().inspect(_write(tmp_path / "d", data[:cut]))


def test_inspect_refuses_what_is_not_vcdiff(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="not a VCDIFF"):
        XDelta3Diff().inspect(_write(tmp_path / "d", b"PK\x03\x04 a zip"))
