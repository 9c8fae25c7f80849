"""Decoder fuzzing under AddressSanitizer and UBSan (slow: compiles the whole codec instrumented).

Damaged deltas must end in an error or the exact target; a sanitizer report or a wrong result fails.
Run by hand with ``pytest -m slow tests/native``; ``DG_FUZZ_ITERATIONS`` sets the length of the run.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.binaries import xdelta3_binary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory: pytest.TempPathFactory, native_tree: Any) -> Path:
    gcc = native_tree.require("gcc")
    out = tmp_path_factory.mktemp("fuzz") / "fuzz_decode"
    # UBSan reports stay recoverable so that the one documented upstream report can be suppressed;
    # halt_on_error (below) still stops at every other one.
    flags = [
        "-O1",
        "-g",
        "-fsanitize=address,undefined",
        "-DHAVE_CONFIG_H=1",
        "-DZ_PREFIX=1",
        "-DBZ_NO_STDIO=1",
    ]
    cmd = [gcc, *flags, *native_tree.zstd_macros, *native_tree.include_flags()]
    cmd += [str(Path(__file__).with_name("fuzz_decode.c"))]
    cmd += [str(s) for s in native_tree.sources()] + ["-o", str(out), "-lpthread", "-lstdc++"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def test_damaged_deltas_never_crash_or_lie(fuzzer: Path, tmp_path: Path, native_tree: Any) -> None:
    binary = xdelta3_binary()
    rng = random.Random(11)
    source = rng.randbytes(50_000)
    target = source[:20_000] + rng.randbytes(999) + source[20_000:]
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    seeds = []
    for secondary in ("lzma", "djw", "fgk"):
        delta = tmp_path / f"{secondary}.vcdiff"
        subprocess.run(
            [
                binary,
                "-e",
                "-f",
                "-9",
                "-S",
                secondary,
                "-s",
                str(tmp_path / "src"),
                str(tmp_path / "tgt"),
                str(delta),
            ],
            check=True,
        )
        seeds += [str(tmp_path / "src"), str(delta)]
    iterations = os.environ.get("DG_FUZZ_ITERATIONS", "30000")
    env = native_tree.sanitizer_env()
    done = subprocess.run(
        [str(fuzzer), iterations, *seeds], capture_output=True, text=True, env=env, timeout=3000
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert f"iterations={iterations}" in done.stdout
