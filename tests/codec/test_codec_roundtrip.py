"""Round trips through the in-memory codec, on arbitrary and on edited (realistic) pairs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.codec_strategies import mutated_pairs, structured_bytes

from deltaglider import codec

SECONDARIES: list[codec.Secondary] = ["lzma", "djw", "fgk", None]


@pytest.mark.parametrize("secondary", SECONDARIES)
@given(pair=mutated_pairs())
def test_mutated_pairs_round_trip(secondary: codec.Secondary, pair: tuple[bytes, bytes]) -> None:
    source, target = pair
    delta = codec.encode(source, target, secondary=secondary)
    assert codec.decode(source, delta, expected_size=len(target)) == target


@pytest.mark.parametrize("secondary", SECONDARIES)
@given(source=st.binary(max_size=5000), target=st.binary(max_size=5000))
def test_arbitrary_pairs_round_trip(secondary: codec.Secondary, source: bytes, target: bytes) -> None:
    delta = codec.encode(source, target, secondary=secondary)
    assert codec.decode(source, delta) == target


@given(pair=mutated_pairs(max_size=50_000), level=st.integers(min_value=0, max_value=9))
def test_every_level_round_trips(pair: tuple[bytes, bytes], level: int) -> None:
    source, target = pair
    delta = codec.encode(source, target, level=level)
    assert codec.decode(source, delta) == target


@pytest.mark.parametrize(
    ("source", "target"),
    [(b"", b""), (b"", b"abc"), (b"abc", b""), (b"x" * 100_000, b""), (b"", b"y" * 100_000)],
    ids=["both-empty", "empty-source", "empty-target", "empty-target-big-source", "big-target-no-source"],
)
@pytest.mark.parametrize("secondary", SECONDARIES)
def test_empty_inputs(source: bytes, target: bytes, secondary: codec.Secondary) -> None:
    delta = codec.encode(source, target, secondary=secondary)
    assert delta, "even an empty target has a VCDIFF header"
    assert codec.decode(source, delta, expected_size=len(target)) == target


@given(data=structured_bytes(max_size=300_000))
def test_identical_pair_gives_a_tiny_delta(data: bytes) -> None:
    delta = codec.encode(data, data)
    assert len(delta) <= 64 + len(data) // 1000
    assert codec.decode(data, delta) == data


def test_multi_window_target_round_trips() -> None:
    # Larger than the 8 MiB target window, so several VCDIFF windows are written and decoded.
    rng = random.Random(7)
    source = rng.randbytes(9 * 2**20)
    target = source[: 5 * 2**20] + rng.randbytes(1000) + source[5 * 2**20 :]
    delta = codec.encode(source, target)
    assert len(delta) < 64 * 1024
    assert codec.decode(source, delta, expected_size=len(target)) == target


def test_accepts_any_bytes_like_without_copy_semantics_changing_result() -> None:
    source = bytes(range(256)) * 400
    target = source[:5000] + b"edit" + source[5000:]
    expected = codec.encode(source, target)
    for make in (bytearray, memoryview, lambda b: memoryview(bytearray(b))):
        assert codec.encode(make(source), make(target)) == expected
        assert codec.decode(make(source), make(expected)) == target


@pytest.mark.parametrize("level", [-1, 10, 1.5, True, "9"])
def test_rejects_bad_level(level: object) -> None:
    with pytest.raises(ValueError, match="level"):
        codec.encode(b"a", b"b", level=level)  # type: ignore[arg-type]


def test_rejects_unknown_secondary() -> None:
    with pytest.raises(ValueError, match="secondary"):
        codec.encode(b"a", b"b", secondary="zstd")  # type: ignore[arg-type]


def test_rejects_negative_expected_size() -> None:
    with pytest.raises(ValueError, match="expected_size"):
        codec.decode(b"a", codec.encode(b"a", b"b"), expected_size=-1)
