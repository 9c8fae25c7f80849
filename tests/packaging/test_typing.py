"""The typed public API as an application's type checker sees it: ``mypy --strict`` accepts
typing_usage.py, and rejects misuse (so the check can fail). Needs mypy (the ``dev`` extra)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import deltaglider

pytest.importorskip("mypy", reason="the typing test needs mypy (pip install '.[dev]')")

_HERE = Path(__file__).resolve().parent

# As for an installed dependency: deltaglider's own modules are read for their types, their internal
# errors (e.g. boto3 having no stubs in the application's environment) are not the application's.
_CONFIG = """\
[mypy]
strict = True
warn_unused_configs = True

[mypy-deltaglider.*]
follow_imports = silent
"""

_MISUSE = """\
from deltaglider import create_client, codec

summary = create_client().upload("app.zip", "s3://releases/app/")
size: str = summary.original_size
create_client().verify(42)
codec.encode(b"old", "new")
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder (config, cache) for both runs: the second reuses the first's analysis."""
    path = tmp_path_factory.mktemp("mypy")
    (path / "mypy.ini").write_text(_CONFIG)
    return path


def _mypy(target: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    package_root = Path(deltaglider.__file__).resolve().parents[1]
    # An editable install is an import hook that mypy cannot follow: point it at the tree. (mypy refuses
    # site-packages on MYPYPATH, and finds installed packages there by itself.)
    if package_root.name not in ("site-packages", "dist-packages"):
        env["MYPYPATH"] = str(package_root)
    options = ["--config-file", str(workdir / "mypy.ini"), "--cache-dir", str(workdir / "cache")]
    return subprocess.run(
        [sys.executable, "-m", "mypy", *options, "--no-error-summary", "--show-error-codes", str(target)],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=600,
    )


def test_typed_usage_passes_mypy_strict(workdir: Path) -> None:
    proc = _mypy(_HERE / "typing_usage.py", workdir)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_misuse_is_caught(workdir: Path) -> None:
    snippet = workdir / "misuse.py"
    snippet.write_text(_MISUSE)
    proc = _mypy(snippet, workdir)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    # One per wrong line: an int stored as str, a URL given as int, a str where bytes belong.
    assert [line.split(":")[1] for line in errors] == ["4", "5", "6"], proc.stdout
    assert "[assignment]" in errors[0] and "[arg-type]" in errors[1] and "[arg-type]" in errors[2]
