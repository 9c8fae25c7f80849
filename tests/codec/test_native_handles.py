"""The pinned encoders' native handles: freed by the garbage collector when dropped unfinished, at
once (and once only) when finished or closed."""

from __future__ import annotations

import gc

import pytest

from deltaglider._native.faults import live_handles
from deltaglider.codec import PinnedBzip2, PinnedDeflater, PinnedLzma2


def _deflater() -> PinnedDeflater:
    return PinnedDeflater(6, 15, 8, 0)


def _lzma2() -> PinnedLzma2:
    return PinnedLzma2(6, 1 << 20)


def _bzip2() -> PinnedBzip2:
    return PinnedBzip2(1)


@pytest.mark.parametrize("make", [_deflater, _lzma2, _bzip2])
def test_handles_dropped_without_finishing_are_freed(make: object) -> None:
    gc.collect()
    before = live_handles()
    for _ in range(200):
        encoder = make()  # type: ignore[operator]
        encoder.compress(b"some data that is never flushed" * 100)
        del encoder
    gc.collect()
    assert live_handles() == before


@pytest.mark.parametrize("make", [_deflater, _lzma2, _bzip2])
def test_a_finished_or_closed_handle_is_freed_at_once_and_once(make: object) -> None:
    before = live_handles()
    encoder = make()  # type: ignore[operator]
    assert live_handles() == before + 1
    encoder.compress(b"x" * 1000)
    encoder.flush()
    assert live_handles() == before
    encoder.close()
    assert live_handles() == before
    with pytest.raises(ValueError, match="finished"):
        encoder.compress(b"more")
    other = make()  # type: ignore[operator]
    other.close()
    other.close()
    assert live_handles() == before


def test_refused_parameters_leave_no_handle() -> None:
    before = live_handles()
    with pytest.raises(ValueError, match="unsupported deflate parameters"):
        PinnedDeflater(6, 99, 8, 0)
    with pytest.raises(ValueError, match="unsupported bzip2 parameters"):
        PinnedBzip2(0)
    assert live_handles() == before
