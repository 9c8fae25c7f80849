"""Decoder fuzzing under AddressSanitizer and UBSan (slow: compiles the whole codec instrumented).

Damaged deltas must end in an error or the exact target; a sanitizer report or a wrong result fails.
Run by hand with ``pytest -m slow tests/native``; ``DG_FUZZ_ITERATIONS`` sets the length of the run.
"""

from __future__ import annotations

import ast
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from support.binaries import xdelta3_binary

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _sources() -> list[Path]:
    # The same file list the extension build uses, so the harness tests what ships.
    lists: dict[str, list[str]] = {}
    for node in ast.parse((ROOT / "build_ffi.py").read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("GLUE_SOURCES", "LIBLZMA_SOURCES"):
                lists[name] = ast.literal_eval(node.value)
    glue = [ROOT / "native" / name for name in lists["GLUE_SOURCES"]]
    lzma = [ROOT / "vendor/xz/src/liblzma" / name for name in lists["LIBLZMA_SOURCES"]]
    return glue + lzma


def _include_flags() -> list[str]:
    lzma = ROOT / "vendor/xz/src/liblzma"
    dirs = [ROOT / "native", ROOT / "vendor/xdelta3", ROOT / "vendor/xz/src/common"]
    dirs += [lzma / d for d in ("api", "common", "check", "lz", "lzma", "rangecoder", "simple", "delta")]
    return [f"-I{d}" for d in dirs]


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None or not (ROOT / "native").is_dir():
        pytest.skip("needs gcc and the source tree (native/, vendor/)")
    out = tmp_path_factory.mktemp("fuzz") / "fuzz_decode"
    # UBSan reports stay recoverable so that the one documented upstream report can be suppressed;
    # halt_on_error (below) still stops at every other one.
    flags = ["-O1", "-g", "-fsanitize=address,undefined", "-DHAVE_CONFIG_H=1"]
    cmd = [gcc, *flags, *_include_flags(), str(Path(__file__).with_name("fuzz_decode.c"))]
    cmd += [str(s) for s in _sources()] + ["-o", str(out), "-lpthread"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def test_damaged_deltas_never_crash_or_lie(fuzzer: Path, tmp_path: Path) -> None:
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
    suppressions = Path(__file__).with_name("ubsan.supp")
    env = {
        **os.environ,
        "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1",
        "UBSAN_OPTIONS": f"halt_on_error=1:print_stacktrace=1:suppressions={suppressions}",
    }
    done = subprocess.run(
        [str(fuzzer), iterations, *seeds], capture_output=True, text=True, env=env, timeout=3000
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert f"iterations={iterations}" in done.stdout
