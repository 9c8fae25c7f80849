"""The default secondary compression ("auto") is chosen per window from the new bytes themselves:
none on the adds of a compressed target, where LZMA only spends time, LZMA on those of a binary,
where it saves a quarter of the delta. Either way stock ``xdelta3 -d`` decodes the result."""

from __future__ import annotations

import importlib
import io
import random
import subprocess
import zipfile
from pathlib import Path

import pytest
from support.binaries import xdelta3_binary

from deltaglider import codec

_VCD_DECOMPRESS, _VCD_CODETABLE, _VCD_APPHEADER = 1, 2, 4
_VCD_SOURCE, _VCD_TARGET, _VCD_ADLER32 = 1, 2, 4
_VCD_DATACOMP = 1


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[at]
        at += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at


def _data_sections(delta: bytes) -> list[tuple[int, bool]]:
    """(length, LZMA-compressed?) of each window's data section."""
    assert delta[:4] == b"\xd6\xc3\xc4\x00"
    indicator, at = delta[4], 5
    if indicator & _VCD_DECOMPRESS:
        at += 1
    for flag in (_VCD_CODETABLE, _VCD_APPHEADER):
        if indicator & flag:
            length, at = _varint(delta, at)
            at += length
    found = []
    while at < len(delta):
        window = delta[at]
        at += 1
        if window & (_VCD_SOURCE | _VCD_TARGET):
            _, at = _varint(delta, at)
            _, at = _varint(delta, at)
        length, at = _varint(delta, at)
        end = at + length
        _, at = _varint(delta, at)  # target window length
        sections = delta[at]
        data_len, at = _varint(delta, at + 1)
        found.append((data_len, bool(sections & _VCD_DATACOMP)))
        at = end
    return found


def _stock_decodes(tmp_path: Path, source: bytes, target: bytes, delta: bytes) -> None:
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "delta").write_bytes(delta)
    done = subprocess.run(
        [xdelta3_binary(), "-d", "-c", "-s", str(tmp_path / "src"), str(tmp_path / "delta")],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == target


def _text(rng: random.Random, size: int) -> bytes:
    words = [rng.randbytes(rng.randint(3, 12)).hex().encode() for _ in range(300)]
    return b" ".join(rng.choice(words) for _ in range(size // 10))[:size]


def _wheel(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return out.getvalue()


@pytest.mark.interop
def test_no_lzma_on_the_adds_of_a_compressed_pair(tmp_path: Path) -> None:
    rng = random.Random(20)
    old = {f"pkg/mod{i}.py": _text(rng, 40_000) for i in range(24)}
    new = dict(old)
    for i in range(0, 24, 3):  # a third of the members changed: their deflate streams are all new
        new[f"pkg/mod{i}.py"] = (
            old[f"pkg/mod{i}.py"][:20_000] + _text(rng, 2000) + old[f"pkg/mod{i}.py"][20_000:]
        )
    source, target = _wheel(old), _wheel(new)
    auto = codec.encode(source, target)
    lzma = codec.encode(source, target, secondary="lzma")
    sections = _data_sections(auto)
    assert sum(n for n, _ in sections) > 50_000
    assert not any(compressed for _, compressed in sections)
    assert any(compressed for _, compressed in _data_sections(lzma))
    assert len(auto) <= len(lzma) * 1.005
    _stock_decodes(tmp_path, source, target, auto)


@pytest.mark.interop
def test_lzma_on_the_adds_of_a_binary_pair(tmp_path: Path) -> None:
    # Machine code: the codec's own compiled module, a build with 96 KB of it new.
    binary = Path(importlib.import_module("deltaglider._xdelta3").__file__ or "").read_bytes()
    cut = len(binary) // 2
    source = binary[:cut] + binary[cut + 96_000 :]
    target = binary
    auto = codec.encode(source, target)
    sections = _data_sections(auto)
    assert sum(n for n, _ in sections) > 4096
    assert all(compressed for n, compressed in sections if n > 4096)
    assert auto == codec.encode(source, target, secondary="lzma")
    _stock_decodes(tmp_path, source, target, auto)


@pytest.mark.interop
def test_text_like_adds_get_the_stronger_preset_and_stock_decodes_them(tmp_path: Path) -> None:
    rng = random.Random(21)
    source = _text(rng, 5 << 20)
    target = source[: 2 << 20] + _text(rng, 400_000) + source[2 << 20 :]
    auto = codec.encode(source, target)
    assert len(auto) < len(codec.encode(source, target, secondary="lzma"))
    _stock_decodes(tmp_path, source, target, auto)
