"""Interop with the stock xdelta3 binary, both ways (its deltas fill existing buckets)."""

from __future__ import annotations

import gzip
import random
import subprocess
from pathlib import Path

import pytest
from support.binaries import VCDIFF_SECONDARY_IDS, vcdiff_secondary_id, xdelta3_binary

from deltaglider import codec
from deltaglider.errors import UnsupportedDeltaError

pytestmark = pytest.mark.interop


def _pair(seed: int, size: int = 400_000) -> tuple[bytes, bytes]:
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(8, 64)) for _ in range(200)]
    source = b"".join(rng.choice(words) for _ in range(size // 36))
    target = source[:20_000] + rng.randbytes(5000) + source[30_000:] + source[1000:9000]
    return source, target


def _run(binary: str, *args: str) -> None:
    done = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_binary_default_deltas_decode_with_ours(tmp_path: Path, seed: int) -> None:
    binary = xdelta3_binary()
    source, target = _pair(seed)
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    # Exactly what the original DeltaGlider ran: -9, no -S, so LZMA secondary and an app header.
    _run(binary, "-e", "-f", "-9", "-s", str(tmp_path / "src"), str(tmp_path / "tgt"), str(tmp_path / "d"))
    delta = (tmp_path / "d").read_bytes()
    assert vcdiff_secondary_id(delta) == VCDIFF_SECONDARY_IDS["lzma"], "binary no longer writes LZMA"
    assert codec.decode(source, delta, expected_size=len(target)) == target


@pytest.mark.parametrize("secondary", ["lzma", "djw", "fgk", None])
def test_our_deltas_decode_with_the_binary(tmp_path: Path, secondary: codec.Secondary) -> None:
    binary = xdelta3_binary()
    source, target = _pair(4)
    delta = codec.encode(source, target, secondary=secondary)
    expected_id = VCDIFF_SECONDARY_IDS[secondary] if secondary else None
    assert vcdiff_secondary_id(delta) == expected_id
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "d").write_bytes(delta)
    _run(binary, "-d", "-f", "-s", str(tmp_path / "src"), str(tmp_path / "d"), str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == target


@pytest.mark.parametrize("secondary", ["djw", "fgk"])
def test_binary_deltas_with_other_secondaries_decode_with_ours(tmp_path: Path, secondary: str) -> None:
    binary = xdelta3_binary()
    source, target = _pair(5)
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    _run(
        binary,
        "-e",
        "-f",
        "-9",
        "-S",
        secondary,
        "-s",
        str(tmp_path / "src"),
        str(tmp_path / "tgt"),
        str(tmp_path / "d"),
    )
    delta = (tmp_path / "d").read_bytes()
    assert vcdiff_secondary_id(delta) == VCDIFF_SECONDARY_IDS[secondary]
    assert codec.decode(source, delta) == target


def test_binary_zero_diff_delta_decodes(tmp_path: Path) -> None:
    # The original's first file of a DeltaSpace is stored as `xdelta3 -e -9 -s f f`.
    binary = xdelta3_binary()
    data = random.Random(6).randbytes(2_000_000)
    (tmp_path / "f").write_bytes(data)
    _run(binary, "-e", "-f", "-9", "-s", str(tmp_path / "f"), str(tmp_path / "f"), str(tmp_path / "d"))
    delta = (tmp_path / "d").read_bytes()
    assert len(delta) < 200
    assert codec.decode(data, delta, expected_size=len(data)) == data


def test_binary_external_compression_is_reported_not_silently_decoded(tmp_path: Path) -> None:
    binary = xdelta3_binary()
    source, target = _pair(7)
    gz_source, gz_target = gzip.compress(source, mtime=0), gzip.compress(target, mtime=0)
    (tmp_path / "a.tar.gz").write_bytes(gz_source)
    (tmp_path / "b.tar.gz").write_bytes(gz_target)
    _run(
        binary,
        "-e",
        "-f",
        "-9",
        "-s",
        str(tmp_path / "a.tar.gz"),
        str(tmp_path / "b.tar.gz"),
        str(tmp_path / "d"),
    )
    delta = (tmp_path / "d").read_bytes()
    with pytest.raises(UnsupportedDeltaError) as info:
        codec.decode(gz_source, delta)
    assert info.value.marker == "G"
    assert info.value.source_marker == "G"
    assert info.value.appheader == "b.tar.gz/G/a.tar.gz/G"
    # The VCDIFF inside is over the decompressed streams: with them it rebuilds the decompressed file.
    assert codec.decode(source, delta, allow_external_compression=True) == target


def test_our_encoder_never_decompresses_inputs() -> None:
    source, target = _pair(8)
    gz_source, gz_target = gzip.compress(source, 9), gzip.compress(target, 9)
    delta = codec.encode(gz_source, gz_target)
    assert codec.decode(gz_source, delta) == gz_target
