"""Deflate streams no zlib setting reproduces (GNU gzip, Info-ZIP, 7-Zip, pigz, flush points) are
rebuilt byte for byte from their choices; hostile choices are refused, never followed into a crash
or a wrong file."""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import tempfile
import tracemalloc
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltaglider._native import NO_LIMIT
from deltaglider._native import reconstruct as native
from deltaglider._native.faults import live_handles
from deltaglider.codec import PinnedDeflater
from deltaglider.errors import DecodeError, RecipeError
from deltaglider.transforms import Segment, encode_container, pack, rebuild, unpack
from deltaglider.transforms.recipe import Recipe
from deltaglider.transforms.reconstruct import (
    CHOICES_ALLOWANCE,
    CHOICES_PER_BYTE,
    MAX_DECODED,
    ReconstructParams,
    analyse,
)
from transforms.helpers import random_trees, round_trip, sample_text, tar_bytes, without_reconstructor
from transforms.producers import seven_zip, seven_zip_gzip_on_tar, write_tree


def _needs(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("tree"), 1)


@pytest.fixture(scope="module")
def tar(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    out = tmp_path_factory.mktemp("tar") / "app.tar"
    out.write_bytes(tar_bytes({p.relative_to(tree).as_posix(): p.read_bytes() for p in files}))
    return out


def _gnu_gzip(tar: Path, out: Path, level: int) -> Path:
    with open(out, "wb") as sink:
        subprocess.run(["gzip", "-c", "-n", f"-{level}", str(tar)], stdout=sink, check=True)
    return out


_SLOW = pytest.mark.slow


@pytest.mark.parametrize("level", [pytest.param(1, marks=_SLOW), 6, pytest.param(9, marks=_SLOW)])
def test_gnu_gzip_is_rebuilt_byte_for_byte(tar: Path, tmp_path: Path, level: int) -> None:
    _needs("gzip")
    encoded = round_trip(_gnu_gzip(tar, tmp_path / "app.tar.gz", level), tmp_path)
    assert encoded is not None and encoded.streams_raw == 0, encoded
    if level != 9:  # zlib at memLevel 9 writes what gzip -9 does on this tree
        assert encoded.reconstructed == 1


def test_gnu_gzip_choices_are_a_small_part_of_the_stream(tar: Path, tmp_path: Path) -> None:
    _needs("gzip")
    path = _gnu_gzip(tar, tmp_path / "app.tar.gz", 6)
    encoded = round_trip(path, tmp_path)
    assert encoded is not None
    (seg,) = [s for s in unpack(encoded.recipe).segments if s.params is not None]
    assert isinstance(seg.params, ReconstructParams)
    assert len(seg.params.stored) < 0.02 * seg.compressed_size, (len(seg.params.stored), seg.compressed_size)


@pytest.mark.parametrize("level", [pytest.param("-1", marks=_SLOW), "-6", pytest.param("-9", marks=_SLOW)])
def test_info_zip_members_are_all_rebuilt(tree: Path, tmp_path: Path, level: str) -> None:
    _needs("zip")
    out = tmp_path / "app.zip"
    subprocess.run(["zip", "-q", "-r", "-X", level, str(out), "pkg"], cwd=tree, check=True)
    encoded = round_trip(out, tmp_path)
    assert encoded is not None and encoded.streams_raw == 0, encoded


@pytest.mark.parametrize(
    "level", [pytest.param("-mx=1", marks=_SLOW), "-mx=5", pytest.param("-mx=9", marks=_SLOW)]
)
def test_seven_zip_members_are_rebuilt_from_their_choices(tree: Path, tmp_path: Path, level: str) -> None:
    _needs("7z")
    out = tmp_path / "app.zip"
    seven_zip(level)(tree, out)
    encoded = round_trip(out, tmp_path)
    assert encoded is not None and encoded.streams_raw == 0, encoded
    assert encoded.reconstructed >= 1


@pytest.mark.slow
def test_seven_zip_gzip_is_rebuilt(tree: Path, tmp_path: Path) -> None:
    _needs("7z")
    out = tmp_path / "app.tar.gz"
    seven_zip_gzip_on_tar(tree, out)
    encoded = round_trip(out, tmp_path)
    assert encoded is not None and encoded.reconstructed == 1, encoded


@pytest.mark.slow
def test_pigz_zopfli_is_rebuilt(tar: Path, tmp_path: Path) -> None:
    _needs("pigz")
    out = tmp_path / "app.tar.gz"
    with open(out, "wb") as sink:
        subprocess.run(["pigz", "-c", "-11", "-n", str(tar)], stdout=sink, check=True)
    encoded = round_trip(out, tmp_path)
    assert encoded is not None and encoded.reconstructed == 1, encoded


def _stream(size: int = 120_000) -> tuple[bytes, bytes]:
    """(decoded, raw deflate) made by the pinned zlib: the same bytes on every machine."""
    decoded = sample_text(size, seed=b"fingerprint")
    deflater = PinnedDeflater(6, 15, 9, zlib.Z_DEFAULT_STRATEGY)
    return decoded, deflater.compress(decoded) + deflater.flush()


def test_the_reconstructor_writes_what_it_always_wrote() -> None:
    # Choices recorded years ago must rebuild the same stream: a vendored update that changes them
    # or the stream they rebuild fails here (vendor/grittibanzli/README.md).
    decoded, deflated = _stream()
    found = native.split(deflated, len(decoded))
    assert found is not None and found[0] == decoded
    assert hashlib.sha256(found[1]).hexdigest() == _FINGERPRINT
    assert native.join(decoded, found[1], len(deflated)) == deflated


_FINGERPRINT = "d2a83155c5946f934a0ae3927789c739117e48d5b9c238d514136f6fd238bce2"


def test_analyse_proves_what_it_returns() -> None:
    decoded, deflated = _stream()
    params = analyse(deflated, decoded)
    assert params is not None and native.join(decoded, params.choices(), len(deflated)) == deflated
    assert analyse(deflated, decoded[:-1] + b"?") is None  # not what the stream decodes to
    assert analyse(b"\xff" * 100, decoded) is None  # not a deflate stream


def test_choices_that_fail_their_proof_leave_the_stream_raw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seen on a real 7-Zip gzip: the library splits a stream into choices it then cannot replay.
    # The proof catches it, and the stream stays as it is rather than be stored unrebuildable.
    def cannot_replay(decoded: bytes, choices: bytes, size: int) -> bytes:
        raise DecodeError("the deflate choices do not fit the decoded bytes", name="BAD_CHOICES")

    monkeypatch.setattr(native, "join", cannot_replay)
    decoded, deflated = _stream()
    assert analyse(deflated, decoded) is None
    path = tmp_path / "x.gz"
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = c.compress(decoded[:9000]) + c.flush(zlib.Z_FULL_FLUSH) + c.compress(decoded[9000:]) + c.flush()
    trailer = zlib.crc32(decoded).to_bytes(4, "little") + len(decoded).to_bytes(4, "little")
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + stream + trailer)
    assert round_trip(path, tmp_path) is None


def _reconstructed_gzip(tmp_path: Path) -> tuple[Path, bytes]:
    """A gzip file whose stream only the reconstructor rebuilds (a flush point in it), and its recipe."""
    payload = sample_text(60_000, seed=b"hostile")
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = (
        c.compress(payload[:20_000]) + c.flush(zlib.Z_FULL_FLUSH) + c.compress(payload[20_000:]) + c.flush()
    )
    trailer = zlib.crc32(payload).to_bytes(4, "little") + len(payload).to_bytes(4, "little")
    path = tmp_path / "x.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + stream + trailer)
    encoded = encode_container(path, tmp_path / "decoded")
    assert encoded is not None and encoded.reconstructed == 1
    return path, encoded.recipe


def _with_choices(recipe: bytes, params: ReconstructParams) -> bytes:
    old = unpack(recipe)
    segments = tuple(
        Segment(s.decoded_size, params, s.compressed_size) if isinstance(s.params, ReconstructParams) else s
        for s in old.segments
    )
    return pack(Recipe(old.container, old.compressor, segments))


def _choices_of(recipe: bytes) -> ReconstructParams:
    (params,) = [s.params for s in unpack(recipe).segments if isinstance(s.params, ReconstructParams)]
    return params


def test_corrupt_choices_are_refused_or_harmless(tmp_path: Path) -> None:
    path, recipe = _reconstructed_gzip(tmp_path)
    raw = _choices_of(recipe).choices()
    decoded = zlib.decompress(path.read_bytes()[10:-8], -15)
    stream = path.read_bytes()[10:-8]
    draw = random.Random(22)
    outcomes = {"refused": 0, "same": 0, "other": 0}
    for _ in range(200):
        bad = bytearray(raw)
        if draw.random() < 0.2:
            del bad[draw.randrange(len(bad)) :]
        for _ in range(draw.randint(1, 4)):
            if bad:
                bad[draw.randrange(len(bad))] = draw.randrange(256)
        try:
            out = native.join(decoded, bytes(bad), NO_LIMIT)
        except DecodeError:
            outcomes["refused"] += 1
            continue
        outcomes["same" if out == stream else "other"] += 1
    # Never a crash; most corruptions are refused outright. Those that rebuild other bytes are
    # caught by the segment's recorded size or, at worst, by the file's SHA-256 (test_sdk_reconstructed).
    assert outcomes["refused"] > 100, outcomes


def test_choices_that_rebuild_another_size_are_refused(tmp_path: Path) -> None:
    _, recipe = _reconstructed_gzip(tmp_path)
    old = unpack(recipe)
    longer = tuple(
        Segment(s.decoded_size, s.params, s.compressed_size + 1)
        if isinstance(s.params, ReconstructParams)
        else s
        for s in old.segments
    )
    # The header's raw segment gives up a byte, so the sizes still add up to the file's.
    first = longer[0]
    longer = (Segment(first.decoded_size - 1), *longer[1:])
    with pytest.raises(RecipeError):
        rebuild(tmp_path / "decoded", pack(Recipe(old.container, old.compressor, longer)), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_zlib_bomb_in_the_choices_is_stopped_at_the_recorded_size(tmp_path: Path) -> None:
    _, recipe = _reconstructed_gzip(tmp_path)
    size = _choices_of(recipe).size
    bomb = ReconstructParams(zlib.compress(bytes(50 << 20), 9), size)
    tracemalloc.start()
    try:
        with pytest.raises(RecipeError, match="not the size recorded"):
            bomb.choices()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * size + (1 << 20), peak  # stopped at the recorded size, not inflated whole
    with pytest.raises(RecipeError):
        rebuild(tmp_path / "decoded", _with_choices(recipe, bomb), tmp_path / "out")
    broken = ReconstructParams(b"\x78\x9c\xff\xff", size)
    with pytest.raises(RecipeError, match="corrupt"):
        broken.choices()


def test_a_recipe_claiming_too_much_is_refused_before_anything_runs() -> None:
    choices = ReconstructParams(zlib.compress(b"x"), 1)
    too_big = Segment(MAX_DECODED + 1, choices, MAX_DECODED)
    with pytest.raises(RecipeError, match="past the limit"):
        unpack(pack(Recipe("gzip", "grittibanzli-429cc56", (too_big,))))
    many = ReconstructParams(zlib.compress(b"x"), CHOICES_PER_BYTE * 200 + CHOICES_ALLOWANCE + 1)
    with pytest.raises(RecipeError, match="more choices"):
        unpack(pack(Recipe("gzip", "grittibanzli-429cc56", (Segment(100, many, 100),))))


def test_a_recipe_of_another_reconstructor_is_refused(tmp_path: Path) -> None:
    _, recipe = _reconstructed_gzip(tmp_path)
    old = unpack(recipe)
    renamed = pack(Recipe(old.container, old.compressor.replace("429cc56", "0000000"), old.segments))
    with pytest.raises(RecipeError, match="was made with"):
        rebuild(tmp_path / "decoded", renamed, tmp_path / "out")


def test_a_stream_past_the_limit_stays_raw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _ = _reconstructed_gzip(tmp_path)
    without_reconstructor(monkeypatch)
    assert encode_container(path, tmp_path / "decoded2") is None
    assert not (tmp_path / "decoded2").exists()


_trees = random_trees()
_PRODUCERS = [("gzip", level) for level in range(1, 10)] + [("zip", level) for level in range(1, 10)]


@settings(max_examples=12, deadline=None)
@given(_trees, st.sampled_from(_PRODUCERS))
def test_random_trees_through_every_producer_and_level(
    tree: dict[str, bytes], made_by: tuple[str, int]
) -> None:
    program, level = made_by
    _needs(program)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if program == "gzip":
            path = root / "x.tar.gz"
            (root / "x.tar").write_bytes(tar_bytes(tree))
            with open(path, "wb") as sink:
                subprocess.run(
                    ["gzip", "-c", "-n", f"-{level}", str(root / "x.tar")], stdout=sink, check=True
                )
        else:
            # Flat names: a tree may hold both "a" and "a/b", which one folder cannot.
            (root / "t").mkdir()
            for name, content in tree.items():
                (root / "t" / name.replace("/", "_")).write_bytes(content)
            path = root / "x.zip"
            (root / "t" / "VERSION").write_bytes(b"1\n")  # never an empty zip, which zip refuses to write
            subprocess.run(["zip", "-q", "-r", "-X", f"-{level}", str(path), "t"], cwd=root, check=True)
        encoded = round_trip(path, root)
        # Every deflate stream decoded, none kept raw (a zip of stored files has none at all).
        assert encoded is None or encoded.streams_raw == 0, encoded


def test_every_result_is_freed_whatever_the_outcome() -> None:
    decoded, deflated = _stream(20_000)
    before = live_handles()
    found = native.split(deflated, len(decoded))
    assert found is not None
    assert native.split(b"\xff" * 64, 1 << 20) is None
    assert native.join(decoded, found[1], len(deflated)) == deflated
    with pytest.raises(DecodeError):
        native.join(decoded, found[1][: len(found[1]) // 2], NO_LIMIT)
    with pytest.raises(DecodeError):
        native.join(decoded, found[1], len(deflated) + 1)
    assert live_handles() == before
