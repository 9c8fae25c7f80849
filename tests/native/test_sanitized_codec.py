"""The codec's own tests, rerun against an extension built with AddressSanitizer and UBSan.

Memory errors in the glue that leave the results right (a reader buffer one byte short, a read of an
uninitialised field) pass the normal suite; here the first one aborts the run. Slow: builds the whole
codec instrumented, then runs the file-codec tests (readers, sinks, mapping), the allocation-failure
tests, the hostile-delta tests and the pinned encoders' handles several times slower than usual.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

TESTS = [
    "tests/codec/test_files_roundtrip.py",
    "tests/codec/test_files_errors.py",
    "tests/codec/test_files_interop.py",
    "tests/codec/test_alloc_failure.py",
    "tests/codec/test_codec_hostile.py",
    "tests/codec/test_native_handles.py",
    "tests/transforms/test_reconstruct.py",
]


def test_codec_tests_pass_under_sanitizers(sanitized_package: tuple[Path, dict[str, str]]) -> None:
    top, env = sanitized_package
    config = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *config]
        + [str(ROOT / t) for t in TESTS],
        capture_output=True,
        text=True,
        cwd=top,
        env=env,
        timeout=3000,
    )
    out = done.stdout + done.stderr
    report = next((done.stderr[i:] for i in _report_starts(done.stderr)), "")
    assert done.returncode == 0, (report[:6000] or out[-6000:]) + "\n" + done.stdout[-2000:]
    assert " passed" in out and not report


def _report_starts(stderr: str) -> list[int]:
    """Where sanitizer reports begin (the abort's Python traceback follows them)."""
    marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
    return sorted(i for i in (stderr.find(m) for m in marks) if i >= 0)
