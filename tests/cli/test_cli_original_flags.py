"""The original DeltaGlider's short flags: ``cp -r``, ``ls -r``, ``ls -h`` (human-readable, as in
``aws s3 ls``; ``--help`` stays the help), ``rm -r``, ``-q`` on any command, and bundles of them
(``ls -rh``, ``cp -rq``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click

from deltaglider.cli import cli as group
from deltaglider.cli.argv import hoist_global_options

Cli = Any  # tests/cli/conftest.py


def _hoist(*args: str) -> list[str]:
    with click.Context(group) as ctx:
        return hoist_global_options(group, ctx, list(args))


def test_bundled_short_flags_are_split_and_the_groups_moved() -> None:
    assert _hoist("cp", "-rq", "a/", "s3://b/") == ["-q", "cp", "-r", "a/", "s3://b/"]
    assert _hoist("ls", "-rh", "s3://b/") == ["ls", "-r", "-h", "s3://b/"]
    # A bundle holding anything but known flags, or an option's value, is left to click.
    assert _hoist("ls", "-rx", "s3://b/") == ["ls", "-rx", "s3://b/"]
    assert _hoist("cp", "--exclude", "-rq", "a", "b") == ["cp", "--exclude", "-rq", "a", "b"]


def test_the_originals_short_flags(cli: Cli, releases: list[Path], tmp_path: Path) -> None:
    # Flags are read before any store is touched: a folder store shows them as S3 would.
    base = f"file://{tmp_path}/store/"
    dist = tmp_path / "dist"
    (dist / "old").mkdir(parents=True)
    for path in releases[:2]:
        shutil.copy(path, dist)
    shutil.copy(releases[2], dist / "old")

    copied = cli.ok("cp", "-r", dist, base + "app/")
    assert copied.stdout.count("upload:") == 3
    quiet = cli.ok("cp", "-rq", dist, base + "again/")
    assert quiet.stdout == ""

    flat = cli.ok("ls", base + "app/").stdout
    assert "old/" in flat and "app-1.2.zip" not in flat
    deep = cli.ok("ls", "-r", base + "app/").stdout
    assert "old/app-1.2.zip" in deep
    assert "KiB" not in deep
    human = cli.ok("ls", "-rh", base + "app/").stdout
    assert "KiB" in human and "old/app-1.2.zip" in human
    assert "KiB" in cli.ok("ls", "-h", base + "app/").stdout

    assert "Usage:" in cli.ok("ls", "--help").stdout
    # As in the original, -h is no help elsewhere: --help is.
    assert cli("cp", "-h", dist, base).code == 2

    cli.ok("rm", "-r", base + "app/")
    assert cli.ok("ls", "-r", base + "app/").stdout.strip() == ""
