"""CloudWatch metrics against moto's CloudWatch on its HTTP server: what uploads and downloads put, read
back with ``list_metrics`` and ``get_metric_statistics``; batching; and a CloudWatch that cannot be
reached costs the upload nothing."""

from __future__ import annotations

import logging
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from support.artifacts import release_zips
from support.moto_server import MotoServer
from support.s3_backend import REGION

from deltaglider import create_client
from deltaglider.adapters.metrics_cloudwatch import BATCH, CloudWatchMetrics


@pytest.fixture(autouse=True)
def _uncompressed(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore gzips a PutMetricData body over 10 kB, as CloudWatch accepts; moto 5.2.1's server
    # answers such a request with a 500.
    monkeypatch.setenv("AWS_DISABLE_REQUEST_COMPRESSION", "true")


@pytest.fixture
def cloudwatch(moto_server: MotoServer) -> Any:
    return boto3.client("cloudwatch", region_name=REGION, endpoint_url=moto_server.url)


@pytest.fixture
def namespace() -> str:
    return f"DeltaGliderTest/{uuid.uuid4().hex[:8]}"


def _names(cloudwatch: Any, namespace: str) -> set[str]:
    return {m["MetricName"] for m in cloudwatch.list_metrics(Namespace=namespace)["Metrics"]}


def _sum(cloudwatch: Any, namespace: str, name: str, **dimensions: str) -> tuple[float, str | None]:
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum", "SampleCount"],
    )["Datapoints"]
    return sum(p["Sum"] for p in points), (points[0]["Unit"] if points else None)


def test_uploads_and_downloads_reach_cloudwatch(
    moto_server: MotoServer, cloudwatch: Any, namespace: str, tmp_path: Path
) -> None:
    bucket = f"dg-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name=REGION, endpoint_url=moto_server.url).create_bucket(Bucket=bucket)
    metrics = CloudWatchMetrics(namespace, region=REGION, endpoint_url=moto_server.url, flush_interval=None)
    client = create_client(moto_server.url, cache_dir=str(tmp_path / "cache"), metrics=metrics)
    first, second = release_zips(tmp_path, "app", 2, size=60_000)
    client.upload(first, f"s3://{bucket}/app/")
    delta = client.upload(second, f"s3://{bucket}/app/")
    client.download(f"s3://{bucket}/app/{second.name}", tmp_path / "out.zip")
    assert _names(cloudwatch, namespace) == set()  # batched: nothing sent yet

    metrics.flush()
    assert {"put", "put.bytes", "put.stored_bytes", "put.saved_bytes", "put.seconds", "get", "get.bytes"} <= (
        _names(cloudwatch, namespace)
    )
    assert _sum(cloudwatch, namespace, "put") == (2.0, "Count")
    assert _sum(cloudwatch, namespace, "put.bytes", operation="PUT_DELTA") == (second.stat().st_size, "Bytes")
    saved = second.stat().st_size - delta.stored_size
    assert _sum(cloudwatch, namespace, "put.saved_bytes", operation="PUT_DELTA") == (saved, "Bytes")
    assert _sum(cloudwatch, namespace, "get", operation="GET_DELTA") == (1.0, "Count")
    seconds, unit = _sum(cloudwatch, namespace, "get.seconds", operation="GET_DELTA")
    assert unit == "Seconds"
    assert 0 < seconds < 60


def test_a_waiting_datum_is_sent_within_the_flush_interval(
    cloudwatch: Any, namespace: str, moto_server: MotoServer
) -> None:
    metrics = CloudWatchMetrics(namespace, region=REGION, endpoint_url=moto_server.url, flush_interval=0.2)
    metrics.increment("put", operation="PUT")
    deadline = time.monotonic() + 10
    while not _names(cloudwatch, namespace) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _names(cloudwatch, namespace) == {"put"}


def test_a_full_batch_goes_out_at_once(cloudwatch: Any, namespace: str, moto_server: MotoServer) -> None:
    metrics = CloudWatchMetrics(namespace, region=REGION, endpoint_url=moto_server.url, flush_interval=None)
    for _ in range(BATCH + 5):
        metrics.increment("cache.hit")
    assert _sum(cloudwatch, namespace, "cache.hit")[0] == BATCH  # the full batch; 5 wait
    metrics.flush()
    assert _sum(cloudwatch, namespace, "cache.hit")[0] == BATCH + 5


class _Recording:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def put_metric_data(self, *, Namespace: str, MetricData: list[dict[str, Any]]) -> None:  # noqa: N803
        self.calls.append((Namespace, len(MetricData)))


def test_batches_are_at_most_the_limit_and_the_rest_goes_at_the_end() -> None:
    stub = _Recording()
    metrics = CloudWatchMetrics("NS", client=stub, flush_interval=None)
    for _ in range(2 * BATCH + 500):
        metrics.timing("put.seconds", 0.1, operation="PUT")
    assert stub.calls == [("NS", BATCH), ("NS", BATCH)]
    del metrics  # collected: what waits is sent, as at the exit
    assert stub.calls == [("NS", BATCH), ("NS", BATCH), ("NS", 500)]


def test_an_unreachable_cloudwatch_costs_the_upload_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = boto3.client(
        "cloudwatch", region_name=REGION, endpoint_url=dead, config=Config(retries={"total_max_attempts": 1})
    )
    metrics = CloudWatchMetrics("NS", client=unreachable, flush_interval=None)
    (tmp_path / "store").mkdir()
    client = create_client(f"file://{tmp_path / 'store'}", cache_dir=str(tmp_path / "cache"), metrics=metrics)
    (file := tmp_path / "a.bin").write_bytes(b"x" * 1000)
    with caplog.at_level(logging.WARNING):
        client.upload(file, "s3://b/app/")
        metrics.flush()
    assert client.head("s3://b/app/a.bin").size == 1000
    assert any("CloudWatch metrics not sent" in r.getMessage() for r in caplog.records)


def test_tags_become_dimensions_and_empty_ones_are_left_out() -> None:
    sent: list[dict[str, Any]] = []

    class Client:
        def put_metric_data(self, *, Namespace: str, MetricData: list[dict[str, Any]]) -> None:  # noqa: N803
            sent.extend(MetricData)

    metrics = CloudWatchMetrics("NS", client=Client(), flush_interval=None)
    metrics.increment("put.bytes", 10, operation="PUT", empty="")
    metrics.flush()
    assert sent[0]["Dimensions"] == [{"Name": "operation", "Value": "PUT"}]
    assert (sent[0]["Unit"], sent[0]["Value"]) == ("Bytes", 10.0)
