"""``/metrics`` and the middleware that feeds it: requests by route template, method and status, bytes
served, rebuild times, and the client's cache hits on the same page."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from serve.web_support import BUCKET, folder_client, web_app
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from support.artifacts import release_zips

from deltaglider.serve import metrics

FILE_ROUTE = "/files/{bucket}/{key:path}"


def _samples(page: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text page, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_bytes_rebuilds_and_cache_hits_are_counted(tmp_path: Path) -> None:
    serve_metrics = metrics.ServeMetrics()
    client = folder_client(tmp_path, serve_metrics)
    made = tmp_path / "made"
    made.mkdir()
    releases = release_zips(made, "app", 2, size=100_000)
    for path in releases:
        client.upload(path, f"s3://{BUCKET}/apps/")
    web = web_app(client, serve_metrics, tmp_path / "scratch")
    with TestClient(web.app) as http:
        for _ in range(2):
            assert http.get("/browse/").status_code == 200
        assert http.get("/no/such/route").status_code == 404
        assert http.get(f"/files/{BUCKET}/apps/missing.zip").status_code == 404
        downloads = [http.get(f"/files/{BUCKET}/apps/{p.name}") for p in releases]
        assert [d.content for d in downloads] == [p.read_bytes() for p in releases]
        page = http.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain; version=")
    samples = _samples(page.text)
    requests = "deltaglider_serve_requests_total"
    assert _value(samples, requests, route="/browse/{path:path}", method="GET", status="200") == 2
    assert _value(samples, requests, route="unmatched", method="GET", status="404") == 1
    assert _value(samples, requests, route=FILE_ROUTE, method="GET", status="404") == 1
    assert _value(samples, requests, route=FILE_ROUTE, method="GET", status="200") == 2
    body_bytes = sum(len(d.content) for d in downloads) + len(b"no such file\n")
    assert _value(samples, "deltaglider_serve_response_bytes_total", route=FILE_ROUTE) == body_bytes
    assert _value(samples, "deltaglider_serve_request_seconds_count", route=FILE_ROUTE) == 3
    rebuilds = sum(
        _value(samples, "deltaglider_serve_rebuild_seconds_count", operation=op)
        for op in ("GET", "GET_DELTA")
    )
    assert rebuilds == 2
    assert _value(samples, "deltaglider_serve_requests_in_progress") == 1  # the scrape itself
    # The client counts into the same registry: its gets, and the reference cache's hits and misses.
    assert _value(samples, "deltaglider_get_total", operation="GET_DELTA") == 2
    cache = _value(samples, "deltaglider_cache_hit_total") + _value(samples, "deltaglider_cache_miss_total")
    assert cache >= 1


def _app(serve_metrics: metrics.ServeMetrics) -> Starlette:
    async def hello(request: Request) -> Response:
        return PlainTextResponse("hello")

    async def chunks(request: Request) -> Response:
        async def body():  # type: ignore[no-untyped-def]
            for _ in range(5):
                yield b"x" * 1000

        return StreamingResponse(body())

    async def boom(request: Request) -> Response:
        raise RuntimeError("planted")

    inner = [Route("/hello/{name}", hello), Route("/chunks", chunks), Route("/boom", boom)]
    return Starlette(
        routes=[Mount("/mounted", routes=inner), *metrics.routes(serve_metrics)],
        middleware=[Middleware(metrics.MetricsMiddleware, metrics=serve_metrics)],
    )


def test_the_middleware_labels_mounted_routes_and_counts_streamed_bytes() -> None:
    serve_metrics = metrics.ServeMetrics()
    with TestClient(_app(serve_metrics), raise_server_exceptions=False) as http:
        for name in ("a", "b", "c"):
            assert http.get(f"/mounted/hello/{name}").text == "hello"
        assert len(http.get("/mounted/chunks").content) == 5000
        assert http.get("/mounted/boom").status_code == 500
        samples = _samples(http.get("/metrics").text)
    requests = "deltaglider_serve_requests_total"
    assert _value(samples, requests, route="/mounted/hello/{name}", method="GET", status="200") == 3
    assert _value(samples, "deltaglider_serve_response_bytes_total", route="/mounted/chunks") == 5000
    assert _value(samples, requests, route="/mounted/boom", method="GET", status="500") == 1
    # Each path is one series of its template, never one per name asked for.
    assert not any("/mounted/hello/a" in dict(labels).get("route", "") for _, labels in samples)


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
def test_what_is_not_http_passes_through_uncounted(kind: str) -> None:
    import asyncio

    serve_metrics = metrics.ServeMetrics()
    seen: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["type"])

    async def nothing():  # type: ignore[no-untyped-def]
        return {}

    async def drop(message):  # type: ignore[no-untyped-def]
        return None

    asyncio.run(metrics.MetricsMiddleware(app, serve_metrics)({"type": kind}, nothing, drop))
    assert seen == [kind]
    assert "deltaglider_serve_requests_total{" not in serve_metrics.render().decode()


def test_counts_kept_elsewhere_are_read_at_each_scrape() -> None:
    from dataclasses import dataclass

    @dataclass
    class Counts:
        rebuilds: int = 0
        failures: int = 0
        seconds: float = 0.0
        shared: int = 0
        cache_hits: int = 0

    counts = Counts()
    serve_metrics = metrics.ServeMetrics()
    serve_metrics.watch("s3", lambda: counts)
    counts.rebuilds, counts.failures, counts.seconds, counts.shared, counts.cache_hits = 3, 1, 2.5, 7, 4
    samples = _samples(serve_metrics.render().decode())
    assert _value(samples, "deltaglider_serve_s3_rebuilds_total") == 3
    assert _value(samples, "deltaglider_serve_s3_rebuild_failures_total") == 1
    assert _value(samples, "deltaglider_serve_s3_rebuild_seconds_total") == 2.5
    assert _value(samples, "deltaglider_serve_s3_rebuilds_shared_total") == 7
    assert _value(samples, "deltaglider_serve_s3_rebuild_cache_hits_total") == 4
    counts.rebuilds = 5
    assert _value(_samples(serve_metrics.render().decode()), "deltaglider_serve_s3_rebuilds_total") == 5
