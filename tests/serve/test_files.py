"""The download route the index and the browse page link to: exact bytes, one rebuild shared by
concurrent readers, a stalled reader holding nothing up, hidden objects and traversal refused."""

from __future__ import annotations

import hashlib
import http.client
import os
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from serve.web_support import BUCKET, WebApp, folder_client, serving, web_app
from starlette.testclient import TestClient
from support.artifacts import release_zips

from deltaglider.errors import InvalidURLError, NotFoundError
from deltaglider.serve import files, metrics

ROUTE = "/files/{bucket}/{key:path}"


@dataclass
class Stored:
    web: WebApp
    scratch: Path
    originals: dict[str, bytes]  # key -> bytes uploaded
    store: Path


@pytest.fixture
def stored(tmp_path: Path) -> Stored:
    """Three releases of a zip in ``apps/``, the later ones deltas."""
    serve_metrics = metrics.ServeMetrics()
    client = folder_client(tmp_path, serve_metrics)
    made = tmp_path / "made"
    made.mkdir()
    originals = {}
    for path in release_zips(made, "app", 3, size=200_000):
        summary = client.upload(path, f"s3://{BUCKET}/apps/")
        originals[f"apps/{path.name}"] = path.read_bytes()
    assert summary.is_delta
    scratch = tmp_path / "scratch"
    return Stored(web_app(client, serve_metrics, scratch), scratch, originals, tmp_path / "store")


def _sample(web: WebApp, name: str, labels: dict[str, str] | None = None) -> float:
    return web.metrics.registry.get_sample_value(name, labels or {}) or 0.0


def test_a_download_is_the_file_exactly(stored: Stored) -> None:
    with TestClient(stored.web.app) as http:
        for key, original in stored.originals.items():
            response = http.get(f"/files/{BUCKET}/{key}")
            assert response.status_code == 200
            assert response.content == original
            assert response.headers["content-length"] == str(len(original))
            assert response.headers["etag"] == f'"{hashlib.sha256(original).hexdigest()}"'
            name = key.rpartition("/")[2]
            assert f'filename="{name}"' in response.headers["content-disposition"]
    assert list(stored.scratch.iterdir()) == []


def test_head_answers_from_the_metadata(stored: Stored) -> None:
    key = "apps/app-1.2.zip"
    with TestClient(stored.web.app) as http:
        response = http.head(f"/files/{BUCKET}/{key}")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(stored.originals[key]))
    assert response.headers["etag"] == f'"{hashlib.sha256(stored.originals[key]).hexdigest()}"'
    assert _sample(stored.web, "deltaglider_get_total", {"operation": "GET_DELTA"}) == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/files/{BUCKET}/apps/reference.bin", 404),
        (f"/files/{BUCKET}/apps/app-1.1.zip.delta", 404),
        (f"/files/{BUCKET}/.deltaglider/anything", 404),
        (f"/files/{BUCKET}/apps/no-such.zip", 404),
        (f"/files/{BUCKET}/apps/%2e%2e/apps/app-1.0.zip", 400),
        (f"/files/{BUCKET}/apps/%2E%2E%2Fapps/app-1.0.zip", 400),
        (f"/files/{BUCKET}/apps/%2e/app-1.0.zip", 400),
        (f"/files/{BUCKET}/", 400),
        (f"/files/{BUCKET}/apps//app-1.0.zip", 400),
        ("/files/%2e%2e/apps/app-1.0.zip", 400),
        (f"/files/{BUCKET}/apps%5Capp-1.0.zip", 400),
    ],
)
def test_hidden_objects_and_traversal_are_refused(stored: Stored, path: str, status: int) -> None:
    with TestClient(stored.web.app) as http:
        assert http.get(path).status_code == status


def test_a_literal_dot_dot_on_the_wire_is_refused(stored: Stored) -> None:
    """http.client sends the path as written (an HTTP library would remove the dot segments)."""
    with serving(stored.web.app) as base:
        connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
        connection.request("GET", f"/files/{BUCKET}/apps/../apps/app-1.0.zip")
        response = connection.getresponse()
        response.read()
        connection.close()
    assert response.status == 400


@pytest.mark.parametrize("key", ["a/../b", "./a", "a//b", "/a", "a\\b", ""])
def test_safe_key_refuses_what_leaves_a_folder(key: str) -> None:
    with pytest.raises(InvalidURLError):
        files.safe_key(key)


@pytest.mark.parametrize("key", ["reference.bin", "a/reference.bin", "a/x.zip.delta", ".deltaglider/x"])
def test_safe_key_hides_what_listings_hide(key: str) -> None:
    with pytest.raises(NotFoundError):
        files.safe_key(key)


def test_safe_key_lets_names_through() -> None:
    assert files.safe_key("a/b <script>.zip") == "a/b <script>.zip"
    assert files.safe_key("a/b/", folder=True) == "a/b/"
    assert files.safe_key("", folder=True) == ""


@pytest.fixture
def gated(stored: Stored, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, list[str]]]:
    """The client's downloads wait for the event; each call is recorded."""
    gate = threading.Event()
    calls: list[str] = []
    download = stored.web.client.download

    def waiting(url: str, output: Any, **kwargs: Any) -> Any:
        calls.append(url)
        assert gate.wait(60)
        return download(url, output, **kwargs)

    monkeypatch.setattr(stored.web.client, "download", waiting)
    yield gate, calls
    gate.set()


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_concurrent_readers_share_one_rebuild(
    stored: Stored, gated: tuple[threading.Event, list[str]]
) -> None:
    gate, calls = gated
    key, readers = "apps/app-1.2.zip", 12
    with serving(stored.web.app) as base, ThreadPoolExecutor(readers) as pool:
        netloc = urlsplit(base).netloc

        def fetch(_: int) -> bytes:
            connection = http.client.HTTPConnection(netloc, timeout=60)
            connection.request("GET", f"/files/{BUCKET}/{key}")
            body = connection.getresponse().read()
            connection.close()
            return body

        bodies = pool.map(fetch, range(readers))
        _wait_for(
            lambda: _sample(stored.web, "deltaglider_serve_rebuilds_shared_total") == readers - 1, "joins"
        )
        gate.set()
        assert all(body == stored.originals[key] for body in bodies)
    assert calls == [f"s3://{BUCKET}/{key}"]
    assert _sample(stored.web, "deltaglider_serve_rebuild_seconds_count", {"operation": "GET_DELTA"}) == 1
    assert list(stored.scratch.iterdir()) == []


def test_a_stalled_reader_holds_up_no_one(stored: Stored) -> None:
    """A reader that takes one chunk and stops neither keeps the scratch file nor delays the next
    reader of the same file."""
    big = stored.scratch.parent / "big.bin"
    big.write_bytes(random.Random(5).randbytes(8 * 1024 * 1024))  # past what socket buffers hold
    stored.web.client.upload(big, f"s3://{BUCKET}/big/")
    key, stored.originals["big/big.bin"] = "big/big.bin", big.read_bytes()
    with serving(stored.web.app) as base:
        netloc = urlsplit(base).netloc
        stalled = http.client.HTTPConnection(netloc, timeout=60)
        stalled.request("GET", f"/files/{BUCKET}/{key}")
        response = stalled.getresponse()
        assert response.read(1024) == stored.originals[key][:1024]
        _wait_for(lambda: list(stored.scratch.iterdir()) == [], "the scratch file, unlinked once opened")
        started = time.monotonic()
        other = http.client.HTTPConnection(netloc, timeout=60)
        other.request("GET", f"/files/{BUCKET}/{key}")
        assert other.getresponse().read() == stored.originals[key]
        assert time.monotonic() - started < 30
        other.close()
        stalled.close()
    rebuilds = [
        _sample(stored.web, "deltaglider_serve_rebuild_seconds_count", {"operation": op})
        for op in ("GET", "GET_DELTA")
    ]
    assert sum(rebuilds) == 2


def test_a_file_that_fails_its_rebuild_is_a_502(stored: Stored) -> None:
    delta = stored.store / BUCKET / "apps" / "app-1.2.zip.delta"
    data = bytearray(delta.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(delta, 0o644)
    delta.write_bytes(bytes(data))
    with TestClient(stored.web.app) as http:
        response = http.get(f"/files/{BUCKET}/apps/app-1.2.zip")
    assert response.status_code == 502
    assert list(stored.scratch.iterdir()) == []


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="max_rebuilds"):
        files.FileOptions(max_rebuilds=0)
    with pytest.raises(ValueError, match="chunk_size"):
        files.FileOptions(chunk_size=0)


def test_a_file_is_sent_one_chunk_at_a_time(stored: Stored) -> None:
    """No body message is larger than the chunk size: a request holds one chunk, never the file."""
    sizes: list[int] = []

    def recording(app: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            async def record(message: Any) -> None:
                if message["type"] == "http.response.body":
                    sizes.append(len(message.get("body", b"")))
                await send(message)

            await app(scope, receive, record)

        return wrapped

    from starlette.applications import Starlette

    options = files.FileOptions(scratch_dir=str(stored.scratch), chunk_size=4096)
    app = Starlette(routes=files.routes(stored.web.client, options))
    key = "apps/app-1.2.zip"
    with TestClient(recording(app)) as http:
        assert http.get(f"/files/{BUCKET}/{key}").content == stored.originals[key]
    assert max(sizes) == 4096
    assert sum(sizes) == len(stored.originals[key])
