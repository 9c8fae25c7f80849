"""The command line's frame: start-up cost, global options anywhere, ordered filters, exit codes and
one-line errors, logging and progress on stderr."""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click
import pytest
from support.variants import CLI_AS_A_PROCESS, CLI_AS_A_PROCESS_TOO

from deltaglider.batch import FilterRule
from deltaglider.cli import cli as group
from deltaglider.cli import run
from deltaglider.cli.argv import hoist_global_options, ordered_filters
from deltaglider.cli.output import Progress
from deltaglider.cli.session import Session, install_log_handler

Cli = Any  # the ``cli`` fixture (tests/cli/conftest.py)

HEAVY = ("boto3", "botocore", "deltaglider._xdelta3", "deltaglider.client", "deltaglider.codec", "cffi")


def test_help_imports_nothing_heavy_and_is_quick(cli_env: dict[str, str]) -> None:
    probe = (
        "import sys, time; t = time.perf_counter(); from deltaglider.cli import run; code = run(['--help']); "
        "print(); print(time.perf_counter() - t); print(','.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env, check=True, timeout=60
    )
    *_, elapsed, modules = done.stdout.strip().splitlines()
    loaded = set(modules.split(","))
    assert not [m for m in HEAVY if m in loaded]
    assert "Usage: deltaglider" in done.stdout
    # Generous for a loaded 2-core machine; it takes ~0.1 s.
    assert float(elapsed) < 0.5


@CLI_AS_A_PROCESS
def test_help_through_python_minus_m(cli: Cli) -> None:
    result = cli("--help", extra=False)
    assert result.code == 0
    for command in ("cp", "ls", "rm", "sync", "verify", "stats"):
        assert command in result.stdout


def _hoist(*args: str) -> list[str]:
    with click.Context(group) as ctx:
        return hoist_global_options(group, ctx, list(args))


def test_global_options_after_the_command_move_in_front_of_it() -> None:
    assert _hoist("cp", "a", "s3://b/", "--endpoint-url", "http://x", "--json", "--workers=2") == [
        "--endpoint-url",
        "http://x",
        "--json",
        "--workers=2",
        "cp",
        "a",
        "s3://b/",
    ]
    assert _hoist("--quiet", "ls", "s3://b/", "--debug") == ["--quiet", "--debug", "ls", "s3://b/"]


def test_option_values_and_arguments_after_double_dash_stay_put() -> None:
    # "--json" is the value of --exclude here, and after "--" everything is an argument.
    assert _hoist("sync", "a/", "s3://b/", "--exclude", "--json") == [
        "sync",
        "a/",
        "s3://b/",
        "--exclude",
        "--json",
    ]
    assert _hoist("cp", "--", "--json", "s3://b/") == ["cp", "--", "--json", "s3://b/"]


def test_include_and_exclude_keep_their_relative_order() -> None:
    command = group.commands["sync"]
    rules = ordered_filters(
        command, ["a/", "--exclude", "*", "--dryrun", "--include=*.zip", "--exclude", "x*", "b/"]
    )
    assert rules == [FilterRule("exclude", "*"), FilterRule("include", "*.zip"), FilterRule("exclude", "x*")]


def test_usage_errors_exit_2(cli: Cli, tmp_path: Path) -> None:
    assert cli("cp", "--no-such-option", "a", "b").code == 2
    assert cli("cp", "only-one-argument").code == 2
    (tmp_path / "a.zip").write_bytes(b"x")
    both_local = cli("cp", "a.zip", "b.zip")
    assert both_local.code == 2 and "must be a store" in both_local.stderr
    for bad in ("http://example.com/x/", "s3:/releases/", "S3:releases/up/", "file:/srv/x/"):
        bad_url = cli("cp", "a.zip", bad)
        assert bad_url.code == 2, bad
        assert bad_url.stderr.startswith("error: ") and "Traceback" not in bad_url.stderr
        assert bad_url.stderr.count("\n") == 1
    assert not any(p.name.startswith(("s3:", "S3:", "file:")) for p in tmp_path.rglob("*"))
    plain = cli("ls", "some/folder/")
    assert plain.code == 2 and "file://" in plain.stderr
    assert cli("--max-ratio", "2", "ls", "s3://b/").code == 2


def test_a_missing_file_is_one_line_and_exit_1(cli: Cli, tmp_path: Path) -> None:
    result = cli("cp", "nope.zip", f"file://{tmp_path}/store/")
    assert result.code == 1
    assert result.stderr.count("\n") == 1 and "nope.zip" in result.stderr
    assert "Traceback" not in result.stderr
    traced = cli("cp", "nope.zip", f"file://{tmp_path}/store/", "--debug")
    assert traced.code == 1 and "Traceback" in traced.stderr


@CLI_AS_A_PROCESS_TOO
def test_a_missing_object_with_json_reports_on_both_streams(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    result = cli("--json", "cp", f"file://{tmp_path}/store/none.zip", tmp_path / "out.zip")
    assert result.code == 1
    doc = result.json()
    assert doc["ok"] is False and doc["transfers"][0]["status"] == "failed"
    assert "none.zip" in doc["transfers"][0]["error"]
    assert result.stderr.startswith("failed: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "out.zip").exists()


def test_s3_errors_are_one_line(s3_store: Any, moto_server: Any, tmp_path: Path) -> None:
    cli = s3_store.cli
    missing = cli("ls", "s3://no-such-bucket-dg/")
    assert missing.code == 1 and missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr
    with moto_server.iam_auth():  # the fake credentials belong to no IAM user
        denied = cli("ls", s3_store.base)
    assert denied.code == 1 and denied.stderr.count("\n") == 1 and "Traceback" not in denied.stderr
    env = {
        k: v
        for k, v in cli.env.items()
        if not k.startswith("AWS_")
        or k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_DEFAULT_REGION")
    }
    no_creds = subprocess.run(
        [sys.executable, "-m", "deltaglider", "ls", s3_store.base, *cli.extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert no_creds.returncode == 1
    assert "credentials" in no_creds.stderr.lower() and no_creds.stderr.count("\n") == 1


def test_a_denied_bucket_listing_names_the_iam_action_it_needs(s3_store: Any, moto_server: Any) -> None:
    with moto_server.iam_auth():  # the fake credentials belong to no IAM user
        denied = s3_store.cli("ls")
    assert denied.code == 1, denied.stderr
    assert "s3:ListAllMyBuckets" in denied.stderr and "s3:ListBuckets" not in denied.stderr
    assert "arn:aws:s3:::/" not in denied.stderr  # a bucket listing is on no bucket


def test_ls_without_url_lists_buckets(s3_store: Any) -> None:
    from deltaglider.client import DeltaGliderClient

    if not hasattr(DeltaGliderClient, "list_buckets"):
        pytest.skip("needs DeltaGliderClient.list_buckets()")
    result = s3_store.cli.ok("--json", "ls")
    assert s3_store.bucket in [b["name"] for b in result.json()["buckets"]]


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def interrupted(self: Session) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(Session, "client", property(interrupted))
    assert run(["ls", f"file://{tmp_path}/"]) == 130


def test_library_warnings_go_through_the_cli_handler(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("deltaglider")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        install_log_handler(debug=False, quiet=False)
        install_log_handler(debug=False, quiet=False)  # once, however often a client is built
        logging.getLogger("deltaglider.cache").warning("cache folder is not ours")
        logging.getLogger("deltaglider").info("not shown by default")
        assert capsys.readouterr().err == "warning: cache folder is not ours\n"
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved  # type: ignore[assignment]


def _drawn(
    total_files: int, total_bytes: int | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[Progress, io.StringIO]:
    stream = io.StringIO()
    monkeypatch.setattr(Progress, "_DELAY_S", 0.0)
    monkeypatch.setattr(Progress, "_INTERVAL_S", 0.0)
    return Progress("cp", total_files, total_bytes, stream), stream


def test_progress_draws_after_a_moment_and_clears_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    progress, stream = _drawn(2, 2048, monkeypatch)
    one = progress.file(1024)
    one.advance(1024)
    one.done()
    progress.close()
    text = stream.getvalue()
    assert "cp: 1/2 files, 1.0 KiB of 2.0 KiB" in text
    assert text.endswith("\r")


def test_progress_counts_the_files_bytes_whatever_the_store_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    progress, stream = _drawn(2, 2048, monkeypatch)
    delta, reference = progress.file(1024), progress.file(1024)
    delta.advance(40)  # a delta is small: the file is done when it is stored
    assert stream.getvalue().endswith("cp: 0/2 files, 40 B of 2.0 KiB".ljust(70))
    delta.done()
    assert "cp: 1/2 files, 1.0 KiB of 2.0 KiB" in stream.getvalue()
    reference.advance(5000)  # a reference fetched on the way counts no further than the file
    assert "cp: 1/2 files, 2.0 KiB of 2.0 KiB" in stream.getvalue()
    reference.done()
    assert "cp: 2/2 files, 2.0 KiB of 2.0 KiB" in stream.getvalue()


def test_progress_of_sizes_not_known_ahead_shows_the_bytes_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    progress, stream = _drawn(1, None, monkeypatch)
    progress.file(None).advance(206_438)
    assert stream.getvalue().endswith("cp: 0/1 files, 201.6 KiB".ljust(70))


@CLI_AS_A_PROCESS_TOO
def test_no_progress_when_stderr_is_not_a_terminal(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(b"x" * 100_000)
    result = cli("cp", "a.zip", f"file://{tmp_path}/store/")
    assert result.code == 0 and result.stderr == ""


def test_an_unknown_profile_is_one_line(cli: Cli) -> None:
    result = cli("ls", "s3://some-bucket/", "--profile", "no-such-profile")
    assert result.code == 1
    assert result.stderr.count("\n") == 1 and "no-such-profile" in result.stderr


def test_the_installed_command_runs(cli_env: dict[str, str], tmp_path: Path) -> None:
    found = entry_points(group="console_scripts", name="deltaglider")
    assert [ep.value for ep in found] == ["deltaglider.cli:main"]
    script = shutil.which("deltaglider", path=str(Path(sys.executable).parent)) or shutil.which("deltaglider")
    assert script is not None
    (tmp_path / "a.txt").write_text("hello")
    done = subprocess.run(
        [script, "cp", "a.txt", f"file://{tmp_path}/store/", "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
