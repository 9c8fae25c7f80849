"""Cold-start cost: ``import deltaglider`` (a Lambda's init phase) must not load boto3 or the C extension.

Each check runs in a fresh interpreter, so modules that pytest or other tests already imported don't
hide a regression. bench/import_time.py measures the time itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Heavy or native modules that only the first upload/download may load.
_DEFERRED = ("boto3", "botocore", "s3transfer", "deltaglider._xdelta3", "_cffi_backend")


def _loaded_after(code: str, cwd: Path) -> set[str]:
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    # Not from the source tree's folder, where ``-c`` would import the tree instead of the installed package.
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def _deferred_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == d or m.startswith(d + ".") for d in _DEFERRED))


def test_import_deltaglider_loads_neither_boto3_nor_the_extension(tmp_path: Path) -> None:
    modules = _loaded_after("import deltaglider", tmp_path)
    assert _deferred_in(modules) == []
    # The CLI's toolkit is for the command line, not the library.
    assert "click" not in modules


@pytest.mark.parametrize(
    "code",
    [
        "from deltaglider import create_client, DeltaGliderClient, UploadSummary",
        "from deltaglider import create_client\ncreate_client()",
        "from deltaglider import create_client\ncreate_client(endpoint_url='file:///nonexistent-dg-store')",
    ],
    ids=["names", "s3-client", "folder-client"],
)
def test_building_a_client_defers_boto3_and_the_extension_to_first_use(code: str, tmp_path: Path) -> None:
    assert _deferred_in(_loaded_after(code, tmp_path)) == []


def test_the_check_sees_a_module_that_was_loaded(tmp_path: Path) -> None:
    # Guards the helper itself: an eager import must be reported.
    found = _deferred_in(_loaded_after("import deltaglider, boto3, deltaglider._xdelta3", tmp_path))
    assert {"boto3", "deltaglider._xdelta3"} <= set(found)
