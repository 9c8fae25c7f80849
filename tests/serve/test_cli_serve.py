"""``deltaglider serve`` as a command: nothing of the server is imported by the package or the other
commands; without the extra it says how to install it; it refuses to start with no way in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    for name in ("DG_SERVE_ACCESS_KEY", "DG_SERVE_SECRET_KEY"):
        env.pop(name, None)
    if (PACKAGE_ROOT / "deltaglider" / "serve").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_package_and_cli_import_no_server() -> None:
    done = python(
        "import sys, deltaglider, deltaglider.cli.app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'anyio')))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_the_extra_it_says_how_to_install(tmp_path: Path) -> None:
    done = python(
        "import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None; "
        "from deltaglider.cli.app import run; sys.exit(run(sys.argv[1:]))",
        "serve",
        str(tmp_path),
        "--anonymous-read",
    )
    assert done.returncode == 1
    assert "pip install 'deltaglider-native[serve]'" in done.stderr


def test_no_keys_and_no_anonymous_read_is_a_usage_error(tmp_path: Path) -> None:
    done = python(
        "import sys; from deltaglider.cli.app import run; sys.exit(run(sys.argv[1:]))", "serve", str(tmp_path)
    )
    assert done.returncode == 2
    assert "--access-key" in done.stderr and "--anonymous-read" in done.stderr
