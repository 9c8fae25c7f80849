"""Metrics: what uploads and downloads emit, how ``DG_METRICS`` and ``metrics=`` pick the adapter, that a
failing adapter never fails the operation, and the original's ``DG_CACHE_MEMORY_SIZE_MB``."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.artifacts import release_zips

from deltaglider import adapters, create_client
from deltaglider.adapters.cache_fs import FsCache
from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.metrics_cloudwatch import CloudWatchMetrics
from deltaglider.adapters.metrics_guard import GuardedMetrics
from deltaglider.adapters.metrics_logging import LoggingMetrics
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.client import DeltaGliderClient
from deltaglider.config import Settings, resolve
from deltaglider.ports.metrics import MetricsPort

MIB = 1024 * 1024
METRICS_VARIABLES = (
    "DG_METRICS",
    "DG_METRICS_NAMESPACE",
    "DG_PROMETHEUS_TEXTFILE",
    "DG_PROMETHEUS_PUSHGATEWAY",
    "DG_PROMETHEUS_JOB",
    "DG_CACHE_MEMORY_SIZE_MB",
    "DG_CACHE_MAX_BYTES",
    "DG_CACHE_BACKEND",
    "DG_LOG_LEVEL",
)


@pytest.fixture(autouse=True)
def _no_metrics_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in METRICS_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@dataclass
class Recorder:
    counts: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)
    timings: list[tuple[str, float, dict[str, str]]] = field(default_factory=list)

    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        self.counts.append((name, value, tags))

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        self.timings.append((name, seconds, tags))

    def total(self, name: str, **tags: str) -> int:
        return sum(v for n, v, t in self.counts if n == name and all(t.get(k) == w for k, w in tags.items()))


class Broken:
    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        raise RuntimeError("metrics backend down")

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        raise RuntimeError("metrics backend down")


def _adapter(client: DeltaGliderClient) -> MetricsPort:
    guard = client.service._ctx.metrics
    assert isinstance(guard, GuardedMetrics)
    return guard.inner


@pytest.fixture
def store(tmp_path: Path) -> str:
    (tmp_path / "store").mkdir()
    return f"file://{tmp_path / 'store'}"


@pytest.fixture
def two_releases(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "releases"
    folder.mkdir()
    return release_zips(folder, "app", 2, size=60_000)


# What the service emits


def test_uploads_and_downloads_emit_counts_bytes_savings_and_timings(
    store: str, two_releases: list[Path], tmp_path: Path
) -> None:
    recorder = Recorder()
    client = create_client(store, cache_dir=str(tmp_path / "cache"), metrics=recorder)
    first, second = two_releases
    whole = client.upload(first, "s3://b/app/")
    delta = client.upload(second, "s3://b/app/")
    assert (whole.operation, delta.operation) == ("PUT", "PUT_DELTA")

    assert recorder.total("put") == 2
    assert recorder.total("put", operation="PUT_DELTA") == 1
    assert recorder.total("put.bytes") == first.stat().st_size + second.stat().st_size
    assert recorder.total("put.stored_bytes", operation="PUT_DELTA") == delta.stored_size
    assert (
        recorder.total("put.saved_bytes", operation="PUT_DELTA") == second.stat().st_size - delta.stored_size
    )
    assert recorder.total("put.saved_bytes", operation="PUT_DELTA") > second.stat().st_size // 2
    puts = [(name, tags) for name, _, tags in recorder.timings]
    assert puts == [("put.seconds", {"operation": "PUT"}), ("put.seconds", {"operation": "PUT_DELTA"})]

    recorder.timings.clear()
    client.download("s3://b/app/" + second.name, tmp_path / "out.zip")
    assert recorder.total("get", operation="GET_DELTA") == 1
    assert recorder.total("get.bytes", operation="GET_DELTA") == second.stat().st_size
    assert [(name, tags) for name, _, tags in recorder.timings] == [
        ("get.seconds", {"operation": "GET_DELTA"})
    ]


def test_a_failing_adapter_never_fails_an_upload_or_a_download(
    store: str, two_releases: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = create_client(store, cache_dir=str(tmp_path / "cache"), metrics=Broken())
    with caplog.at_level(logging.DEBUG, logger="deltaglider"):
        for release in two_releases:
            client.upload(release, "s3://b/app/")
        client.download("s3://b/app/" + two_releases[1].name, tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == two_releases[1].read_bytes()
    failures = [r for r in caplog.records if "metrics failed" in r.getMessage()]
    # Said once as a warning, then quietly: a broken backend does not drown the log.
    assert [r.levelno for r in failures].count(logging.WARNING) == 1
    assert len(failures) > 5
    assert "metrics backend down" in failures[0].getMessage()


# Choosing the adapter


@pytest.mark.parametrize(
    ("value", "adapter"),
    [
        ("noop", NoopMetrics),
        ("logging", LoggingMetrics),
        ("cloudwatch", CloudWatchMetrics),
        ("Logging", LoggingMetrics),
    ],
)
def test_dg_metrics_picks_the_adapter(
    value: str, adapter: type, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_METRICS", value)
    assert type(_adapter(create_client(store, cache_backend="memory"))) is adapter


def test_the_metrics_keyword_beats_the_environment(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DG_METRICS", "cloudwatch")
    assert type(_adapter(create_client(store, cache_backend="memory", metrics="noop"))) is NoopMetrics
    recorder = Recorder()
    assert _adapter(create_client(store, cache_backend="memory", metrics=recorder)) is recorder


def test_unset_metrics_are_debug_lines_at_level_debug_and_nothing_otherwise(store: str) -> None:
    assert type(_adapter(create_client(store, cache_backend="memory"))) is NoopMetrics
    debug = _adapter(create_client(store, cache_backend="memory", log_level="DEBUG"))
    assert type(debug) is LoggingMetrics
    assert debug._level == logging.DEBUG


def test_an_unknown_dg_metrics_is_refused(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DG_METRICS", "statsd")
    with pytest.raises(ValueError, match="metrics must be one of noop, logging, cloudwatch, prometheus"):
        create_client(store, cache_backend="memory")


def test_dg_metrics_namespace_names_the_cloudwatch_namespace(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_METRICS", "cloudwatch")
    default = _adapter(create_client(store, cache_backend="memory"))
    assert isinstance(default, CloudWatchMetrics)
    assert default.namespace == "DeltaGlider"  # the original's
    monkeypatch.setenv("DG_METRICS_NAMESPACE", "Builds/Releases")
    named = _adapter(create_client(store, cache_backend="memory"))
    assert isinstance(named, CloudWatchMetrics)
    assert named.namespace == "Builds/Releases"


def test_the_prometheus_variables_are_read() -> None:
    settings = resolve(
        env={
            "DG_METRICS": "prometheus",
            "DG_PROMETHEUS_TEXTFILE": "/var/lib/node_exporter/dg.prom",
            "DG_PROMETHEUS_PUSHGATEWAY": "pushgw:9091",
            "DG_PROMETHEUS_JOB": "nightly",
        }
    )
    assert (settings.metrics, settings.prometheus_textfile) == (
        "prometheus",
        "/var/lib/node_exporter/dg.prom",
    )
    assert (settings.prometheus_pushgateway, settings.prometheus_job) == ("pushgw:9091", "nightly")
    assert resolve(env={}).prometheus_job == "deltaglider"


def test_dg_metrics_logging_writes_info_lines(
    store: str,
    two_releases: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("DG_METRICS", "logging")
    client = create_client(store, cache_dir=str(tmp_path / "cache"), log_level="WARNING")
    with caplog.at_level(logging.INFO, logger="deltaglider.metrics"):
        client.upload(two_releases[0], "s3://b/app/")
    lines = [r.getMessage() for r in caplog.records if r.name == "deltaglider.metrics"]
    assert "count put 1 operation=PUT" in lines
    assert f"count put.bytes {two_releases[0].stat().st_size} operation=PUT" in lines
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "deltaglider.metrics")


def test_the_logging_adapter_passes_a_parent_logger_kept_at_warning() -> None:
    # As the command line keeps ``deltaglider``: the metrics logger gets its own level, unless the
    # application gave it one.
    name = "dg-test-metrics-parent.metrics"
    logging.getLogger("dg-test-metrics-parent").setLevel(logging.WARNING)
    LoggingMetrics(name, level=logging.INFO)
    assert logging.getLogger(name).isEnabledFor(logging.INFO)
    mine = "dg-test-metrics-parent.chosen"
    logging.getLogger(mine).setLevel(logging.ERROR)
    LoggingMetrics(mine, level=logging.INFO)
    assert logging.getLogger(mine).level == logging.ERROR


def test_the_base_install_never_imports_prometheus_client(tmp_path: Path) -> None:
    code = (
        "import sys, deltaglider\n"
        f"deltaglider.create_client('file://{tmp_path}', cache_backend='memory', metrics='cloudwatch')\n"
        "assert 'prometheus_client' not in sys.modules, 'imported'\n"
        "assert 'boto3' not in sys.modules, 'boto3 imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_prometheus_without_the_extra_is_a_clear_error(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # what an install without it sees
    monkeypatch.delitem(sys.modules, "deltaglider.adapters.metrics_prometheus", raising=False)
    monkeypatch.delattr(adapters, "metrics_prometheus", raising=False)  # as if never imported
    with pytest.raises(ImportError, match=r"pip install 'deltaglider-native\[prometheus\]'"):
        create_client(store, cache_backend="memory", metrics="prometheus")


# The original's DG_CACHE_MEMORY_SIZE_MB


def _cache_bytes(client: DeltaGliderClient) -> int:
    cache = client.service._ctx.cache
    assert isinstance(cache, MemoryCache | FsCache)
    return cache._max_bytes


def test_dg_cache_memory_size_mb_sizes_the_memory_cache(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DG_CACHE_BACKEND", "memory")
    monkeypatch.setenv("DG_CACHE_MEMORY_SIZE_MB", "40")
    client = create_client(store)
    assert isinstance(client.service._ctx.cache, MemoryCache)
    assert _cache_bytes(client) == 40 * MIB
    # Ours, where both are set, and the call's argument above both.
    monkeypatch.setenv("DG_CACHE_MAX_BYTES", "8MiB")
    assert _cache_bytes(create_client(store)) == 8 * MIB
    assert _cache_bytes(create_client(store, cache_max_bytes="2MiB")) == 2 * MIB


def test_dg_cache_memory_size_mb_applies_to_the_memory_backend_only(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_CACHE_MEMORY_SIZE_MB", "40")
    assert resolve(cache_backend="memory").cache_max_bytes == 40 * MIB
    filesystem = create_client(store, cache_dir=str(tmp_path / "cache"))
    assert _cache_bytes(filesystem) == Settings().cache_max_bytes


def test_a_bad_dg_cache_memory_size_mb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DG_CACHE_MEMORY_SIZE_MB", "lots")
    with pytest.raises(ValueError, match="DG_CACHE_MEMORY_SIZE_MB='lots' is not a whole number"):
        resolve(cache_backend="memory")
