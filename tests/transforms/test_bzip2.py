""".bz2 and .tar.bz2: each stream decoded and rebuilt byte for byte by the pinned libbzip2 at the
block size its header names, or declined cleanly (another encoder, damage, a bomb)."""

from __future__ import annotations

import bz2
import hashlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from deltaglider import transforms
from deltaglider.codec import PinnedBzip2, pinned_libbzip2_version
from deltaglider.errors import RecipeError
from deltaglider.transforms import Recipe, Segment, container, pack, probe, rebuild, unpack
from deltaglider.transforms.base import derive_base
from deltaglider.transforms.bzip2 import Bzip2Params, block_size_of, pinned_libbzip2
from deltaglider.transforms.recipe import BZIP2_MAX_EXPANSION
from deltaglider.transforms.sniff import detect_bytes
from transforms.helpers import disk_cap, round_trip, sample_text


def _needs(*tools: str) -> pytest.MarkDecorator:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}")


#: The output of libbzip2 1.0.8 (``vendor/bzip2``) for ``sample_text(300_000)``: a recipe stored today
#: is rebuilt with this encoder years from now, so its output must not change.
BZIP2_FINGERPRINTS = [
    (1, 38243, "0ae98ae0047279fe9d4595c50176a0249692a4f6e1eebefb327c72e8f7b38c14"),
    (9, 37906, "d7a1bce64cef5ed975cef978e070a955ae434d150649c52575c6697af00d8951"),
]


@pytest.mark.parametrize(("block_size", "size", "sha256"), BZIP2_FINGERPRINTS)
def test_the_pinned_bzip2_encoder_never_changes(block_size: int, size: int, sha256: str) -> None:
    data = sample_text(300_000)
    encoder = PinnedBzip2(block_size)
    out = b"".join(encoder.compress(data[i : i + 7000]) for i in range(0, len(data), 7000)) + encoder.flush()
    assert (len(out), hashlib.sha256(out).hexdigest()) == (size, sha256)


def test_the_pinned_encoder_writes_what_pythons_bz2_does() -> None:
    """Python's bz2 module runs the platform's libbz2 (1.0.x, as every bzip2 the tests meet)."""
    data = sample_text(250_000, seed=b"same")
    for block_size in (1, 4, 9):
        encoder = PinnedBzip2(block_size)
        assert encoder.compress(data) + encoder.flush() == bz2.compress(data, block_size)
    empty = PinnedBzip2(9)
    assert empty.compress(b"") == b"" and empty.flush() == bz2.compress(b"")
    assert pinned_libbzip2().name == f"libbzip2-{pinned_libbzip2_version()}" == "libbzip2-1.0.8"


@pytest.mark.parametrize("block_size", [0, 10, -1])
def test_block_sizes_outside_1_to_9_are_refused(block_size: int) -> None:
    with pytest.raises(ValueError, match="unsupported bzip2 parameters"):
        PinnedBzip2(block_size)
    with pytest.raises(ValueError, match="unsupported bzip2 parameters"):
        Bzip2Params(block_size)


def test_the_extension_exports_no_libbzip2_symbol(tmp_path: Path) -> None:
    """Python's _bz2 loads the system libbz2 into the same process: ours is renamed (dg_BZ2_...) and
    hidden, so neither can resolve to the other."""
    nm = shutil.which("nm")
    if nm is None or sys.platform != "linux":
        pytest.skip("needs binutils' nm on Linux")
    from deltaglider import _xdelta3

    exported = subprocess.run(
        [nm, "-D", "--defined-only", _xdelta3.__file__], capture_output=True, text=True, check=True
    ).stdout
    assert "BZ2_" not in exported and "bz_internal_error" not in exported
    every = subprocess.run([nm, _xdelta3.__file__], capture_output=True, text=True).stdout
    assert " BZ2_bzCompress" not in every  # stripped, or renamed if not


# -- real producers -------------------------------------------------------------------------------


def _tar_of(tmp: Path, seed: bytes = b"t", size: int = 700_000) -> Path:
    """An uncompressed tar of text-like files (several bzip2 blocks at -1, one at -9)."""
    tree = tmp / ("tree-" + seed.decode())
    (tree / "pkg").mkdir(parents=True)
    for i, part in enumerate((size // 7, size // 2, size - size // 7 - size // 2)):
        (tree / "pkg" / f"f{i}.txt").write_bytes(sample_text(part, seed=seed + bytes([i])))
    out = tmp / f"src-{seed.decode()}.tar"
    with tarfile.open(out, "w") as tar:
        tar.add(tree / "pkg", "pkg")
    return out


def _pipe(argv: list[str], src: Path, out: Path) -> Path:
    with open(src, "rb") as stdin, open(out, "wb") as stdout:
        subprocess.run(argv, stdin=stdin, stdout=stdout, check=True)
    return out


@_needs("bzip2")
@pytest.mark.parametrize("level", [1, 5, 9])
def test_bzip2_command(tmp_path: Path, level: int) -> None:
    tar = _tar_of(tmp_path)
    path = _pipe(["bzip2", "-c", f"-{level}"], tar, tmp_path / "a.tar.bz2")
    assert probe.may_decode(path)
    encoded = round_trip(path, tmp_path)
    assert encoded is not None
    assert (encoded.container, encoded.streams_decoded, encoded.streams_raw) == ("bzip2", 1, 0)
    # The decoded stream is the tar itself: a later release's tar is what the delta sees.
    assert (tmp_path / "a.tar.bz2.decoded").read_bytes() == tar.read_bytes()
    assert unpack(encoded.recipe).segments == (
        Segment(tar.stat().st_size, Bzip2Params(level), path.stat().st_size),
    )


@_needs("tar", "bzip2")
def test_gnu_tar_cjf(tmp_path: Path) -> None:
    tar = _tar_of(tmp_path)
    path = tmp_path / "a.tar.bz2"
    subprocess.run(["tar", "cjf", str(path), "-C", str(tmp_path / "tree-t"), "pkg"], check=True)
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and (encoded.streams_decoded, encoded.streams_raw) == (1, 0)
    assert tar.exists()


@pytest.mark.parametrize("level", [1, 9])
def test_pythons_bz2_module_and_tarfile(tmp_path: Path, level: int) -> None:
    path = tmp_path / "a.tar.bz2"
    with tarfile.open(path, "w:bz2", compresslevel=level) as tar:
        tar.add(_tar_of(tmp_path), "inner.tar")
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and encoded.streams_decoded == 1


def test_concatenated_streams_each_rebuild(tmp_path: Path) -> None:
    """``cat a.bz2 b.bz2`` is a valid file that decoders read on through: two segments, each at its
    own block size."""
    first, second = sample_text(300_000, b"one"), sample_text(200_000, b"two")
    path = tmp_path / "two.bz2"
    path.write_bytes(bz2.compress(first, 3) + bz2.compress(second, 9))
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and (encoded.streams_decoded, encoded.streams_raw) == (2, 0)
    params = [s.params for s in unpack(encoded.recipe).segments]
    assert params == [Bzip2Params(3), Bzip2Params(9)]
    assert (tmp_path / "two.bz2.decoded").read_bytes() == first + second


@_needs("pbzip2")
def test_pbzip2_streams_each_rebuild(tmp_path: Path) -> None:
    """pbzip2 compresses each chunk (here 100 kB: -b1) with libbzip2 as a stream of its own."""
    tar = _tar_of(tmp_path)
    path = _pipe(["pbzip2", "-c", "-b1", "-p2", "-9"], tar, tmp_path / "a.tar.bz2")
    encoded = round_trip(path, tmp_path)
    assert encoded is not None
    assert encoded.streams_decoded == -(-tar.stat().st_size // 100_000) and encoded.streams_raw == 0


@_needs("lbzip2")
@pytest.mark.parametrize("size", [300_000, 2_000_000])
def test_lbzip2_is_not_reproduced_and_declined_early(tmp_path: Path, size: int) -> None:
    """lbzip2 has an encoder of its own: the probe refutes its first block (the whole stream when
    that is its only one), the transform declines."""
    path = _pipe(["lbzip2", "-c", "-n2", "-9"], _tar_of(tmp_path, size=size), tmp_path / "a.tar.bz2")
    assert bz2.decompress(path.read_bytes()) == (tmp_path / "src-t.tar").read_bytes()
    assert not probe.may_decode(path)
    assert round_trip(path, tmp_path) is None


def test_the_probe_decides_on_the_first_block_without_decoding_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream of many blocks is judged by its first: at most one block (and a step) is decoded."""
    data = sample_text(1_200_000, b"probe")
    path = tmp_path / "a.bz2"
    path.write_bytes(bz2.compress(data, 1))  # 12 blocks of 100 kB
    fed: list[int] = []
    real = probe._FirstOutput.write

    def counting(self: probe._FirstOutput, chunk: bytes) -> int:
        fed.append(len(chunk))
        return real(self, chunk)

    monkeypatch.setattr(probe._FirstOutput, "write", counting)
    assert probe.may_decode(path)
    assert 50_000 <= sum(fed) <= 100_000 + (1 << 18)
    fed.clear()
    damaged = bytearray(path.read_bytes())
    damaged[40] ^= 0x01  # inside the first block's data
    path.write_bytes(bytes(damaged))
    assert not probe.may_decode(path)


# -- damage and bombs -----------------------------------------------------------------------------


def test_bytes_after_the_last_stream_stay_raw(tmp_path: Path) -> None:
    data = sample_text(200_000, b"tail")
    path = tmp_path / "a.bz2"
    path.write_bytes(bz2.compress(data, 9) + b"\0" * 512 + b"trailing garbage")
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and encoded.streams_decoded == 1
    assert (tmp_path / "a.bz2.decoded").read_bytes() == data + b"\0" * 512 + b"trailing garbage"


@pytest.mark.parametrize("where", ["header", "first block", "middle", "checksum", "truncated"])
def test_damaged_streams_are_declined(tmp_path: Path, where: str) -> None:
    data = bytearray(bz2.compress(sample_text(300_000, b"dmg"), 1))
    if where == "truncated":
        data = data[: len(data) // 2]
    else:
        at = {"header": 3, "first block": 30, "middle": len(data) // 2, "checksum": len(data) - 3}[where]
        data[at] ^= 0x10
    path = tmp_path / "a.bz2"
    path.write_bytes(bytes(data))
    assert round_trip(path, tmp_path) is None
    assert not (tmp_path / "a.bz2.decoded").exists()
    if where in ("header", "first block"):
        assert not probe.may_decode(path)  # it reads no further than the first block
    assert not derive_base(path, tmp_path / "base")
    assert not (tmp_path / "base").exists()


def test_a_second_stream_that_is_damaged_stays_raw(tmp_path: Path) -> None:
    good, bad = (
        bz2.compress(sample_text(100_000, b"a"), 9),
        bytearray(bz2.compress(sample_text(100_000, b"b"))),
    )
    bad[len(bad) // 2] ^= 0x01
    path = tmp_path / "a.bz2"
    path.write_bytes(good + bytes(bad))
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and (encoded.streams_decoded, encoded.streams_raw) == (1, 1)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 MiB of zeros in 100-odd bytes: more than any file of its size is decoded to."""
    encoder = PinnedBzip2(9)
    zeros = bytes(1 << 20)
    out = b"".join(encoder.compress(zeros) for _ in range(80)) + encoder.flush()
    path = tmp_path_factory.mktemp("bomb") / "bomb.bz2"
    path.write_bytes(out)
    assert len(out) < 200 and container.decoded_limit(len(out)) < 80 << 20
    return path


def test_a_bzip2_bomb_is_cut_at_the_decoded_limit(bomb: Path, tmp_path: Path) -> None:
    """Decoding stops within one step past the limit; the file decoded so far is removed."""
    limit = container.decoded_limit(bomb.stat().st_size)
    with disk_cap(limit + (1 << 20)):
        assert transforms.encode_container(bomb, tmp_path / "decoded") is None
        assert not derive_base(bomb, tmp_path / "base")
    assert not (tmp_path / "decoded").exists() and not (tmp_path / "base").exists()


def test_a_recipe_that_claims_more_than_bzip2_expands_to_is_refused() -> None:
    seg = Segment(100 * BZIP2_MAX_EXPANSION + 1, Bzip2Params(9), 100)
    with pytest.raises(RecipeError, match="more than its compression format ever expands"):
        container.check_sizes(Recipe("bzip2", "libbzip2-1.0.8", (seg,)), 100)
    # The bound holds for the densest stream libbzip2 writes: 46 MB of one byte repeated.
    encoder = PinnedBzip2(9)
    dense = encoder.compress(b"a" * 46_000_000) + encoder.flush()
    assert len(dense) * BZIP2_MAX_EXPANSION > 46_000_000


# -- the recipe and the rebuild -------------------------------------------------------------------


def test_bzip2_segments_survive_the_recipe_format() -> None:
    recipe = Recipe(
        "bzip2",
        "libbzip2-1.0.8",
        (Segment(1_000_000, Bzip2Params(1), 5000), Segment(20), Segment(3, Bzip2Params(9), 40)),
    )
    assert unpack(pack(recipe)) == recipe


@pytest.mark.parametrize("block_size", [0, 10, 255])
def test_a_recipe_naming_an_impossible_block_size_is_refused(block_size: int) -> None:
    raw = bytearray(pack(Recipe("bzip2", "libbzip2-1.0.8", (Segment(10, Bzip2Params(9), 40),))))
    assert raw[-1] == 9
    raw[-1] = block_size
    with pytest.raises(RecipeError, match="unsupported bzip2 parameters"):
        unpack(bytes(raw))


def test_a_recipe_made_by_another_libbzip2_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.bz2"
    path.write_bytes(bz2.compress(sample_text(50_000), 9))
    encoded = transforms.encode_container(path, tmp_path / "decoded")
    assert encoded is not None
    recipe = unpack(encoded.recipe)
    assert recipe.compressor == "libbzip2-1.0.8"
    other = pack(Recipe(recipe.container, "libbzip2-1.0.6", recipe.segments))
    with pytest.raises(RecipeError, match=r"libbzip2-1\.0\.6"):
        rebuild(tmp_path / "decoded", other, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_wrong_decoded_stream_fails_the_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "a.bz2"
    path.write_bytes(bz2.compress(sample_text(50_000), 9))
    encoded = transforms.encode_container(path, tmp_path / "decoded")
    assert encoded is not None
    decoded = bytearray((tmp_path / "decoded").read_bytes())
    decoded[100] ^= 1
    (tmp_path / "decoded").write_bytes(bytes(decoded))
    with pytest.raises(RecipeError, match=r"another size|recompressed"):
        rebuild(tmp_path / "decoded", encoded.recipe, tmp_path / "out")


# -- telling a bzip2 file by its head -------------------------------------------------------------


def test_sniffing() -> None:
    assert detect_bytes(bz2.compress(b"x" * 100, 7)) == "bzip2"
    assert detect_bytes(bz2.compress(b"")) == "bzip2"  # the end-of-stream marker follows the header
    assert detect_bytes(b"BZh0" + bz2.compress(b"x")[4:]) is None
    assert detect_bytes(b"BZh9 not a block") is None
    assert block_size_of(b"BZh5") == 5
    assert block_size_of(b"BZh") is None and block_size_of(b"BZhx") is None


def _deb_with_a_bzip2_member(folder: Path, text: bytes) -> Path:
    """An older-style .deb: its data.tar.bz2 written by the bzip2 command, packed by binutils' ar
    (what dpkg-deb did before it dropped bzip2)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "debian-binary").write_bytes(b"2.0\n")
    with tarfile.open(folder / "control.tar", "w") as tar:
        tar.add(__file__, "control")
    (folder / "data.txt").write_bytes(text)
    with tarfile.open(folder / "data.tar", "w") as tar:
        tar.add(folder / "data.txt", "usr/share/demo/data.txt")
    subprocess.run(["bzip2", "-9", "-k", str(folder / "data.tar")], check=True)
    subprocess.run(["bzip2", "-9", "-k", str(folder / "control.tar")], check=True)
    deb = folder / "demo.deb"
    members = ["debian-binary", "control.tar.bz2", "data.tar.bz2"]
    subprocess.run(["ar", "qcD", str(deb), *members], cwd=folder, check=True)
    return deb


@pytest.mark.skipif(shutil.which("bzip2") is None or shutil.which("ar") is None, reason="bzip2 and ar needed")
def test_a_deb_has_its_bzip2_members_decoded_and_only_newer_bases_decode_them(tmp_path: Path) -> None:
    deb = _deb_with_a_bzip2_member(tmp_path / "pkg", sample_text(300_000, seed=b"deb"))
    encoded = round_trip(deb, tmp_path)
    assert encoded is not None and encoded.container == "ar"
    assert (encoded.streams_decoded, encoded.streams_raw) == (2, 0)
    assert unpack(encoded.recipe).compressor == pinned_libbzip2().name
    # inflated-v3 decodes them as the upload does; the older formats keep them as they are, as when
    # deltas were made against those.
    newer, older = tmp_path / "v3.base", tmp_path / "v2.base"
    assert derive_base(deb, newer, "inflated-v3")
    assert not derive_base(deb, older, "inflated-v2")  # nothing of it that format decodes
    assert newer.stat().st_size > 300_000 > deb.stat().st_size
