"""Bad deltas and wrong references: always DecodeError or the exact target, never a crash."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.codec_strategies import mutated_pairs

from deltaglider import codec
from deltaglider.errors import CodecError, DecodeError

SECONDARIES: list[codec.Secondary] = ["lzma", "djw", "fgk", None]


def _pair(seed: int = 1, size: int = 60_000) -> tuple[bytes, bytes]:
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(4, 40)) for _ in range(64)]
    source = b"".join(rng.choice(words) for _ in range(size // 20))
    target = source[:1000] + rng.randbytes(700) + source[1500:30_000] + source[40_000:] + source[:3000]
    return source, target


def _decode_outcome(source: bytes, delta: bytes, target: bytes) -> str:
    """'exact' or 'error'; anything else (a wrong result, another exception) fails the test."""
    try:
        out = codec.decode(source, delta, expected_size=len(target))
    except DecodeError:
        return "error"
    assert out == target, "a damaged delta decoded to wrong bytes without an error"
    return "exact"


@pytest.mark.parametrize("secondary", SECONDARIES)
def test_every_single_byte_flip_is_caught(secondary: codec.Secondary) -> None:
    source, target = _pair()
    delta = codec.encode(source, target, secondary=secondary)
    outcomes = set()
    for i in range(len(delta)):
        for mask in (0x01, 0x80, 0xFF):
            damaged = bytearray(delta)
            damaged[i] ^= mask
            outcomes.add(_decode_outcome(source, bytes(damaged), target))
    assert "error" in outcomes


@pytest.mark.parametrize("secondary", SECONDARIES)
def test_every_truncation_is_caught(secondary: codec.Secondary) -> None:
    source, target = _pair(2)
    delta = codec.encode(source, target, secondary=secondary)
    for cut in range(len(delta)):
        assert _decode_outcome(source, delta[:cut], target) == "error", f"cut at {cut} decoded"


def test_truncation_at_a_window_boundary_needs_expected_size() -> None:
    # VCDIFF has no trailer: a delta cut between windows is a valid, shorter delta. Only the size
    # (or a hash) tells; this pins that the codec reports it when it is given the size.
    rng = random.Random(3)
    source = rng.randbytes(9 * 2**20)
    target = source  # > 8 MiB: two target windows
    delta = codec.encode(source, target, secondary=None)
    for cut in range(len(delta) - 1, 0, -1):
        try:
            partial = codec.decode(source, delta[:cut])
        except DecodeError:
            continue
        assert len(partial) < len(target)
        with pytest.raises(DecodeError, match="expected"):
            codec.decode(source, delta[:cut], expected_size=len(target))
        break
    else:
        pytest.fail("no prefix of a two-window delta decoded on its own")


@given(pair=mutated_pairs(max_size=80_000), data=st.data())
def test_random_damage_never_yields_wrong_bytes(pair: tuple[bytes, bytes], data: st.DataObject) -> None:
    source, target = pair
    delta = bytearray(codec.encode(source, target))
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        i = data.draw(st.integers(min_value=0, max_value=len(delta) - 1))
        delta[i] = data.draw(st.integers(min_value=0, max_value=255))
    _decode_outcome(source, bytes(delta), target)


@given(garbage=st.binary(max_size=4000))
def test_garbage_is_not_a_delta(garbage: bytes) -> None:
    with pytest.raises(DecodeError):
        codec.decode(b"some source", garbage)


def test_empty_delta_is_an_error() -> None:
    with pytest.raises(DecodeError, match="empty"):
        codec.decode(b"source", b"")


@pytest.mark.parametrize("secondary", SECONDARIES)
def test_wrong_reference_is_caught_by_checksum(secondary: codec.Secondary) -> None:
    source, target = _pair(4)
    delta = codec.encode(source, target, secondary=secondary)
    other = random.Random(5).randbytes(len(source))
    with pytest.raises(DecodeError) as info:
        codec.decode(other, delta)
    assert info.value.name == "XD3_INVALID_INPUT"
    assert "checksum" in info.value.detail


@given(pair=mutated_pairs(max_size=80_000), flip=st.integers(min_value=0))
def test_slightly_wrong_reference_gives_error_or_exact_target(pair: tuple[bytes, bytes], flip: int) -> None:
    source, target = pair
    if not source:
        return
    delta = codec.encode(source, target)
    wrong = bytearray(source)
    wrong[flip % len(wrong)] ^= 0x5A
    _decode_outcome(bytes(wrong), delta, target)


def test_missing_reference_is_an_error() -> None:
    source, target = _pair(6)
    with pytest.raises(DecodeError, match="source"):
        codec.decode(b"", codec.encode(source, target))


def test_shorter_reference_is_an_error() -> None:
    source, target = _pair(7)
    delta = codec.encode(source, target)
    with pytest.raises(DecodeError):
        codec.decode(source[: len(source) // 2], delta)


def test_output_past_expected_size_stops() -> None:
    source, target = _pair(8)
    delta = codec.encode(source, target)
    with pytest.raises(DecodeError, match="larger than the expected size"):
        codec.decode(source, delta, expected_size=len(target) - 1)
    with pytest.raises(DecodeError, match="expected"):
        codec.decode(source, delta, expected_size=len(target) + 1)


def test_errors_are_in_the_family() -> None:
    assert issubclass(DecodeError, CodecError)
    assert issubclass(DecodeError, ValueError)
    assert issubclass(CodecError, RuntimeError)


def test_a_code_table_size_of_two_is_bad_input_not_lack_of_memory() -> None:
    """Found by the property above: xdelta3 reports this header field as ENOMEM."""
    source, target = _pair()
    delta = bytearray(codec.encode(source, target, secondary=None))
    # Header indicator (byte 4): VCD_CODETABLE (0x02) set, then its size (a varint) of 2.
    damaged = bytes(delta[:4]) + bytes([0x02, 0x02]) + bytes(delta[5:])
    with pytest.raises(DecodeError, match="invalid code table size"):
        codec.decode(source, damaged, expected_size=len(target))
