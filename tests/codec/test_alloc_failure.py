"""Allocation failures inside xdelta3 streams: a clean OutOfMemoryError, no crash, no output file.

Every allocation a stream makes goes through the glue's hooks (native/dg_alloc.h); the test switch
(deltaglider._native.faults.failing_allocation, native/dg_fault.c) fails the nth of them. Each call is
repeated with the failure moved one allocation further until the call makes fewer allocations than
that, so every allocation site on the path is hit once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from deltaglider import codec
from deltaglider._native.faults import failing_allocation
from deltaglider.errors import DecodeError, OutOfMemoryError

# Far more than any of these calls makes: the loops below stop at the first n that is not reached.
_MAX_ALLOCATIONS = 400


def _pair(size: int) -> tuple[bytes, bytes]:
    rng = random.Random(size)
    source = rng.randbytes(size)
    target = source[: size // 3] + rng.randbytes(500) + source[size // 3 :] + source[:700]
    return source, target


def _fail_each_allocation(call: Callable[[], object]) -> int:
    """Runs ``call`` with its 1st, 2nd, ... allocation failing; returns how many it makes."""
    for nth in range(1, _MAX_ALLOCATIONS):
        with failing_allocation(nth) as fired:
            try:
                call()
            except OutOfMemoryError as exc:
                assert fired(), f"allocation {nth}: {exc!r} without the injected failure"
                # The encoder has no memory budget: the decoder's "delta asks for" diagnosis would
                # mean it read state it does not own (the uninitialised view.mem of old).
                assert "delta asks" not in str(exc), f"allocation {nth}: {exc}"
                assert not isinstance(exc, DecodeError), f"allocation {nth}: {exc!r}"
                continue
            if not fired():
                return nth - 1
        pytest.fail(f"allocation {nth} failed and the call still succeeded")
    pytest.fail(f"more than {_MAX_ALLOCATIONS} allocations")


@pytest.mark.parametrize("secondary", ["lzma", "djw", "fgk", None, "auto"])
@pytest.mark.parametrize("size", [0, 40_000])
def test_encode_and_decode_report_each_failed_allocation(secondary: codec.Secondary, size: int) -> None:
    source, target = _pair(size) if size else (b"", b"target bytes")
    delta = codec.encode(source, target, secondary=secondary)

    encodes = _fail_each_allocation(lambda: codec.encode(source, target, secondary=secondary))
    decodes = _fail_each_allocation(lambda: codec.decode(source, delta, expected_size=len(target)))

    assert encodes > 3 and decodes > 1  # the hooks are on the path: the test tests something
    assert codec.decode(source, codec.encode(source, target, secondary=secondary)) == target


def test_file_calls_leave_nothing_behind(tmp_path: Path) -> None:
    source, target = _pair(60_000)
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    codec.encode_file(tmp_path / "src", tmp_path / "tgt", tmp_path / "good.delta")
    out = tmp_path / "out"
    out.mkdir()

    encodes = _fail_each_allocation(
        lambda: (
            codec.encode_file(tmp_path / "src", tmp_path / "tgt", out / "delta")
            if not (out / "delta").exists()
            else None
        )
    )
    (out / "delta").unlink()
    decodes = _fail_each_allocation(
        lambda: (
            codec.decode_file(tmp_path / "src", tmp_path / "good.delta", out / "file")
            if not (out / "file").exists()
            else None
        )
    )

    assert encodes > 3 and decodes > 1
    assert sorted(p.name for p in out.iterdir()) == ["file"]
    assert (out / "file").read_bytes() == target


def test_the_switch_is_per_thread_and_disarmed_after() -> None:
    import threading

    source, target = _pair(20_000)
    errors: list[BaseException] = []

    def other() -> None:
        try:
            codec.decode(source, codec.encode(source, target))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with failing_allocation(1) as fired:
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert not fired()
    assert errors == []
    assert codec.decode(source, codec.encode(source, target)) == target
