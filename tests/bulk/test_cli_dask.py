"""``--dask-scheduler`` (and ``DG_DASK_SCHEDULER``) on the command line, run as a user runs it; and the
base install, which never imports Dask."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.moto_server import MotoServer


def run_cli(*args: str, env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deltaglider", *args],
        capture_output=True,
        text=True,
        env={**env, "DG_CACHE_DIR": str(tmp / "cache")},
        timeout=180,
    )


@pytest.mark.slow
def test_migrate_and_verify_through_a_scheduler(
    *,
    moto_server: MotoServer,
    plain_bucket: Callable[[int], Any],
    new_bucket: Callable[[], str],
    dask_cluster: Any,
    process_env: dict[str, str],
    tmp_path: Path,
) -> None:
    source, target = plain_bucket(3), new_bucket()
    env = process_env
    where = ["--endpoint-url", moto_server.url, "--json"]
    scheduler = dask_cluster.scheduler_address
    moved = run_cli(
        "migrate", "--yes", f"s3://{source.name}/", f"s3://{target}/", "--no-preserve-prefix",
        "--dask-scheduler", scheduler, *where, env=env, tmp=tmp_path,
    )  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["summary"] == {"copied": source.files, "unchanged": 0, "failed": 0}
    checked = run_cli(
        "verify", f"s3://{target}/", *where, env={**env, "DG_DASK_SCHEDULER": scheduler}, tmp=tmp_path
    )
    assert checked.returncode == 0, checked.stderr
    results = json.loads(checked.stdout)["results"]
    assert [r["status"] for r in results] == ["ok"] * source.files
    stats = run_cli("stats", f"s3://{target}/", "--dask-scheduler", scheduler, *where, env=env, tmp=tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["files"] == source.files


_SEEN = """
import sys
from deltaglider.cli import run
code = run(sys.argv[1:])
print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed'}), code)
"""


def test_without_the_option_dask_is_never_imported(tmp_path: Path, process_env: dict[str, str]) -> None:
    store = tmp_path / "store" / "b"
    store.mkdir(parents=True)
    (tmp_path / "f.txt").write_text("x")
    env = process_env
    done = subprocess.run(
        [sys.executable, "-c", _SEEN, "cp", str(tmp_path / "f.txt"), f"file://{store}/f.txt"],
        capture_output=True, text=True, env={**env, "DG_CACHE_DIR": str(tmp_path / "c")}, timeout=60,
    )  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "[] 0", done.stderr


_NO_DASK = """
import sys
sys.modules['distributed'] = None  # as where the dask extra is not installed
from deltaglider.cli import run
sys.exit(run(sys.argv[1:]))
"""


def test_the_option_without_the_extra_says_how_to_install_it(
    tmp_path: Path, process_env: dict[str, str]
) -> None:
    (tmp_path / "store" / "b").mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-c", _NO_DASK, "verify", f"file://{tmp_path}/store/b/", "--dask-scheduler", "tcp://127.0.0.1:9"],
        capture_output=True, text=True, env={**process_env, "DG_CACHE_DIR": str(tmp_path / "c")}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "pip install 'deltaglider-native[dask]'" in done.stderr
