"""Peak anonymous memory of a 1 GiB upload and download (local store), each in a child process that
does only that operation: bench/memory.py measures them; these tests hold its figures to the targets.

The codec's default memory budget is 512 MiB for an encode; a download decodes one window at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "memory.py"
MIB = 2**20
UPLOAD_LIMIT = 512 * MIB
DOWNLOAD_LIMIT = 64 * MIB

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status"),
    pytest.mark.skipif(not BENCH.exists(), reason="bench/memory.py is not in this tree"),
]


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("memory")
    out = folder / "rows.json"
    subprocess.run(
        [sys.executable, str(BENCH), "--size", "1GiB", "--dir", str(folder), "--json", str(out)],
        check=True,
        timeout=1800,
    )
    return {row["step"]: row for row in json.loads(out.read_text())}


@pytest.mark.parametrize("step", ["upload base", "upload next"])
def test_a_1gib_upload_stays_within_the_codec_budget(rows: dict[str, dict[str, Any]], step: str) -> None:
    assert rows["upload next"]["operation"] == "PUT_DELTA"
    assert rows[step]["peak"] <= UPLOAD_LIMIT, f"{step}: {rows[step]['peak'] / MIB:.1f} MiB"


@pytest.mark.parametrize("step", ["download next", "download base"])
def test_a_1gib_download_stays_within_64_mib(rows: dict[str, dict[str, Any]], step: str) -> None:
    assert rows[step]["peak"] <= DOWNLOAD_LIMIT, f"{step}: {rows[step]['peak'] / MIB:.1f} MiB"
