"""The similarity estimate (``core.family.fingerprint``): what it predicts, its text form and the
form it was taken on, its memory."""

from __future__ import annotations

import base64
import io
import random
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deltaglider.core.family import fingerprint as fp
from deltaglider.core.family.fingerprint import (
    Fingerprint,
    estimate_delta_ratio,
    fingerprint,
    fingerprint_stream,
)
from deltaglider.errors import MetadataError

PIECE = 4096


def _random(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _changed(data: bytes, share: float, seed: int) -> bytes:
    """``data`` with ``share`` of its PIECE-sized pieces replaced by new random bytes; a larger share
    with the same seed replaces a superset of the pieces, with the same new bytes."""
    pieces = len(data) // PIECE
    order = random.Random(seed).sample(range(pieces), pieces)
    out = bytearray(data)
    for i in order[: round(share * pieces)]:
        out[i * PIECE : (i + 1) * PIECE] = random.Random(seed * 100_003 + i).randbytes(PIECE)
    return bytes(out)


def _print(data: bytes) -> Fingerprint:
    return fingerprint_stream(io.BytesIO(data))


def test_identical_files_estimate_zero(tmp_path: Path) -> None:
    data = _random(3 << 20, 1)
    (tmp_path / "a").write_bytes(data)
    (tmp_path / "b").write_bytes(data)
    assert estimate_delta_ratio(fingerprint(tmp_path / "a"), fingerprint(tmp_path / "b")) == 0.0


def test_unrelated_random_files_estimate_about_one() -> None:
    assert estimate_delta_ratio(_print(_random(3 << 20, 1)), _print(_random(3 << 20, 2))) > 0.97


@pytest.mark.parametrize("share", [0.05, 0.2, 0.5])
def test_share_changed_is_roughly_the_estimate(share: float) -> None:
    """Sampled regime (far more chunks than SAMPLES): random data, so new bytes do not compress and
    the estimate is the changed share, a little over because a chunk across an edge counts whole."""
    base = _random(4 << 20, 3)
    estimate = estimate_delta_ratio(_print(base), _print(_changed(base, share, 4)))
    assert share * 0.8 - 0.03 <= estimate <= share * 1.4 + 0.03


def test_sizes_differ() -> None:
    """A target that is a quarter of the base is all in it; a target twice the base is half new. The
    sketches' thresholds differ fourfold there: only hashes below both say anything."""
    base = _random(4 << 20, 9)
    assert estimate_delta_ratio(_print(base), _print(base[: 1 << 20])) < 0.03
    assert 0.4 < estimate_delta_ratio(_print(base), _print(base + _random(4 << 20, 10))) < 0.6


def test_compressible_new_data_predicts_a_smaller_delta() -> None:
    """New text compresses, and so does the literal part of a delta."""
    words = [b"alpha", b"beta", b"gamma", b"delta", b"epsilon", b"zeta", b"omega", b"\n"]
    rng = random.Random(5)
    base = b" ".join(rng.choice(words) for _ in range(200_000))
    target = base[: len(base) // 2] + b" ".join(rng.choice(words) for _ in range(100_000))
    random_target = base[: len(base) // 2] + _random(len(target) - len(base) // 2, 6)
    text_estimate = estimate_delta_ratio(_print(base), _print(target))
    assert 0.0 < text_estimate < 0.5 * estimate_delta_ratio(_print(base), _print(random_target))


@given(
    seed=st.integers(0, 1000),
    low=st.integers(0, 30),
    extra=st.integers(10, 30),
)
def test_more_changed_never_estimates_less(seed: int, low: int, extra: int) -> None:
    """Nested edits on a 240 KiB file (few enough chunks that the sketch is exact): ten more changed
    pieces out of sixty (a sixth of the file) raise the estimate."""
    base = _random(60 * PIECE, seed)
    fewer = _changed(base, low / 60, seed + 1)
    more = _changed(base, (low + extra) / 60, seed + 1)
    base_print = _print(base)
    assert estimate_delta_ratio(base_print, _print(fewer)) < estimate_delta_ratio(base_print, _print(more))


def test_text_round_trip_and_size(tmp_path: Path) -> None:
    for size in (0, 1, 100, 50_000, 300_000, 3 << 20):
        path = tmp_path / f"f{size}"
        path.write_bytes(_random(size, size))
        made = fingerprint(path)
        text = made.to_text()
        assert text.isascii() and len(text) < 1500
        assert Fingerprint.from_text(text) == made
        assert made.size == size


def test_text_stays_short_whatever_the_hashes() -> None:
    """The longest packing: SAMPLES gaps all as large as they can be."""
    step = (1 << 32) // fp.SAMPLES
    widest = Fingerprint(1 << 40, 1000, tuple(step * (i + 1) - 1 for i in range(fp.SAMPLES)))
    assert len(widest.to_text()) < 1500
    assert Fingerprint.from_text(widest.to_text()) == widest


@pytest.mark.parametrize(
    "text",
    [
        "",
        "dgfp0:1:1000:AQ==",
        "dgfp1:1:1000",
        "dgfp1:x:1000:AQ==",
        "dgfp1:1:1001:AQ==",
        "dgfp1:1:1000:not base64!",
        "dgfp1:1:1000:gA==",  # a varint cut short
        "dgfp1:1:1000:AgA=",  # a hash repeated
        "dgfp1:0:1000:AQ==",  # an empty file with a chunk
        "dgfp1:1:1000:",  # a non-empty file without one
        "dgfp1:1:1000:gICAgCA=",  # a hash past 32 bits
    ],
)
def test_malformed_text_is_a_metadata_error(text: str) -> None:
    with pytest.raises(MetadataError):
        Fingerprint.from_text(text)


def test_a_fingerprint_longer_than_s3_allows_is_refused_unread() -> None:
    """4 MB of ascending hashes, as a folder store's sidecar can hold: refused before a byte of it is
    decoded, where decoding would build a list of three million hashes first."""
    text = "dgfp1:1:1000:" + base64.b64encode(b"\x01" * (3 << 20)).decode()
    tracemalloc.start()
    try:
        with pytest.raises(MetadataError, match="past S3's limit"):
            Fingerprint.from_text(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 16


def test_empty_and_tiny_files() -> None:
    empty = _print(b"")
    tiny = _print(b"x")
    assert estimate_delta_ratio(tiny, empty) == 0.0
    assert estimate_delta_ratio(empty, tiny) == 1.0
    assert estimate_delta_ratio(tiny, tiny) == 0.0


class _Reads(io.RawIOBase):
    """A stream that records the size of every read."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)
        self.sizes: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.sizes.append(size)
        return self.inner.read(size)


def test_reads_in_blocks_with_bounded_memory(tmp_path: Path) -> None:
    """12 MiB of input, of which a long stretch has no cut point, within a few blocks of memory."""
    data = _random(6 << 20, 7) + bytes(4 << 20) + _random(2 << 20, 8)
    reads = _Reads(data)
    tracemalloc.start()
    try:
        made = fingerprint_stream(reads)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert made.size == len(data)
    assert reads.sizes and all(0 < n <= fp.BLOCK for n in reads.sizes)
    assert peak < 6 * fp.BLOCK
    path = tmp_path / "big"
    path.write_bytes(data)
    assert fingerprint(path) == made


@given(
    segments=st.lists(
        st.tuples(st.sampled_from(["random", "zeros", "ones"]), st.integers(1, 150_000), st.integers(0, 99)),
        min_size=1,
        max_size=6,
    ),
    splits=st.lists(st.integers(0, 1 << 20), max_size=8),
)
def test_same_fingerprint_however_the_stream_is_split(
    segments: list[tuple[str, int, int]], splits: list[int]
) -> None:
    """Cuts and compression samples depend on bytes and offsets only, not on read boundaries: runs
    without a cut point longer than MAX_CHUNK included."""
    fill = {"zeros": b"\x00", "ones": b"\x01"}
    data = b"".join(
        _random(size, seed) if kind == "random" else fill[kind] * size for kind, size, seed in segments
    )
    whole = fp._Sketch()
    whole.feed(data)
    pieces = fp._Sketch()
    previous = 0
    for cut in sorted(min(s, len(data)) for s in splits):
        pieces.feed(data[previous:cut])
        previous = cut
    pieces.feed(data[previous:])
    assert pieces.finish() == whole.finish()


def test_the_text_names_the_form_it_was_taken_on(tmp_path: Path) -> None:
    data = _random(50_000, 12)
    raw = fingerprint_stream(io.BytesIO(data))
    decoded = fingerprint_stream(io.BytesIO(data), "decoded")
    assert (raw.form, decoded.form) == ("raw", "decoded")
    assert raw.hashes == decoded.hashes
    assert raw.to_text().startswith("dgfp1:")
    assert decoded.to_text().startswith("dgfp1-decoded:")
    assert Fingerprint.from_text(decoded.to_text()) == decoded
    assert Fingerprint.from_text(raw.to_text()) == raw


def test_a_value_written_before_forms_existed_reads_as_raw() -> None:
    # Byte for byte what the first format wrote for a file of three chunks.
    old = Fingerprint(1234, 500, (5, 70, 900)).to_text()
    assert old == "dgfp1:1234:500:BUG+Bg=="
    assert Fingerprint.from_text("dgfp1:1234:500:BUG+Bg==").form == "raw"


def test_fingerprints_of_two_forms_are_never_compared() -> None:
    data = _random(20_000, 13)
    with pytest.raises(ValueError, match="raw fingerprint compared with a decoded one"):
        estimate_delta_ratio(
            fingerprint_stream(io.BytesIO(data)), fingerprint_stream(io.BytesIO(data), "decoded")
        )
