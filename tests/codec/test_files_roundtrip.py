"""File-to-file encode and decode: round trips, and the same delta bytes as the in-memory codec."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.codec_strategies import mutated_pairs

from deltaglider import codec

SECONDARIES: list[codec.Secondary] = ["lzma", "auto", "djw", "fgk", None]
MIB = 1 << 20


def _write_pair(folder: Path, source: bytes, target: bytes) -> tuple[Path, Path]:
    (folder / "src").write_bytes(source)
    (folder / "tgt").write_bytes(target)
    return folder / "src", folder / "tgt"


def _round_trip(
    folder: Path,
    source: bytes,
    target: bytes,
    *,
    level: int = 9,
    secondary: codec.Secondary = "auto",
    memory_budget: int = codec.DEFAULT_MEMORY_BUDGET,
) -> bytes:
    """Encodes and decodes through files; returns the delta file's bytes."""
    src, tgt = _write_pair(folder, source, target)
    size = codec.encode_file(
        src, tgt, folder / "delta", level=level, secondary=secondary, memory_budget=memory_budget
    )
    delta = (folder / "delta").read_bytes()
    assert size == len(delta)
    written = codec.decode_file(src, folder / "delta", folder / "out", expected_size=len(target))
    assert written == len(target)
    assert (folder / "out").read_bytes() == target
    return delta


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".dg-part"))


def _structured(rng: random.Random, size: int) -> bytes:
    """Text-like bytes with repeats, so that matches and LZMA both have something to do."""
    words = [rng.randbytes(rng.randint(4, 24)).hex().encode() for _ in range(512)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


@pytest.mark.parametrize("secondary", SECONDARIES)
@given(pair=mutated_pairs())
def test_files_round_trip(
    tmp_path_factory: pytest.TempPathFactory, secondary: codec.Secondary, pair: tuple[bytes, bytes]
) -> None:
    folder = tmp_path_factory.mktemp("rt")
    _round_trip(folder, *pair, secondary=secondary)
    assert _leftovers(folder) == []


@pytest.mark.parametrize("secondary", SECONDARIES)
@given(pair=mutated_pairs(), level=st.integers(min_value=0, max_value=9))
def test_streaming_and_in_memory_deltas_are_identical(
    tmp_path_factory: pytest.TempPathFactory,
    secondary: codec.Secondary,
    pair: tuple[bytes, bytes],
    level: int,
) -> None:
    folder = tmp_path_factory.mktemp("same")
    source, target = pair
    from_files = _round_trip(folder, source, target, level=level, secondary=secondary)
    assert from_files == codec.encode(source, target, level=level, secondary=secondary)


@pytest.mark.parametrize(
    "target_size",
    [8 * MIB, 8 * MIB + 1, 16 * MIB, 8 * MIB - 1],
    ids=["one-window-exactly", "window-plus-one", "two-windows-exactly", "window-minus-one"],
)
def test_identical_at_target_window_boundaries(tmp_path: Path, target_size: int) -> None:
    # The file reader must flush xdelta3 on the same chunk as the in-memory reader: a target of an
    # exact multiple of the 8 MiB window would otherwise end with an extra, empty window.
    rng = random.Random(target_size)
    source = rng.randbytes(17 * MIB)  # random: long matches, quick to encode at 16 MiB
    target = (
        source[:MIB] + rng.randbytes(4096) + source[MIB + 4096 : target_size - 4096] + rng.randbytes(4096)
    )
    assert len(target) == target_size
    from_files = _round_trip(tmp_path, source, target, secondary="lzma")
    assert from_files == codec.encode(source, target, secondary="lzma")


def test_identical_when_the_probe_narrows_the_window(tmp_path: Path) -> None:
    # Above 1 MiB of source the encoders probe how far content moved and may slide a narrow window;
    # both must see the same bytes and choose the same one.
    rng = random.Random(11)
    source = _structured(rng, 6 * MIB)
    target = source[: 2 * MIB] + rng.randbytes(30_000) + source[2 * MIB + 5000 :]
    plan = codec.plan_encode(len(source), len(target))
    assert plan.covers_source
    for secondary in SECONDARIES:
        from_files = _round_trip(tmp_path, source, target, secondary=secondary)
        assert from_files == codec.encode(source, target, secondary=secondary), secondary


@pytest.mark.parametrize("budget", [32 * MIB, 64 * MIB, 512 * MIB])
def test_identical_under_a_memory_budget(tmp_path: Path, budget: int) -> None:
    rng = random.Random(budget)
    source = rng.randbytes(5 * MIB)
    target = source[3 * MIB :] + rng.randbytes(1000) + source[: 3 * MIB]
    from_files = _round_trip(tmp_path, source, target, memory_budget=budget)
    assert from_files == codec.encode(source, target, memory_budget=budget)


@pytest.mark.parametrize(
    ("source", "target"),
    [(b"", b""), (b"", b"abc" * 1000), (b"abc" * 1000, b""), (b"x" * 100, b"x" * 100)],
    ids=["both-empty", "empty-source", "empty-target", "identical"],
)
@pytest.mark.parametrize("secondary", SECONDARIES)
def test_empty_and_trivial_files(
    tmp_path: Path, source: bytes, target: bytes, secondary: codec.Secondary
) -> None:
    delta = _round_trip(tmp_path, source, target, secondary=secondary)
    assert delta == codec.encode(source, target, secondary=secondary)


def test_decode_file_writes_over_an_existing_output(tmp_path: Path) -> None:
    source, target = b"hello world " * 1000, b"hello there " * 1000
    src, tgt = _write_pair(tmp_path, source, target)
    codec.encode_file(src, tgt, tmp_path / "delta")
    (tmp_path / "out").write_bytes(b"old contents")
    codec.decode_file(src, tmp_path / "delta", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == target


def test_output_may_replace_its_own_source(tmp_path: Path) -> None:
    # The source stays mapped from the old file while the output goes to a temporary name, so
    # rebuilding a file in place (source path == output path) is safe.
    source, target = b"version one " * 5000, b"version two " * 5000
    src, tgt = _write_pair(tmp_path, source, target)
    codec.encode_file(src, tgt, tmp_path / "delta")
    codec.decode_file(src, tmp_path / "delta", src)
    assert src.read_bytes() == target
    assert _leftovers(tmp_path) == []


def test_auto_leaves_the_data_section_of_compressed_targets_alone(tmp_path: Path) -> None:
    rng = random.Random(5)
    source = rng.randbytes(300_000)  # incompressible, like a wheel's deflated members
    target = source[:100_000] + rng.randbytes(50_000) + source[100_000:]
    auto = codec.encode(source, target, secondary="auto")
    lzma = codec.encode(source, target, secondary="lzma")
    # The 50 KB of new bytes sit raw in the data section: LZMA only spends time on them.
    assert auto != lzma
    assert len(auto) <= len(lzma) + 1024
    text = _structured(rng, 300_000)
    edited = text[:100_000] + _structured(rng, 50_000) + text[100_000:]
    assert codec.encode(text, edited, secondary="auto") == codec.encode(text, edited, secondary="lzma")


def test_auto_compresses_harder_where_it_pays(tmp_path: Path) -> None:
    # From 4 MiB of target, "auto" runs LZMA at preset 6 when the budget allows (here, text-like
    # data: the data section is compressed too); files and memory still agree.
    rng = random.Random(6)
    source = _structured(rng, 5 * MIB)
    target = source[: 2 * MIB] + _structured(rng, 200_000) + source[2 * MIB :]
    assert codec.plan_encode(len(source), len(target), secondary="auto").lzma_preset in (0, 6)
    auto = _round_trip(tmp_path, source, target, secondary="auto")
    lzma = codec.encode(source, target, secondary="lzma")
    assert auto == codec.encode(source, target, secondary="auto")
    assert len(auto) < len(lzma)
    # Under 4 MiB it stays at the binary's preset 0 (stronger presets zero tens of MiB up front).
    assert codec.plan_encode(100_000, 100_000, secondary="auto").lzma_preset == 0
