"""Peak anonymous memory of a 1 GiB upload and download (local store), each in a child process that
does only that operation: bench/memory.py measures them; these tests hold its figures to the targets.

The codec's default memory budget is 512 MiB for an encode; a download decodes one window at a time.
A 1 GiB ``.tar.gz`` upload, whose decoded stream is encoded too, is held to the same budget.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
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


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_memory", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _gzip(src: Path, dest: Path) -> Path:
    """``gzip -6`` as Python writes it (mtime 0): a stream the upload's transform reproduces."""
    with (
        open(src, "rb") as raw,
        open(dest, "wb") as out,
        gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz,
    ):
        shutil.copyfileobj(raw, gz, 8 * MIB)
    src.unlink()
    return dest


@pytest.fixture(scope="module")
def archive_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Two 1 GiB ``.tar.gz`` releases, the second's content with its halves swapped (the encode of the
    decoded streams then indexes its whole source, its largest memory), uploaded one after the other."""
    bench = _bench()
    folder = tmp_path_factory.mktemp("archive-memory")
    base, new = bench.make_pair(folder, 1 << 30, moved=True)
    archives = [_gzip(base, folder / "app-1.0.tar.gz"), _gzip(new, folder / "app-1.1.tar.gz")]
    store = folder / "store"
    (store / "bucket").mkdir(parents=True)
    rows = [bench.run_child("upload", f"{store}/bucket/app/", folder / "cache", str(p), "") for p in archives]
    sidecar = json.loads((store / "bucket" / "app" / ".dg-meta" / "app-1.1.tar.gz.delta.json").read_text())
    rows[1]["transform"] = sidecar.get("dg-transform")
    return rows


def test_a_1gib_tar_gz_upload_stays_within_the_codec_budget(archive_rows: list[dict[str, Any]]) -> None:
    first, second = archive_rows
    assert (second["operation"], second["transform"]) == ("PUT_DELTA", "gzip")
    for row in (first, second):
        assert row["peak"] <= UPLOAD_LIMIT, f"{row['operation']}: {row['peak'] / MIB:.1f} MiB"
