"""Metrics kept in a Prometheus registry (``DG_METRICS=prometheus``; the ``prometheus`` extra).

A counter ``put.bytes`` becomes ``deltaglider_put_bytes_total``, a timing ``put.seconds`` the histogram
``deltaglider_put_seconds``; tags become labels. A long-lived process gives the adapter its
``CollectorRegistry`` (default: ``prometheus_client.REGISTRY``, the one ``start_http_server`` serves).
A run that ends before anything scrapes it exports instead, at exit (and on :meth:`flush`): to a file
for node_exporter's textfile collector (``DG_PROMETHEUS_TEXTFILE``, replaced whole by a rename, so the
collector never reads half of it), and/or to a Pushgateway (``DG_PROMETHEUS_PUSHGATEWAY``, job
``DG_PROMETHEUS_JOB``). Those exports keep their own registry, one per destination, which every client
of the process shares.

The adapters of one registry share its collectors, so any number of clients can count into it. This
module imports ``prometheus_client``: the factory imports it only when Prometheus is chosen.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Final
from weakref import WeakKeyDictionary

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    push_to_gateway,
    write_to_textfile,
)

from deltaglider.config import DEFAULT_PROMETHEUS_JOB

PREFIX: Final = "deltaglider"
#: From a cache hit to a multi-gigabyte upload.
BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)
PUSH_TIMEOUT: Final = 10.0

_log = logging.getLogger(__name__)
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


@dataclass
class _Collectors:
    """A registry's collectors, each with its label names."""

    counters: dict[str, tuple[Counter, tuple[str, ...]]] = field(default_factory=dict)
    histograms: dict[str, tuple[Histogram, tuple[str, ...]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_REGISTRIES: WeakKeyDictionary[CollectorRegistry, _Collectors] = WeakKeyDictionary()
_REGISTRIES_LOCK = threading.Lock()


def _collectors(registry: CollectorRegistry) -> _Collectors:
    with _REGISTRIES_LOCK:
        found = _REGISTRIES.get(registry)
        if found is None:
            found = _REGISTRIES[registry] = _Collectors()
        return found


def metric_name(name: str, *, timing: bool) -> str:
    """The Prometheus name of one of ours (a counter's ``_total`` is added by prometheus_client)."""
    base = f"{PREFIX}_{_INVALID.sub('_', name)}"
    return base if not timing or base.endswith("_seconds") else f"{base}_seconds"


class PrometheusMetrics:
    """Counts into ``registry`` (``prometheus_client.REGISTRY`` if None)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._registry = REGISTRY if registry is None else registry
        self._collectors = _collectors(self._registry)

    @property
    def registry(self) -> CollectorRegistry:
        return self._registry

    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        full, labels = metric_name(name, timing=False), tuple(sorted(tags))
        with self._collectors.lock:
            found = self._collectors.counters.get(full)
            if found is None:
                counter = Counter(full, f"deltaglider {name}", labels, registry=self._registry)
                found = self._collectors.counters[full] = (counter, labels)
        _check_labels(name, found[1], labels)
        (found[0].labels(**tags) if tags else found[0]).inc(value)

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        full, labels = metric_name(name, timing=True), tuple(sorted(tags))
        with self._collectors.lock:
            found = self._collectors.histograms.get(full)
            if found is None:
                histogram = Histogram(
                    full, f"deltaglider {name} (seconds)", labels, registry=self._registry, buckets=BUCKETS
                )
                found = self._collectors.histograms[full] = (histogram, labels)
        _check_labels(name, found[1], labels)
        (found[0].labels(**tags) if tags else found[0]).observe(seconds)

    def flush(self) -> None:
        """Nothing to deliver: the registry is read where it lives."""


def _check_labels(name: str, known: tuple[str, ...], given: tuple[str, ...]) -> None:
    if known != given:
        raise ValueError(f"metric {name!r} has the labels {list(known)}, not {list(given)}")


@dataclass
class _Export:
    """One destination's registry, written or pushed at exit and on demand."""

    textfile: str | None
    pushgateway: str | None
    job: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Whether anything was counted: a run that counted nothing (an ``ls``) leaves the last run's file.
    counted: bool = False

    def at_exit(self) -> None:
        if self.counted:
            self.run()

    def run(self) -> None:
        with self.lock:
            if self.textfile is not None:
                try:
                    write_to_textfile(self.textfile, self.registry)
                except OSError as exc:
                    _log.warning("Prometheus textfile %s not written: %s", self.textfile, exc)
            if self.pushgateway is not None:
                try:
                    push_to_gateway(
                        self.pushgateway, job=self.job, registry=self.registry, timeout=PUSH_TIMEOUT
                    )
                except Exception as exc:  # urllib's errors, a refused push: the run succeeded anyway
                    _log.warning(
                        "Prometheus metrics not pushed to %s: %s: %s",
                        self.pushgateway,
                        type(exc).__name__,
                        exc,
                    )


_EXPORTS: dict[tuple[str | None, str | None, str], _Export] = {}
_EXPORTS_LOCK = threading.Lock()


class ExportedPrometheusMetrics(PrometheusMetrics):
    """Counts into the registry of a textfile and/or a Pushgateway, exported at exit and on
    :meth:`flush`."""

    def __init__(
        self,
        *,
        textfile: str | None = None,
        pushgateway: str | None = None,
        job: str = DEFAULT_PROMETHEUS_JOB,
    ) -> None:
        if textfile is None and pushgateway is None:
            raise ValueError("an export needs a textfile, a pushgateway or both")
        key = (textfile, pushgateway, job)
        with _EXPORTS_LOCK:
            export = _EXPORTS.get(key)
            if export is None:
                export = _EXPORTS[key] = _Export(textfile, pushgateway, job)
                atexit.register(export.at_exit)
        self._export = export
        super().__init__(export.registry)

    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        self._export.counted = True
        super().increment(name, value, **tags)

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        self._export.counted = True
        super().timing(name, seconds, **tags)

    def flush(self) -> None:
        """Writes the textfile and pushes now (each also happens at exit)."""
        self._export.run()
