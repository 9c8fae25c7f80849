"""The source window: it follows the reference up to the memory budget, content that moved further
than the binary's 64 MiB window is found, and memory stays within the budget (encode) or 256 MiB
(decode) whatever the file size."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deltaglider import codec
from deltaglider._native import load

MIB = 1 << 20
GIB = 1 << 30


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


# ------------------------------------------------------------------------------------------------
# The plan (sizes only).


@pytest.mark.parametrize("source_size", [1, 100_000, 12 * MIB, 100 * MIB, 200 * MIB])
def test_window_covers_the_source_within_the_default_budget(source_size: int) -> None:
    plan = codec.plan_encode(source_size, source_size)
    assert plan.covers_source
    assert plan.window >= source_size
    assert _is_pow2(plan.window)
    assert plan.memory <= codec.DEFAULT_MEMORY_BUDGET


def test_window_is_never_above_2_gib() -> None:
    # xdelta3 3.1.x sizes hash tables with `1U << i`, wrong from 2^31 slots on.
    plan = codec.plan_encode(5 * GIB, 5 * GIB, memory_budget=64 * GIB)
    assert plan.window == 2 * GIB
    assert not plan.covers_source


def test_over_the_budget_the_step_coarsens_before_the_window_shrinks() -> None:
    at_9 = codec.plan_encode(100 * MIB, 100 * MIB)
    assert at_9.large_step == 2  # -9's own step while it fits
    big = codec.plan_encode(GIB, GIB)
    assert big.covers_source
    assert big.large_step > 2
    assert big.memory <= codec.DEFAULT_MEMORY_BUDGET
    tight = codec.plan_encode(GIB, GIB, memory_budget=128 * MIB)
    assert not tight.covers_source
    assert tight.memory <= 128 * MIB


def test_small_pairs_allocate_little() -> None:
    # The binary's -9 allocates ~130 MB whatever the input; a 100 KB pair needs a few MB.
    plan = codec.plan_encode(100_000, 100_000)
    assert plan.memory < 16 * MIB
    assert plan.target_window == 100_000


def test_hash_memory_per_window_byte() -> None:
    # usize_t is 32 bits (XD3_USE_LARGESIZET=0): at -9 (step 2) the source table costs 2 bytes per
    # window byte, half of what 64-bit usize_t costs, and the same hash arithmetic as the binary.
    plan = codec.plan_encode(64 * MIB, 1000, secondary=None)
    assert plan.usize_bytes == 4
    source_table = plan.window // plan.large_step * plan.usize_bytes
    assert source_table == 2 * plan.window
    assert plan.hash_bytes >= source_table


@given(
    source_size=st.integers(min_value=0, max_value=8 * GIB),
    target_size=st.integers(min_value=0, max_value=8 * GIB),
    budget=st.integers(min_value=64 * MIB, max_value=4 * GIB),
    level=st.integers(min_value=0, max_value=9),
    secondary=st.sampled_from(["lzma", "auto", "djw", None]),
)
def test_plan_stays_within_any_budget(
    source_size: int, target_size: int, budget: int, level: int, secondary: codec.Secondary
) -> None:
    plan = codec.plan_encode(source_size, target_size, level=level, secondary=secondary, memory_budget=budget)
    assert plan.memory <= budget
    assert plan.window <= 2 * GIB
    if source_size:
        assert _is_pow2(plan.window)
        assert plan.covers_source == (plan.window >= source_size)


def test_a_budget_below_the_target_window_shrinks_the_target_window() -> None:
    roomy = codec.plan_encode(10 * MIB, 10 * MIB)
    tight = codec.plan_encode(10 * MIB, 10 * MIB, memory_budget=24 * MIB)
    assert roomy.target_window == 8 * MIB
    assert tight.target_window < roomy.target_window
    assert tight.memory <= 24 * MIB


# ------------------------------------------------------------------------------------------------
# The reach probe (what narrows a whole-source window to a sliding one).


def _reach(source: bytes, target: bytes) -> int:
    ffi, lib = load()
    reach = ffi.new("uint64_t *")
    status = ffi.new("dg_status *")
    assert lib.dg_probe_reach(source, len(source), target, len(target), reach, status) == lib.DG_OK
    return int(reach[0])


def test_probe_sees_how_far_content_moved() -> None:
    rng = random.Random(1)
    data = rng.randbytes(4 * MIB)
    assert _reach(data, data) == 0
    shifted = rng.randbytes(1000) + data
    assert _reach(data, shifted) == 1000
    rotated = data[3 * MIB :] + data[: 3 * MIB]
    assert _reach(data, rotated) == 3 * MIB


def test_probe_ignores_lone_coincidences() -> None:
    # Short snippets that also occur 3 MiB away are no reason to widen the window for the whole file
    # (each costs its few bytes to miss); a moved run of a few KiB is. 200 snippets of 70 bytes hold
    # about 5 anchors (one per 256 bytes, each needing the 64 bytes before it), nearly never two in
    # one snippet, which is what would confirm a move.
    rng = random.Random(2)
    data = bytes(rng.randbytes(4 * MIB))
    target = bytearray(data)
    for k in range(200):
        at, origin = 10_000 + k * 5000, 3_000_000 + k * 1000
        target[at : at + 70] = data[origin : origin + 70]
    assert _reach(data, bytes(target)) < 1000
    target[2_000_000:2_016_384] = data[100_000:116_384]
    assert _reach(data, bytes(target)) >= 1_800_000


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 100, 255, 256, 300, 70_000])
def test_probe_and_encoders_on_tiny_targets(tmp_path: Path, size: int) -> None:
    # Anchors need 64 bytes before them; a tiny target (or its last lane) must not read before its
    # start. The source is over 1 MiB, so both encoders run the probe.
    rng = random.Random(size)
    source = rng.randbytes(2 * MIB)
    target = source[MIB : MIB + size]
    assert _reach(source, target) <= MIB
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    codec.encode_file(tmp_path / "src", tmp_path / "tgt", tmp_path / "d")
    assert (tmp_path / "d").read_bytes() == codec.encode(source, target)
    assert codec.decode(source, (tmp_path / "d").read_bytes()) == target


def test_narrow_window_for_aligned_content_is_not_worse() -> None:
    # What the probe is for: on aligned content with repeats a narrow sliding window finds the
    # aligned copy (cheaper addresses, longer matches) where a whole-source window may not.
    rng = random.Random(3)
    records = [rng.randbytes(40) + b"\x00" * 200 for _ in range(20_000)]  # header-like repeats
    source = b"".join(records)
    target = b"".join(r[:8] + b"CHANGED!" + r[16:] if i % 50 == 0 else r for i, r in enumerate(records))
    narrow = codec.encode(source, target)
    assert _reach(source, target) < MIB
    whole = _encode_with_window(source, target, 0x10000000)
    assert len(narrow) <= len(whole)


def _encode_with_window(source: bytes, target: bytes, window: int) -> bytes:
    ffi, lib = load()
    params = ffi.new("dg_encode_params *")
    params.level = 9
    params.secondary = lib.DG_SECONDARY_LZMA
    params.src_window = window
    params.memory_budget = 2 * GIB
    plan = ffi.new("dg_encode_plan *")
    out = ffi.new("dg_buffer *")
    status = ffi.new("dg_status *")
    assert lib.dg_plan_memory(source, len(source), target, len(target), params, plan, status) == 0
    assert lib.dg_encode_memory(source, len(source), target, len(target), plan, out, status) == 0
    try:
        return bytes(ffi.buffer(out.data, out.len))
    finally:
        lib.dg_buffer_free(out)


# ------------------------------------------------------------------------------------------------
# Past the binary's 64 MiB window.


def _random_file(path: Path, size: int, seed: int) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as f:
        for _ in range(size // MIB):
            f.write(rng.randbytes(MIB))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


def _swap_halves(src: Path, dst: Path, first: int) -> None:
    with open(src, "rb") as f, open(dst, "wb") as out:
        f.seek(first)
        for block in iter(lambda: f.read(MIB), b""):
            out.write(block)
        f.seek(0)
        left = first
        while left:
            block = f.read(min(MIB, left))
            out.write(block)
            left -= len(block)


def _moved_past_64_mib(tmp_path: Path, size: int, cut: int) -> None:
    src, tgt = tmp_path / "src", tmp_path / "tgt"
    _random_file(src, size, seed=size)
    _swap_halves(src, tgt, cut)
    delta_size = codec.encode_file(src, tgt, tmp_path / "delta")
    # Every byte moved by more than 64 MiB one way or the other; the binary's default window stores
    # most of it again (measured: a 200 MiB file rotated by half gave a 210 MB delta).
    assert delta_size < 64 * 1024
    assert codec.decode_file(src, tmp_path / "delta", tmp_path / "out", expected_size=size) == size
    assert _sha256(tmp_path / "out") == _sha256(tgt)


def test_content_moved_past_64_mib_is_found(tmp_path: Path) -> None:
    # 72 MiB: the first 66 MiB moved back by 6 MiB, the last 6 MiB moved forward by 66 MiB.
    _moved_past_64_mib(tmp_path, 72 * MIB, 66 * MIB)


@pytest.mark.slow
def test_file_of_160_mib_rotated_by_half(tmp_path: Path) -> None:
    _moved_past_64_mib(tmp_path, 160 * MIB, 80 * MIB)


# ------------------------------------------------------------------------------------------------
# Memory, measured in a fresh process: peak anonymous memory (RssAnon, sampled every millisecond;
# the mapped source is page cache, not anonymous), less what the interpreter held before.

_MEASURE = textwrap.dedent(
    """
    import json, sys, threading, time
    from deltaglider import codec

    def anon():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        raise SystemExit("no RssAnon")

    codec.plan_encode(1, 1)  # load the extension before the baseline
    base = anon()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], anon())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    op, a, b, c, budget = sys.argv[1:6]
    if op == "decode":
        codec.decode_file(a, b, c)
    else:
        codec.encode_file(a, b, c, memory_budget=int(budget))
    done.set()
    sampler.join()
    peak[0] = max(peak[0], anon())
    print(json.dumps({"peak": peak[0] - base}))
    """
)


def _peak_anon(op: str, a: Path, b: Path, c: Path, budget: int = 0) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, op, str(a), str(b), str(c), str(budget)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["peak"])


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="measures /proc/self/status")
def test_decode_and_encode_memory_of_a_large_file(tmp_path: Path) -> None:
    # 384 MiB, more than the 256 MiB decode limit, so buffering the output would fail this.
    size = 384 * MIB
    src, tgt = tmp_path / "src", tmp_path / "tgt"
    _random_file(src, size, seed=7)
    rng = random.Random(8)
    with open(src, "rb") as f, open(tgt, "wb") as out:
        for block in iter(lambda: f.read(MIB), b""):
            edited = block[:1000] + rng.randbytes(5000) + block[6000:] if rng.random() < 0.05 else block
            out.write(edited)
    budget = 256 * MIB
    encode_peak = _peak_anon("encode", src, tgt, tmp_path / "delta", budget)
    assert encode_peak <= budget, (
        f"encode peaked at {encode_peak / MIB:.0f} MiB over a {budget // MIB} MiB budget"
    )
    decode_peak = _peak_anon("decode", src, tmp_path / "delta", tmp_path / "out")
    assert decode_peak <= 256 * MIB, f"decode peaked at {decode_peak / MIB:.0f} MiB"
    assert _sha256(tmp_path / "out") == _sha256(tgt)


def test_uncompressed_content_keeps_distant_copies_in_view(tmp_path: Path) -> None:
    # Machine code finds long copies far from where they were: however little content moved, the
    # sliding window of an uncompressed target stays wide enough for them. Compressed content keeps
    # the probe's narrow window (distant copies there are chance matches).
    rng = random.Random(4)
    words = [rng.randbytes(rng.randint(2, 10)) + b"\x00\x00" for _ in range(4000)]
    code = b"".join(rng.choice(words) for _ in range(2 * MIB))[: 12 * MIB]
    packed = rng.randbytes(12 * MIB)
    for name, source in (("code", code), ("packed", packed)):
        target = source[: 6 * MIB] + rng.randbytes(3000) + source[6 * MIB + 3000 :]
        (tmp_path / f"{name}.src").write_bytes(source)
        (tmp_path / f"{name}.tgt").write_bytes(target)
    plan = codec.plan_encode_files(tmp_path / "code.src", tmp_path / "code.tgt")
    assert plan.window >= 8 * MIB
    plan = codec.plan_encode_files(tmp_path / "packed.src", tmp_path / "packed.tgt")
    assert not plan.covers_source
    assert plan.window < 8 * MIB
