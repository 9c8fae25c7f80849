"""``/metrics`` for Prometheus, and the middleware that counts every request for it.

The server's own series, kept in one ``CollectorRegistry`` per :class:`ServeMetrics`:

- ``deltaglider_serve_requests_total`` (counter): requests answered, by ``route`` (the matched
  route's path template, ``unmatched`` for none), ``method`` and ``status``;
- ``deltaglider_serve_response_bytes_total`` (counter): body bytes sent, by ``route``;
- ``deltaglider_serve_request_seconds`` (histogram): from a request to its last byte, by ``route``;
- ``deltaglider_serve_requests_in_progress`` (gauge);
- ``deltaglider_serve_rebuild_seconds`` (histogram): a file's rebuild into the scratch folder, by
  ``operation`` (``GET_DELTA`` rebuilt, ``GET`` stored whole);
- ``deltaglider_serve_rebuilds_shared_total`` (counter): readers that joined a rebuild under way.
- with :meth:`ServeMetrics.watch`, totals another part keeps (the S3 API's rebuilds), read at each
  scrape.

Route templates keep the label sets small: a scan of made-up paths adds one ``unmatched`` series per
status, not one per path. The client's own metrics (``deltaglider_get_total``,
``deltaglider_cache_hit_total`` and ``deltaglider_cache_miss_total``, ``deltaglider_get_seconds``...)
appear on the same page when the client counts into the same registry: build it with
``create_client(metrics=serve_metrics.client_metrics())``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Final, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deltaglider.adapters.metrics_prometheus import BUCKETS, PrometheusMetrics
from deltaglider.core.models import GetSummary

__all__ = ["UNMATCHED", "MetricsMiddleware", "RebuildCounts", "ServeMetrics", "routes"]

#: The ``route`` label of a request that no route matched.
UNMATCHED: Final = "unmatched"


class RebuildCounts(Protocol):
    """Running totals kept by another part of the server (the S3 API's shared rebuilds), read at
    each scrape."""

    rebuilds: int
    failures: int
    seconds: float
    shared: int
    cache_hits: int


class _CountsCollector(Collector):
    """Exposes a :class:`RebuildCounts` as counters named ``deltaglider_serve_<part>_...``."""

    def __init__(self, part: str, counts: Callable[[], RebuildCounts]) -> None:
        self._prefix = f"deltaglider_serve_{part}"
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        counts = self._counts()
        yield CounterMetricFamily(f"{self._prefix}_rebuilds", "Rebuilds started", value=counts.rebuilds)
        yield CounterMetricFamily(
            f"{self._prefix}_rebuild_failures", "Rebuilds failed", value=counts.failures
        )
        yield CounterMetricFamily(
            f"{self._prefix}_rebuild_seconds", "Seconds spent rebuilding, in all", value=counts.seconds
        )
        yield CounterMetricFamily(
            f"{self._prefix}_rebuilds_shared", "Readers that joined a rebuild under way", value=counts.shared
        )
        yield CounterMetricFamily(
            f"{self._prefix}_rebuild_cache_hits",
            "Readers served a file already rebuilt",
            value=counts.cache_hits,
        )


class ServeMetrics:
    """The server's counters, in ``registry`` (a new one if None)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        self.requests = Counter(
            "deltaglider_serve_requests",
            "HTTP requests answered, by route template, method and status",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.response_bytes = Counter(
            "deltaglider_serve_response_bytes",
            "HTTP response body bytes sent, by route template",
            ("route",),
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "deltaglider_serve_request_seconds",
            "Time from a request's arrival to its last byte sent, by route template",
            ("route",),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "deltaglider_serve_requests_in_progress", "HTTP requests being answered", registry=self.registry
        )
        self.rebuild_seconds = Histogram(
            "deltaglider_serve_rebuild_seconds",
            "Time to rebuild a stored file into the server's scratch folder (GET_DELTA) or fetch it (GET)",
            ("operation",),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.rebuilds_shared = Counter(
            "deltaglider_serve_rebuilds_shared",
            "Readers served by a rebuild that another request had started",
            registry=self.registry,
        )

    def client_metrics(self) -> PrometheusMetrics:
        """A metrics adapter for ``create_client(metrics=...)`` that counts into this registry (cache
        hits and misses, gets, their bytes and times)."""
        return PrometheusMetrics(self.registry)

    def observe_rebuild(self, seconds: float, summary: GetSummary) -> None:
        """For ``FileOptions.on_rebuild``."""
        self.rebuild_seconds.labels(operation=summary.operation).observe(seconds)

    def observe_shared(self) -> None:
        """For ``FileOptions.on_shared``."""
        self.rebuilds_shared.inc()

    def watch(self, part: str, counts: Callable[[], RebuildCounts]) -> None:
        """Adds the totals ``counts()`` returns at each scrape, as counters
        ``deltaglider_serve_<part>_rebuilds_total``, ``..._rebuild_failures_total``,
        ``..._rebuild_seconds_total``, ``..._rebuilds_shared_total`` and
        ``..._rebuild_cache_hits_total`` (``part``: ``s3`` for the S3 API's rebuilds)."""
        self.registry.register(_CountsCollector(part, counts))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _route_label(scope: Scope) -> str:
    """The path template of the route that answered (the innermost router sets ``scope["route"]``),
    under the prefix of any mount above it (kept in ``root_path`` beyond the app's own)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    mounted = scope.get("root_path", "")[len(scope.get("app_root_path", "")) :]
    return (mounted + path) or "/"


class MetricsMiddleware:
    """Counts every HTTP request the wrapped app answers: by route template, method and status, with
    the body bytes sent. Pure ASGI (no buffering), so streamed responses are counted as they go."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets if the app fails before answering
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        self.metrics.in_progress.inc()
        started = time.monotonic()
        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.metrics.in_progress.dec()
            route = _route_label(scope)
            self.metrics.requests.labels(route=route, method=scope["method"], status=str(status)).inc()
            self.metrics.response_bytes.labels(route=route).inc(sent)
            self.metrics.request_seconds.labels(route=route).observe(time.monotonic() - started)


def routes(metrics: ServeMetrics) -> list[BaseRoute]:
    """``GET /metrics``: the registry in Prometheus' text format."""

    async def endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", endpoint, methods=["GET"], name="deltaglider-metrics")]
