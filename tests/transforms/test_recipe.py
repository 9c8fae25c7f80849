"""Recipes survive packing, and a bad one (or a mismatched stream or compressor) writes nothing."""

from __future__ import annotations

import gzip
import io
import random
import zlib
from pathlib import Path

import pytest

from deltaglider.transforms import (
    SYSTEM_ZLIB,
    Compressor,
    DeflateParams,
    Recipe,
    RecipeError,
    Segment,
    body,
    default_compressor,
    encode_container,
    pack,
    rebuild,
    unpack,
)
from deltaglider.transforms.builder import CHUNK
from transforms.helpers import disk_cap, sample_text

RECIPE = Recipe(
    "zip",
    "zlib-1.2.13",
    (
        Segment(30),
        Segment(5000, DeflateParams(9), 1200),
        Segment(300),
        Segment(1 << 40, DeflateParams(1, 9, 1, 4), 7),
    ),
)


def test_pack_unpack_round_trip() -> None:
    assert unpack(pack(RECIPE)) == RECIPE
    assert pack(RECIPE)[4] == 1  # the version byte


@pytest.mark.parametrize("cut", range(5, 40, 3))
def test_truncated_recipes_are_refused(cut: int) -> None:
    with pytest.raises(RecipeError):
        unpack(pack(RECIPE)[:cut])


@pytest.mark.parametrize(
    "data",
    [b"", b"XXXX\x01", b"DGTR\x02", pack(RECIPE) + b"\0", pack(RECIPE).replace(b"\t\x09", b"\t\x10")],
    ids=["empty", "magic", "version", "trailing", "bad-params"],
)
def test_malformed_recipes_are_refused(data: bytes) -> None:
    with pytest.raises(RecipeError):
        unpack(data)


@pytest.fixture
def encoded(tmp_path: Path) -> tuple[Path, bytes]:
    src = tmp_path / "a.gz"
    src.write_bytes(gzip.compress(sample_text(80_000), mtime=0))
    result = encode_container(src, tmp_path / "decoded")
    assert result is not None
    return tmp_path / "decoded", result.recipe


def test_another_compressor_is_refused(tmp_path: Path, encoded: tuple[Path, bytes]) -> None:
    decoded, recipe = encoded
    other = Compressor("zlib-ng-2.1", SYSTEM_ZLIB.new)
    with pytest.raises(RecipeError, match="zlib-ng"):
        rebuild(decoded, recipe, tmp_path / "out", compressor=other)
    assert not (tmp_path / "out").exists()


def test_a_decoded_stream_of_another_size_is_refused(tmp_path: Path, encoded: tuple[Path, bytes]) -> None:
    decoded, recipe = encoded
    decoded.write_bytes(decoded.read_bytes() + b"x")
    with pytest.raises(RecipeError):
        rebuild(decoded, recipe, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gz", "decoded"]


def test_a_changed_decoded_stream_that_recompresses_differently_is_refused(
    tmp_path: Path, encoded: tuple[Path, bytes]
) -> None:
    decoded, recipe = encoded
    data = bytearray(decoded.read_bytes())
    data[20:2000] = bytes(1980)  # compresses far smaller than the text it replaces
    decoded.write_bytes(bytes(data))
    with pytest.raises(RecipeError):
        rebuild(decoded, recipe, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".dg-part")]


def test_a_member_that_recompresses_too_long_stops_at_its_recorded_size(tmp_path: Path) -> None:
    """1 MiB of random bytes recorded as a 1000-byte member: the rebuild stops as soon as the member
    is past its size, instead of writing the whole recompression and comparing after."""
    decoded = tmp_path / "decoded"
    decoded.write_bytes(random.Random(1).randbytes(1 << 20))
    recipe = pack(Recipe("gzip", default_compressor().name, (Segment(1 << 20, DeflateParams(), 1000),)))
    with disk_cap(1000 + 2 * CHUNK), pytest.raises(RecipeError, match="another size"):
        rebuild(decoded, recipe, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_injected_compressor_is_the_one_used(tmp_path: Path) -> None:
    # A compressor named differently but writing zlib's bytes works end to end: injection, not globals.
    calls: list[DeflateParams] = []

    def new(params: DeflateParams) -> zlib._Compress:
        calls.append(params)
        return zlib.compressobj(params.level, zlib.DEFLATED, -params.wbits, params.mem_level, params.strategy)

    pinned = Compressor("pinned-test", new)
    src = tmp_path / "a.gz"
    src.write_bytes(gzip.compress(sample_text(80_000), compresslevel=9, mtime=0))
    result = encode_container(src, tmp_path / "d", compressor=pinned)
    assert result is not None and unpack(result.recipe).compressor == "pinned-test"
    rebuild(tmp_path / "d", result.recipe, tmp_path / "out", compressor=pinned)
    assert (tmp_path / "out").read_bytes() == src.read_bytes()
    assert DeflateParams(9) in calls


def test_body_header_round_trip_and_refusals() -> None:
    recipe = pack(RECIPE)
    stream = io.BytesIO(body.header(recipe) + b"VCDIFF...")
    assert body.read_header(stream) == recipe and stream.read() == b"VCDIFF..."
    for bad in [b"", b"DGTB\x01", b"XXXX" + bytes(4), b"DGTB\xff\xff\xff\xff", body.header(recipe)[:-1]]:
        with pytest.raises(RecipeError):
            body.read_header(io.BytesIO(bad))
