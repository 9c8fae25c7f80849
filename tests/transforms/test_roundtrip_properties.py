"""rebuild(encode(x)) == x for random trees packed as tar.gz, zip, tar.bz2 and tar.zst, byte for byte,
always; bzip2 and zstd at every level, each stream decoded."""

from __future__ import annotations

import bz2
import gzip
import io
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from support.examples import examples

from deltaglider._native.zstd import PinnedZstd
from deltaglider.transforms import DeflateParams
from deltaglider.transforms.deflater import likely_params, other_params
from transforms.helpers import random_trees, round_trip, sample_text, tar_bytes

_trees = random_trees()


def _check(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x{suffix}"
        path.write_bytes(data)
        round_trip(path, Path(tmp))


@given(_trees, st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_tar_gz(tree: dict[str, bytes], level: int, mtime: int) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in tree.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    _check(gzip.compress(buf.getvalue(), compresslevel=level, mtime=mtime), ".tar.gz")


@given(
    _trees,
    st.lists(
        st.sampled_from(
            [
                (zipfile.ZIP_DEFLATED, 9),
                (zipfile.ZIP_DEFLATED, 1),
                (zipfile.ZIP_DEFLATED, 6),
                (zipfile.ZIP_STORED, None),
            ]
        ),
        min_size=8,
        max_size=8,
    ),
)
def test_zip(tree: dict[str, bytes], methods: list[tuple[int, int | None]]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for (name, content), (method, level) in zip(tree.items(), methods, strict=False):
            z.writestr(name, content, compress_type=method, compresslevel=level)
    _check(buf.getvalue(), ".zip")


_searched = [*likely_params(), *other_params()]


@given(
    st.sampled_from(_searched),
    st.builds(lambda n, s: sample_text(n, seed=s), st.integers(1, 120_000), st.binary(max_size=4)),
)
def test_every_setting_searched_is_found(params: DeflateParams, payload: bytes) -> None:
    c = zlib.compressobj(params.level, zlib.DEFLATED, -params.wbits, params.mem_level, params.strategy)
    trailer = zlib.crc32(payload).to_bytes(4, "little") + len(payload).to_bytes(4, "little")
    data = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + c.compress(payload) + c.flush() + trailer
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.gz"
        path.write_bytes(data)
        assert round_trip(path, Path(tmp)) is not None


def _decoded_whole(data: bytes, suffix: str) -> None:
    """Rebuilt byte for byte (``round_trip``), and every stream of it decoded, none kept raw."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"x{suffix}"
        path.write_bytes(data)
        encoded = round_trip(path, Path(tmp))
        assert encoded is not None and encoded.streams_raw == 0, encoded


@settings(max_examples=examples(25), deadline=None)
@given(_trees, st.integers(1, 9))
def test_tar_bz2_at_every_level(tree: dict[str, bytes], level: int) -> None:
    _decoded_whole(bz2.compress(tar_bytes(tree), compresslevel=level), ".tar.bz2")


@settings(max_examples=examples(25), deadline=None)
@given(_trees, st.integers(-5, 19), st.booleans(), st.booleans())
def test_tar_zst_at_every_level(tree: dict[str, bytes], level: int, checksum: bool, pledged: bool) -> None:
    data = tar_bytes(tree)
    encoder = PinnedZstd(level, checksum=checksum, pledged_size=len(data) if pledged else None)
    _decoded_whole(encoder.compress(data) + encoder.flush(), ".tar.zst")
