"""xz streams and .deb (ar) archives: decoded and rebuilt byte for byte, or declined cleanly."""

from __future__ import annotations

import gzip
import hashlib
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest

from deltaglider.codec import LZMA_PRESET_EXTREME, PinnedLzma2
from deltaglider.transforms import Recipe, Segment, pack, unpack
from deltaglider.transforms.lzma2 import Lzma2Params, dict_size_of
from transforms.helpers import round_trip, sample_text, tar_bytes, xz_naming_dictionary

needs_xz = pytest.mark.skipif(shutil.which("xz") is None, reason="the xz command is not installed")

#: Raw LZMA2 of ``sample_text(300_000)`` by liblzma 5.4.1 (the version vendored in ``vendor/xz``): a
#: recipe stored today is rebuilt with this encoder years from now, so its output must not change.
LZMA2_FINGERPRINTS = [
    (6, 8 << 20, 44425, "391025402b07ebede05ad33be7405de080eea6cf96b4dd5e3dcb86cc97d3782a"),
    (1, 1 << 20, 63495, "f0829f49e5099b92d606c9d5e290f49e57e615759b8b890b6ffdb366ee466b92"),
    (
        9 | LZMA_PRESET_EXTREME,
        64 << 20,
        44473,
        "c62b396bfeec258689cbc94a82897024a7f3c54c2f8c54e7d69d58cffd36cf38",
    ),
    (0, 256 << 10, 64830, "95f131831f122be53c43eeee240ad0ec4411905f41bd87974fcab8ad905dfddc"),
]


@pytest.mark.parametrize(("preset", "dict_size", "size", "sha256"), LZMA2_FINGERPRINTS)
def test_the_pinned_lzma2_encoder_never_changes(preset: int, dict_size: int, size: int, sha256: str) -> None:
    data = sample_text(300_000)
    encoder = PinnedLzma2(preset, dict_size)
    out = b"".join(encoder.compress(data[i : i + 7000]) for i in range(0, len(data), 7000)) + encoder.flush()
    assert (len(out), hashlib.sha256(out).hexdigest()) == (size, sha256)


def _payload(size: int = 400_000, seed: bytes = b"xz") -> bytes:
    return sample_text(size, seed)


@needs_xz
@pytest.mark.parametrize(
    "flags",
    [
        ["-0"],
        ["-1"],
        ["-6"],
        ["-9"],
        ["-6e"],
        ["-3", "--check=sha256"],
        ["-6", "--check=crc32"],
        ["-6", "--check=none"],
    ],
)
def test_xz_command_single_block(tmp_path: Path, flags: list[str]) -> None:
    src = tmp_path / "data.tar"
    src.write_bytes(_payload())
    path = tmp_path / "data.tar.xz"
    with open(path, "wb") as out:
        subprocess.run(["xz", "-c", *flags, str(src)], stdout=out, check=True)
    encoded = round_trip(path, tmp_path)
    assert encoded is not None
    assert (encoded.container, encoded.streams_decoded, encoded.streams_raw) == ("xz", 1, 0)
    assert encoded.decoded_size > src.stat().st_size  # the content plus the container's raw bytes


@needs_xz
def test_multithreaded_xz_blocks_each_rebuild(tmp_path: Path) -> None:
    """xz -T2 (and dpkg) split the input into independently compressed blocks with sizes in their
    headers."""
    src = tmp_path / "data.tar"
    src.write_bytes(_payload(700_000))
    path = tmp_path / "data.tar.xz"
    with open(path, "wb") as out:
        subprocess.run(["xz", "-c", "-6", "-T2", "--block-size=200KiB", str(src)], stdout=out, check=True)
    encoded = round_trip(path, tmp_path)
    assert encoded is not None
    assert (encoded.streams_decoded, encoded.streams_raw) == (4, 0)


def test_python_lzma(tmp_path: Path) -> None:
    path = tmp_path / "a.xz"
    path.write_bytes(lzma.compress(_payload(), preset=2))
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and encoded.streams_decoded == 1


def test_a_bcj_filtered_block_is_not_decoded(tmp_path: Path) -> None:
    path = tmp_path / "a.xz"
    filters = [{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2, "preset": 6}]
    path.write_bytes(lzma.compress(_payload(), format=lzma.FORMAT_XZ, filters=filters))
    assert round_trip(path, tmp_path) is None  # nothing decoded: the transform declines


def test_concatenated_streams_are_declined(tmp_path: Path) -> None:
    path = tmp_path / "a.xz"
    path.write_bytes(lzma.compress(_payload(50_000)) + lzma.compress(_payload(50_000, b"2")))
    assert round_trip(path, tmp_path) is None


@pytest.mark.parametrize("where", ["index", "footer", "payload"])
def test_damaged_files_are_declined_or_rebuilt_exactly(tmp_path: Path, where: str) -> None:
    data = bytearray(lzma.compress(_payload(100_000)))
    at = {"index": len(data) - 16, "footer": len(data) - 6, "payload": len(data) // 2}[where]
    data[at] ^= 0x55
    path = tmp_path / "a.xz"
    path.write_bytes(bytes(data))
    round_trip(path, tmp_path)  # declined (None) or byte-exact: round_trip asserts which


@pytest.mark.parametrize("props", [38, 39, 40])
def test_a_block_naming_a_dictionary_xz_cannot_write_with_stays_raw(tmp_path: Path, props: int) -> None:
    """2 GiB, 3 GiB, 4 GiB - 1: past what liblzma's encoder takes, so no preset rebuilds the block."""
    path = tmp_path / "a.xz"
    path.write_bytes(xz_naming_dictionary(_payload(100_000), props))
    assert lzma.decompress(path.read_bytes()) == _payload(100_000)
    assert round_trip(path, tmp_path) is None


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    """A Debian-style ar archive."""
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        assert len(header) == 60
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def test_a_deb_has_its_xz_and_gzip_members_decoded(tmp_path: Path) -> None:
    control = tar_bytes({"control": b"Package: demo\nVersion: 1.0\n"})
    data = tar_bytes(
        {"usr/lib/libdemo.so": _payload(300_000), "usr/share/doc/README": sample_text(20_000, b"r")}
    )
    deb = _ar(
        [
            ("debian-binary", b"2.0\n"),
            ("control.tar.gz", gzip.compress(control, compresslevel=9, mtime=0)),
            ("data.tar.xz", lzma.compress(data, preset=6)),
        ]
    )
    path = tmp_path / "demo_1.0_amd64.deb"
    path.write_bytes(deb)
    encoded = round_trip(path, tmp_path)
    assert encoded is not None
    assert (encoded.container, encoded.streams_decoded, encoded.streams_raw) == ("ar", 2, 0)
    assert unpack(encoded.recipe).compressor == "zlib-1.2.13+liblzma-5.4.1"


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
def test_a_deb_built_by_dpkg_deb(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: demo\nVersion: 1.0\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: demo\n"
    )
    (root / "usr" / "share" / "demo").mkdir(parents=True)
    (root / "usr" / "share" / "demo" / "data.txt").write_bytes(_payload(500_000))
    path = tmp_path / "demo.deb"
    subprocess.run(
        ["dpkg-deb", "-Zxz", "--root-owner-group", "--build", str(root), str(path)],
        check=True,
        capture_output=True,
    )
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and encoded.container == "ar"
    assert encoded.streams_decoded >= 2  # control.tar.xz and data.tar.xz


def test_lzma2_segments_survive_the_recipe_format() -> None:
    recipe = Recipe(
        "xz",
        "liblzma-5.4.1",
        (Segment(12), Segment(1000, Lzma2Params(6, True, 8 << 20), 321), Segment(40)),
    )
    assert unpack(pack(recipe)) == recipe


def test_dictionary_sizes_from_the_properties_byte() -> None:
    assert dict_size_of(0) == 4096
    assert dict_size_of(1) == 6144
    assert dict_size_of(22) == 8 << 20  # xz -6
    assert dict_size_of(26) == 32 << 20
    assert dict_size_of(40) == 0xFFFFFFFF
    assert dict_size_of(41) is None
