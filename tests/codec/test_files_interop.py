"""File deltas and the stock xdelta3 binary, both ways, including sliding and whole-source windows."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from support.binaries import xdelta3_binary

from deltaglider import codec

pytestmark = pytest.mark.interop

MIB = 1 << 20


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _text(rng: random.Random, size: int) -> bytes:
    words = [rng.randbytes(rng.randint(3, 16)).hex().encode() for _ in range(1000)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b"\n"
    return bytes(out[:size])


def _pairs() -> dict[str, tuple[bytes, bytes]]:
    rng = random.Random(42)
    small = _text(rng, 200_000)
    big = _text(rng, 3 * MIB)
    noise = rng.randbytes(3 * MIB)
    return {
        # Under 1 MiB of source: a whole-source window, no probe.
        "small": (small, small[:50_000] + b"inserted" * 100 + small[60_000:]),
        # Aligned edits in 3 MiB: the probe picks a narrow sliding window.
        "sliding": (big, big[:MIB] + rng.randbytes(20_000) + big[MIB:]),
        # Halves swapped: content moved by half the file, so the window covers all of it.
        "moved": (big, big[len(big) // 2 :] + big[: len(big) // 2]),
        # Over one 8 MiB target window (random bytes: long matches, quick to encode).
        "windows": (noise, noise * 3 + rng.randbytes(1000) + noise[:1000]),
    }


PAIRS = _pairs()


# Every secondary on the small pair; the common ones on the larger (slower) pairs.
OURS = [("small", s) for s in ("lzma", "auto", "djw", "fgk", None)] + [
    (name, s) for name in ("sliding", "moved", "windows") for s in ("lzma", "auto", None)
]
BINARY_FLAGS = [["-9"], ["-9", "-S", "none"], ["-9", "-S", "djw"], ["-3"], ["-9", "-A"]]
THEIRS = [("small", f) for f in BINARY_FLAGS] + [
    (name, f) for name in ("sliding", "moved", "windows") for f in BINARY_FLAGS[:2]
]


@pytest.mark.parametrize(("name", "secondary"), OURS)
def test_our_file_deltas_decode_with_the_binary(
    tmp_path: Path, name: str, secondary: codec.Secondary
) -> None:
    binary = xdelta3_binary()
    source, target = PAIRS[name]
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    codec.encode_file(tmp_path / "src", tmp_path / "tgt", tmp_path / "d", secondary=secondary)
    _run(binary, "-d", "-f", "-s", str(tmp_path / "src"), str(tmp_path / "d"), str(tmp_path / "out"))
    assert (tmp_path / "out").read_bytes() == target


@pytest.mark.parametrize(("name", "flags"), THEIRS)
def test_binary_deltas_decode_with_decode_file(tmp_path: Path, name: str, flags: list[str]) -> None:
    binary = xdelta3_binary()
    source, target = PAIRS[name]
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    _run(binary, "-e", "-f", *flags, "-s", str(tmp_path / "src"), str(tmp_path / "tgt"), str(tmp_path / "d"))
    written = codec.decode_file(tmp_path / "src", tmp_path / "d", tmp_path / "out", expected_size=len(target))
    assert written == len(target)
    assert (tmp_path / "out").read_bytes() == target


def test_moved_content_needs_our_window(tmp_path: Path) -> None:
    # With a source window narrower than the move (-B 1 MiB) the binary cannot find the swapped
    # halves and stores them; our window follows the source, so both halves are copies.
    binary = xdelta3_binary()
    source, target = PAIRS["moved"]
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    src, tgt = str(tmp_path / "src"), str(tmp_path / "tgt")
    _run(binary, "-e", "-f", "-9", "-B", str(MIB), "-s", src, tgt, str(tmp_path / "narrow"))
    ours = codec.encode_file(tmp_path / "src", tmp_path / "tgt", tmp_path / "d")
    assert ours < 2000
    assert (tmp_path / "narrow").stat().st_size > 100 * ours
