"""``deltaglider migrate SRC DST [--yes|-y] [--dry-run] [--no-preserve-prefix]``: the original's
command, resumable, asking before it writes (and refusing, without ``--yes``, when no one can
answer)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

Cli = Any  # tests/cli/conftest.py
Store = Any


def _no_terminal(cli: Cli, *args: str) -> subprocess.CompletedProcess[str]:
    """The command with standard input not a terminal (as in a script or CI)."""
    return subprocess.run(
        [sys.executable, "-m", "deltaglider", *args, *cli.extra],
        capture_output=True,
        text=True,
        env=cli.env,
        cwd=cli.cwd,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def _filled(cli: Cli, base: str, releases: list[Path], tmp_path: Path) -> str:
    dist = tmp_path / "dist"
    (dist / "old").mkdir(parents=True)
    for path in releases[:3]:
        shutil.copy(path, dist)
    shutil.copy(releases[3], dist / "old")
    cli.ok("cp", "-r", dist, base + "app/")
    return base


NAMES = ["app-1.0.zip", "app-1.1.zip", "app-1.2.zip", "old/app-1.3.zip"]


def _listed(cli: Cli, url: str) -> list[str]:
    listing = cli.ok("--json", "ls", "-r", url).json()
    return sorted(entry["name"] for entry in listing["entries"])


def test_migrate_asks_plans_copies_and_resumes(cli: Cli, releases: list[Path], tmp_path: Path) -> None:
    base = _filled(cli, f"file://{tmp_path}/store/", releases, tmp_path)

    refused = _no_terminal(cli, "migrate", base + "app/", base + "new/")
    assert refused.returncode == 2 and "--yes" in refused.stderr and "4 files to migrate" in refused.stderr
    planned = cli.ok("migrate", "--dry-run", base + "app/", base + "new/")
    assert planned.stdout.count("(dryrun) copy:") == 4 and f"{base}new/app/app-1.0.zip" in planned.stdout
    assert _listed(cli, base + "new/") == []

    done = cli.ok("--json", "migrate", "-y", base + "app/", base + "new/").json()
    assert done["ok"] and done["summary"] == {"copied": 4, "unchanged": 0, "failed": 0}
    assert _listed(cli, base + "new/app/") == NAMES

    cli.ok("rm", base + "new/app/app-1.1.zip")
    again = cli.ok("--json", "migrate", "--yes", base + "app/", base + "new/").json()
    assert again["summary"] == {"copied": 1, "unchanged": 3, "failed": 0}
    assert _listed(cli, base + "new/app/") == NAMES


def test_no_preserve_prefix_puts_the_files_in_the_destination(
    cli: Cli, releases: list[Path], tmp_path: Path
) -> None:
    base = f"file://{tmp_path}/store/"
    dist = tmp_path / "dist"
    dist.mkdir()
    shutil.copy(releases[0], dist)
    cli.ok("cp", "-r", dist, base + "app/")
    cli.ok("-q", "migrate", "-y", "--no-preserve-prefix", base + "app/", base + "flat/")
    assert _listed(cli, base + "flat/") == ["app-1.0.zip"]
    assert cli("migrate", "-y", base + "app/", str(tmp_path / "plain")).code == 2  # a plain path: no store


def test_migrate_between_buckets_on_s3(s3_store: Store, releases: list[Path], tmp_path: Path) -> None:
    cli, base = s3_store.cli, _filled(s3_store.cli, s3_store.base, releases, tmp_path)
    other = f"{s3_store.bucket}-to"
    s3_store.s3.create_bucket(Bucket=other)
    done = cli.ok("--json", "migrate", "-y", base + "app/", f"s3://{other}/").json()
    assert done["ok"] and done["summary"]["copied"] == 4
    assert _listed(cli, f"s3://{other}/app/") == NAMES
