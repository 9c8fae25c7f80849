"""Telling from the first bytes of its streams whether decoding a container can pay, and the first
block's symbol count that rules out every zlib setting at once."""

from __future__ import annotations

import gzip
import lzma
import random
import zipfile
import zlib
from pathlib import Path

import pytest

from deltaglider.transforms import probe
from deltaglider.transforms.deflater import SYSTEM_ZLIB, default_compressor
from deltaglider.transforms.first_block import first_block, zlib_mem_level
from transforms.foreign_deflate import BLOCK_SYMBOLS, literal_deflate, zip_of
from transforms.helpers import sample_text, without_reconstructor

TEXT = sample_text(400_000, seed=b"probe")
_DRAW = random.Random(5)
#: Few matches: even at level 9 a first block of the largest buffer ends well within it.
NOISY = b"".join(b"%x\n" % _DRAW.getrandbits(24) for _ in range(25_000))


@pytest.mark.parametrize("level", [1, 6, 9])
@pytest.mark.parametrize(
    "strategy", [zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_RLE, zlib.Z_HUFFMAN_ONLY]
)
def test_zlib_fills_its_first_block_to_its_symbol_buffer(level: int, strategy: int) -> None:
    for mem_level in range(1, 10):
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15, mem_level, strategy)
        block = first_block(deflater.compress(NOISY) + deflater.flush())
        assert block is not None and not block.last
        assert zlib_mem_level(block) == mem_level, (level, strategy, mem_level, block)


def test_a_stream_of_one_block_says_it_is_the_last() -> None:
    block = first_block(zlib.compress(b"hello hello hello", 9)[2:-4])
    assert block is not None and block.last and block.symbols > 0


def test_another_deflaters_first_block_fits_no_zlib_setting() -> None:
    block = first_block(literal_deflate(TEXT[:200_000]))
    assert block is not None and not block.last and block.symbols == BLOCK_SYMBOLS
    assert zlib_mem_level(block) is None


def test_a_block_cut_short_or_stored_is_not_counted() -> None:
    stream = zlib.compressobj(6, zlib.DEFLATED, -15).compress(TEXT)
    assert first_block(stream[:100]) is None
    assert first_block(b"\x01\x03\x00\xfc\xffabc") is None  # a stored block
    assert first_block(b"\x07") is None  # reserved block type


def test_the_compressors_end_blocks_as_zlib_does() -> None:
    assert probe.fills_blocks(default_compressor())
    assert probe.fills_blocks(SYSTEM_ZLIB)


def _zip(path: Path, members: list[tuple[str, bytes, bool]], *, comment: bytes = b"") -> Path:
    """Members deflated by zlib (True) or by another deflater (False)."""
    streams = []
    for name, data, by_zlib in members:
        if by_zlib:
            deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
            streams.append((name, data, deflater.compress(data) + deflater.flush()))
        else:
            streams.append((name, data, literal_deflate(data)))
    path.write_bytes(zip_of(streams, comment=comment))
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    return path


def test_a_zip_deflated_by_zlib_may_decode(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(20):
            archive.writestr(f"m{n}.txt", TEXT[n * 10_000 : n * 10_000 + 30_000])
    assert probe.may_decode(path)


def test_a_zip_that_another_deflater_made_does_not_without_the_reconstructor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_reconstructor(monkeypatch)
    assert not probe.may_decode(_zip(tmp_path / "a.zip", [("big", TEXT[:150_000], False)]))


def test_a_zip_that_another_deflater_made_does_with_the_reconstructor(tmp_path: Path) -> None:
    # The reconstructor rebuilds its members from their choices: decoding pays.
    assert probe.may_decode(_zip(tmp_path / "a.zip", [("big", TEXT[:150_000], False)]))


def test_streams_count_by_their_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny member that zlib writes as the other deflater did does not stand for the large one
    beside it; a large member that reproduces stands for the tiny one that does not."""
    without_reconstructor(monkeypatch)
    foreign_big = [("tiny", b"", True), ("tiny2", b"x = 1\n", True), ("big", TEXT[:150_000], False)]
    assert not probe.may_decode(_zip(tmp_path / "a.zip", foreign_big))
    zlib_big = [("tiny", b"x = 1\n" * 3, False), ("big", TEXT[:150_000], True)]
    assert probe.may_decode(_zip(tmp_path / "b.zip", zlib_big))
    # Bytes in no stream (a comment) leave the verdict to the streams' share alone.
    unknown = _zip(tmp_path / "c.zip", foreign_big, comment=bytes(60_000))
    assert not probe.may_decode(unknown)


def test_a_first_block_that_no_zlib_setting_fills_rules_out_every_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_reconstructor(monkeypatch)
    tried: list[int] = []
    real = probe._agrees
    monkeypatch.setattr(probe, "_agrees", lambda *a, **k: tried.append(1) or real(*a, **k))
    assert not probe.may_decode(_zip(tmp_path / "a.zip", [("big", TEXT[:150_000], False)]))
    assert tried == []  # not one setting compressed


def test_gzip_and_xz_streams_are_judged_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without_reconstructor(monkeypatch)
    made = tmp_path / "zlib.tar.gz"
    made.write_bytes(gzip.compress(TEXT, 9, mtime=0))
    assert probe.may_decode(made)
    foreign = tmp_path / "foreign.tar.gz"
    foreign.write_bytes(
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + literal_deflate(TEXT[:100_000]) + bytes(8)
    )
    assert not probe.may_decode(foreign)
    xz = tmp_path / "a.tar.xz"
    xz.write_bytes(lzma.compress(TEXT[:200_000]))
    assert probe.may_decode(xz)


def test_nothing_to_decode_is_no(tmp_path: Path) -> None:
    stored = tmp_path / "stored.zip"
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a", TEXT[:10_000])
    assert not probe.may_decode(stored)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(zip_of([("a", b"abc" * 1000, b"\xff" * 500)]))
    assert not probe.may_decode(broken)
    plain = tmp_path / "plain.bin"
    plain.write_bytes(TEXT[:1000])
    assert not probe.may_decode(plain)
    assert not probe.may_decode(plain, kind="zip")
