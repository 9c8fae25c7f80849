"""Deltas crafted to make the decoder allocate absurd amounts must fail fast with DecodeError.

xdelta3 allocates the decompressed size a secondary-compressed section declares, unchecked; the
glue caps what one decoder stream may hold (native/dg_alloc.h). Sizes of 4 GiB and more are already
refused by xdelta3's own integer parsing (usize_t is 32-bit in our build); everything below reached
malloc before the cap.
"""

from __future__ import annotations

import random
import time

import pytest
from support.vcdiff import VCD_DATACOMP, parse_first_window, read_varint, write_varint

from deltaglider import codec
from deltaglider.errors import DecodeError


def _pair() -> tuple[bytes, bytes]:
    rng = random.Random(3)
    words = [rng.randbytes(12) for _ in range(50)]
    source = b"".join(rng.choice(words) for _ in range(3000))
    # New text the source lacks, compressible, so that xdelta3 does compress the data section.
    inserted = b" ".join(b"line %d of the release notes" % i for i in range(400))
    target = source[:9000] + inserted + source[9000:]
    return source, target


@pytest.mark.parametrize("secondary", ["lzma", "djw", "fgk"])
@pytest.mark.parametrize("declared", [300 * 2**20, 2**30, 2**32 - 1])
def test_declared_section_size_past_the_cap_is_refused(secondary: codec.Secondary, declared: int) -> None:
    source, target = _pair()
    window = parse_first_window(codec.encode(source, target, secondary=secondary))
    assert window.delta_indicator & VCD_DATACOMP, "the data section should be secondary-compressed"
    real_size, pos = read_varint(window.data, 0)
    assert real_size > 0
    window.data = write_varint(declared) + window.data[pos:]
    started = time.monotonic()
    with pytest.raises(DecodeError, match="beyond its"):
        codec.decode(source, window.encode())
    assert time.monotonic() - started < 5


def test_the_rewriter_itself_preserves_a_valid_delta() -> None:
    # So that the refusal above is caused by the declared size, not by a broken rewrite.
    source, target = _pair()
    window = parse_first_window(codec.encode(source, target))
    assert codec.decode(source, window.encode()) == target
