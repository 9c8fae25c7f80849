"""The compressor that rebuilds archives must never change its output.

A recipe stored today is rebuilt years from now; if the deflate implementation writes other bytes
then, the rebuilt archive is wrong. These SHA-256 were recorded with zlib 1.2.13 (the version
vendored in ``vendor/zlib``); a failure here means the compressor in use is not that one.
"""

from __future__ import annotations

import hashlib
import zlib

import pytest

from deltaglider.transforms import SYSTEM_ZLIB, Compressor, DeflateParams, default_compressor, pinned_zlib
from transforms.helpers import sample_text

INPUT_SHA256 = "7fb61f0b26f2cedaa7d311c5f8c240be6ffc3d8de2509de179f972aa013fd1c3"

FINGERPRINTS = [
    (DeflateParams(9), 47589, "cfa295ef10f5e5c31c9a86f3b4e2ed66d703f99fafa4052f660b2d55517a659c"),
    (DeflateParams(6), 51533, "aba1e6d5158f8e6179c6edadee81ddd5694b3d724829423cdbe0db756b1aecac"),
    (DeflateParams(1), 70323, "4fa250aed2e299941b66edbea176a42f404d3a8be9c6c911a9131a523b38701f"),
    (
        DeflateParams(6, 12, 7, zlib.Z_FILTERED),
        52341,
        "19b17dcf56c57471a1d9782befc26385f7b87b4668eb9a0ab5fa0609d10f12a6",
    ),
    (
        DeflateParams(9, 15, 9, zlib.Z_RLE),
        150059,
        "076a2e661be33c1e2dac7ad7e1aa6e459b97c34636b52f5509d97adc387656aa",
    ),
    (
        DeflateParams(6, 15, 8, zlib.Z_HUFFMAN_ONLY),
        152548,
        "b75c20b6a9330c4b6aa6ee76906648cfe72e07ef16edd4a03f35742a9c7836cb",
    ),
    (
        DeflateParams(5, 15, 8, zlib.Z_FIXED),
        72677,
        "8735882a3ffe8fac968873f8e9bb6b53c3596a525932a7bf2dd45e1300905911",
    ),
]


_PINNED = pinned_zlib()
# The pinned zlib is what rebuilds use; the interpreter's stands in (and must agree) where the
# extension predates vendor/zlib.
_COMPRESSORS = [
    pytest.param(SYSTEM_ZLIB, id="system"),
    pytest.param(
        _PINNED,
        id="pinned",
        marks=pytest.mark.skipif(_PINNED is None, reason="extension built without vendor/zlib: rebuild it"),
    ),
]


def _deflate(params: DeflateParams, data: bytes, chunk: int, compressor: Compressor = SYSTEM_ZLIB) -> bytes:
    deflater = compressor.new(params)
    out = [deflater.compress(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    return b"".join([*out, deflater.flush()])


def test_the_input_itself_is_fixed() -> None:
    assert hashlib.sha256(sample_text(300_000)).hexdigest() == INPUT_SHA256


@pytest.mark.parametrize("compressor", _COMPRESSORS)
@pytest.mark.parametrize(("params", "size", "sha256"), FINGERPRINTS, ids=lambda v: str(v)[:40])
def test_output_matches_the_recorded_fingerprint(
    compressor: Compressor, params: DeflateParams, size: int, sha256: str
) -> None:
    out = _deflate(params, sample_text(300_000), 1 << 16, compressor)
    assert (len(out), hashlib.sha256(out).hexdigest()) == (size, sha256)


@pytest.mark.parametrize("compressor", _COMPRESSORS)
@pytest.mark.parametrize("chunk", [1, 777, 4096, 300_000])
def test_output_does_not_depend_on_how_the_input_is_cut(compressor: Compressor, chunk: int) -> None:
    # The rebuild feeds members in its own chunk size; levels 1-9 must not care (level 0 would).
    data = sample_text(40_000) if chunk == 1 else sample_text(300_000)
    for params, _size, _sha in FINGERPRINTS[:3]:
        assert _deflate(params, data, chunk, compressor) == _deflate(params, data, len(data), compressor)


def test_compressor_names_pin_the_version() -> None:
    assert SYSTEM_ZLIB.name == f"zlib-{zlib.ZLIB_RUNTIME_VERSION}"
    if _PINNED is not None:
        assert _PINNED.name == "zlib-1.2.13"
        assert default_compressor() is _PINNED


@pytest.mark.skipif(_PINNED is None, reason="extension built without vendor/zlib: rebuild it")
def test_pinned_deflater_refuses_what_zlib_refuses() -> None:
    from deltaglider.codec import PinnedDeflater

    with pytest.raises(ValueError, match="unsupported"):
        PinnedDeflater(6, 15, 8, 9)
    deflater = PinnedDeflater(6, 15, 8, 0)
    deflater.flush()
    with pytest.raises(ValueError, match="finished"):
        deflater.compress(b"more")
