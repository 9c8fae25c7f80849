"""Prometheus metrics (the ``prometheus`` extra): a registry's values after an upload and a download, the
registry a long-lived process gives, the textfile and the Pushgateway a short run exports to."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from support.artifacts import release_zips

pytest.importorskip("prometheus_client", reason="the prometheus extra is not installed")

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from deltaglider import create_client
from deltaglider.adapters import metrics_prometheus
from deltaglider.adapters.metrics_guard import GuardedMetrics
from deltaglider.adapters.metrics_prometheus import ExportedPrometheusMetrics, PrometheusMetrics


@pytest.fixture(autouse=True)
def _no_metrics_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DG_METRICS", "DG_PROMETHEUS_TEXTFILE", "DG_PROMETHEUS_PUSHGATEWAY", "DG_PROMETHEUS_JOB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_export_at_exit() -> Iterator[None]:
    """The exports a test made are forgotten after it: the test process's exit must not write into
    removed folders or push to a closed gateway."""
    yield
    with metrics_prometheus._EXPORTS_LOCK:
        for export in metrics_prometheus._EXPORTS.values():
            export.counted = False
        metrics_prometheus._EXPORTS.clear()


@pytest.fixture
def store(tmp_path: Path) -> str:
    (tmp_path / "store").mkdir()
    return f"file://{tmp_path / 'store'}"


@pytest.fixture
def two_releases(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "releases"
    folder.mkdir()
    return release_zips(folder, "app", 2, size=60_000)


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, f"{name}{labels} not in the registry"
    return value


def test_a_registry_counts_uploads_and_downloads(
    store: str, two_releases: list[Path], tmp_path: Path
) -> None:
    registry = CollectorRegistry()
    client = create_client(store, cache_dir=str(tmp_path / "cache"), metrics=PrometheusMetrics(registry))
    first, second = two_releases
    client.upload(first, "s3://b/app/")
    delta = client.upload(second, "s3://b/app/")
    client.download("s3://b/app/" + second.name, tmp_path / "out.zip")

    assert _value(registry, "deltaglider_put_total", operation="PUT") == 1
    assert _value(registry, "deltaglider_put_total", operation="PUT_DELTA") == 1
    assert _value(registry, "deltaglider_put_bytes_total", operation="PUT_DELTA") == second.stat().st_size
    saved = second.stat().st_size - delta.stored_size
    assert _value(registry, "deltaglider_put_saved_bytes_total", operation="PUT_DELTA") == saved
    assert _value(registry, "deltaglider_put_seconds_count", operation="PUT_DELTA") == 1
    assert _value(registry, "deltaglider_put_seconds_sum", operation="PUT_DELTA") > 0
    assert _value(registry, "deltaglider_get_total", operation="GET_DELTA") == 1
    assert _value(registry, "deltaglider_get_bytes_total", operation="GET_DELTA") == second.stat().st_size
    assert _value(registry, "deltaglider_get_seconds_count", operation="GET_DELTA") == 1


def test_clients_of_one_registry_count_together(store: str, two_releases: list[Path], tmp_path: Path) -> None:
    registry = CollectorRegistry()
    for release in two_releases:  # a client per request, as a web service may build them
        create_client(store, cache_dir=str(tmp_path / "cache"), metrics=PrometheusMetrics(registry)).upload(
            release, "s3://b/app/"
        )
    assert _value(registry, "deltaglider_put_total", operation="PUT") == 1
    assert _value(registry, "deltaglider_put_total", operation="PUT_DELTA") == 1


def test_dg_metrics_prometheus_counts_into_the_default_registry(
    store: str, two_releases: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_METRICS", "prometheus")
    client = create_client(store, cache_dir=str(tmp_path / "cache"))
    guard = client.service._ctx.metrics
    assert isinstance(guard, GuardedMetrics)
    assert isinstance(guard.inner, PrometheusMetrics)
    assert guard.inner.registry is REGISTRY
    before = REGISTRY.get_sample_value("deltaglider_put_total", {"operation": "PUT"}) or 0
    client.upload(two_releases[0], "s3://b/app/")
    assert _value(REGISTRY, "deltaglider_put_total", operation="PUT") == before + 1


def test_labels_that_change_are_refused_and_the_guard_logs_it() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    metrics.increment("put", operation="PUT")
    with pytest.raises(ValueError, match=r"metric 'put' has the labels \['operation'\], not \['kind'\]"):
        metrics.increment("put", kind="x")


def _families(path: Path) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_the_textfile_is_written_in_node_exporters_format(
    store: str, two_releases: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    textfile = tmp_path / "collector" / "deltaglider.prom"
    textfile.parent.mkdir()
    monkeypatch.setenv("DG_METRICS", "prometheus")
    monkeypatch.setenv("DG_PROMETHEUS_TEXTFILE", str(textfile))
    client = create_client(store, cache_dir=str(tmp_path / "cache"))
    guard = client.service._ctx.metrics
    assert isinstance(guard, GuardedMetrics)
    assert isinstance(guard.inner, ExportedPrometheusMetrics)
    for release in two_releases:
        client.upload(release, "s3://b/app/")
    assert not textfile.exists()  # written at the exit, or on flush
    guard.flush()
    samples = _families(textfile)
    assert samples["deltaglider_put_total"] == {
        (("operation", "PUT"),): 1.0,
        (("operation", "PUT_DELTA"),): 1.0,
    }
    assert (
        samples["deltaglider_put_bytes_total"][(("operation", "PUT_DELTA"),)]
        == two_releases[1].stat().st_size
    )
    assert "# TYPE deltaglider_put_seconds histogram" in textfile.read_text()
    assert sorted(p.name for p in textfile.parent.iterdir()) == ["deltaglider.prom"]  # no temporary left


def test_the_textfile_is_replaced_whole(tmp_path: Path) -> None:
    textfile = tmp_path / "dg.prom"
    textfile.write_text("stale\n")
    seen_inode = textfile.stat().st_ino
    metrics = ExportedPrometheusMetrics(textfile=str(textfile), job="replace-test")
    metrics.increment("put", operation="PUT")
    metrics.flush()
    # A rename puts a new file in place: a reader has the old one or the new one, never a mix.
    assert textfile.stat().st_ino != seen_inode
    assert "stale" not in textfile.read_text()


def test_an_unwritable_textfile_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = ExportedPrometheusMetrics(textfile=str(tmp_path / "missing" / "dg.prom"), job="unwritable")
    metrics.increment("put", operation="PUT")
    metrics.flush()
    assert any("textfile" in r.getMessage() and "not written" in r.getMessage() for r in caplog.records)


def test_a_run_that_counted_nothing_leaves_the_last_runs_file(tmp_path: Path) -> None:
    textfile = tmp_path / "idle.prom"
    textfile.write_text("deltaglider_put_total 3.0\n")
    idle = ExportedPrometheusMetrics(textfile=str(textfile), job="idle")
    assert idle._export.counted is False
    idle._export.at_exit()
    assert textfile.read_text() == "deltaglider_put_total 3.0\n"
    idle.increment("get", operation="GET")
    idle._export.at_exit()
    assert "deltaglider_get_total" in textfile.read_text()


class _Gateway(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Gateway.received.append(("PUT", self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def pushgateway() -> Iterator[str]:
    _Gateway.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_pushgateway_gets_the_runs_metrics(
    pushgateway: str, store: str, two_releases: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_METRICS", "prometheus")
    monkeypatch.setenv("DG_PROMETHEUS_PUSHGATEWAY", pushgateway)
    monkeypatch.setenv("DG_PROMETHEUS_JOB", "nightly-upload")
    client = create_client(store, cache_dir=str(tmp_path / "cache"))
    client.upload(two_releases[0], "s3://b/app/")
    guard = client.service._ctx.metrics
    assert isinstance(guard, GuardedMetrics)
    guard.flush()
    [(method, path, body)] = _Gateway.received
    assert (method, path) == ("PUT", "/metrics/job/nightly-upload")
    assert b'deltaglider_put_total{operation="PUT"} 1.0' in body


def test_an_unreachable_pushgateway_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = ExportedPrometheusMetrics(pushgateway="127.0.0.1:9", job="unreachable")  # discard port: refused
    metrics.increment("put", operation="PUT")
    metrics.flush()
    assert any("not pushed" in r.getMessage() for r in caplog.records)


def test_exports_of_one_destination_share_a_registry(tmp_path: Path) -> None:
    one = ExportedPrometheusMetrics(textfile=str(tmp_path / "a.prom"), job="shared")
    two = ExportedPrometheusMetrics(textfile=str(tmp_path / "a.prom"), job="shared")
    other = ExportedPrometheusMetrics(textfile=str(tmp_path / "b.prom"), job="shared")
    assert one.registry is two.registry
    assert other.registry is not one.registry
    assert metrics_prometheus.metric_name("put.seconds", timing=True) == "deltaglider_put_seconds"
    assert metrics_prometheus.metric_name("rebuild", timing=True) == "deltaglider_rebuild_seconds"
