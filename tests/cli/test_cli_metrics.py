"""Metrics from the command line, chosen by the environment as with the original: ``DG_METRICS=logging``
lines on stderr, a Prometheus textfile and CloudWatch data sent when the run exits."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.moto_server import MotoServer
from support.variants import CLI_AS_A_PROCESS

REGION = "us-east-1"

Cli = Any  # the ``cli`` fixture (tests/cli/conftest.py)


@pytest.fixture
def upload(tmp_path: Path) -> tuple[Path, str]:
    file = tmp_path / "notes.bin"
    file.write_bytes(b"release notes " * 500)
    return file, f"file://{tmp_path / 'store'}/app/"


def test_dg_metrics_logging_writes_metric_lines_to_stderr(cli: Cli, upload: tuple[Path, str]) -> None:
    cli.env["DG_METRICS"] = "logging"
    result = cli.ok("cp", *upload)
    assert "info: count put 1 operation=PUT" in result.stderr.splitlines()
    assert "info: count put.bytes 7000 operation=PUT" in result.stderr.splitlines()
    assert any(line.startswith("info: timing put.seconds ") for line in result.stderr.splitlines())


def test_no_metric_lines_unless_asked(cli: Cli, upload: tuple[Path, str]) -> None:
    assert "count put" not in cli.ok("cp", *upload).stderr


def test_an_unknown_dg_metrics_is_a_clear_error(cli: Cli, upload: tuple[Path, str]) -> None:
    cli.env["DG_METRICS"] = "statsd"
    result = cli("cp", *upload)
    assert result.code != 0
    assert "metrics must be one of noop, logging, cloudwatch, prometheus, not 'statsd'" in result.stderr


@CLI_AS_A_PROCESS
def test_the_prometheus_textfile_is_written_when_the_run_exits(
    cli: Cli, upload: tuple[Path, str], tmp_path: Path
) -> None:
    pytest.importorskip("prometheus_client", reason="the prometheus extra is not installed")
    textfile = tmp_path / "deltaglider.prom"
    cli.env.update(DG_METRICS="prometheus", DG_PROMETHEUS_TEXTFILE=str(textfile))
    cli.ok("cp", *upload)
    text = textfile.read_text()
    assert 'deltaglider_put_total{operation="PUT"} 1.0' in text
    assert 'deltaglider_put_bytes_total{operation="PUT"} 7000.0' in text


@CLI_AS_A_PROCESS
def test_cloudwatch_gets_the_runs_metrics_when_it_exits(
    cli: Cli, upload: tuple[Path, str], moto_server: MotoServer
) -> None:
    namespace = f"DeltaGliderCli/{uuid.uuid4().hex[:8]}"
    cli.env.update(
        DG_METRICS="cloudwatch",
        DG_METRICS_NAMESPACE=namespace,
        # boto3's own variable: the S3 endpoint is not CloudWatch's.
        AWS_ENDPOINT_URL_CLOUDWATCH=moto_server.url,
    )
    cli.ok("cp", *upload)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION, endpoint_url=moto_server.url)
    names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace=namespace)["Metrics"]}
    assert {"put", "put.bytes", "put.stored_bytes", "put.saved_bytes", "put.seconds"} <= names
