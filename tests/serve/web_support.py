"""What the tests of the web parts of ``deltaglider serve`` share: an app made of their routes over a
folder store, that app served by uvicorn on 127.0.0.1 in a thread, and small wheels made by hand.

A wheel is a zip with the project's module and a ``.dist-info`` folder (``METADATA``, ``WHEEL`` and
``RECORD`` with each file's SHA-256): what pip needs to install one, written here so that the tests
need no build backend. Each of a project's versions carries the same large module, so that the
second version is stored as a delta of the first and the index serves a rebuilt file.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import random
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

import deltaglider
from deltaglider.client import DeltaGliderClient
from deltaglider.serve import browse, files, metrics, pypi

BUCKET = "releases"
INDEX_URL = f"s3://{BUCKET}/pypi/"


def folder_client(root: Path, serve_metrics: metrics.ServeMetrics | None = None) -> DeltaGliderClient:
    """A client over the folder store ``root/store`` (its bucket made), its cache under ``root``."""
    store = root / "store"
    (store / BUCKET).mkdir(parents=True, exist_ok=True)
    return deltaglider.create_client(
        endpoint_url=f"file://{store}",
        cache_dir=str(root / "cache"),
        metrics=None if serve_metrics is None else serve_metrics.client_metrics(),
    )


@dataclass
class WebApp:
    app: Starlette
    client: DeltaGliderClient
    metrics: metrics.ServeMetrics
    files: files.FileOptions


def web_app(client: DeltaGliderClient, serve_metrics: metrics.ServeMetrics, scratch: Path) -> WebApp:
    """The package index, the browse page, the download route and ``/metrics``, counted by the
    metrics middleware, as the server mounts them."""
    file_options = files.FileOptions(
        scratch_dir=str(scratch),
        on_rebuild=serve_metrics.observe_rebuild,
        on_shared=serve_metrics.observe_shared,
    )
    scratch.mkdir(parents=True, exist_ok=True)
    routes: list[BaseRoute] = [
        *files.routes(client, file_options),
        *pypi.routes(client, pypi.IndexOptions(INDEX_URL)),
        *browse.routes(client),
        *metrics.routes(serve_metrics),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(metrics.MetricsMiddleware, metrics=serve_metrics)])
    return WebApp(app, client, serve_metrics, file_options)


@contextlib.contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 (a port the system picks) in a thread: its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


_WHEEL = b"Wheel-Version: 1.0\nGenerator: deltaglider-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(folder: Path, project: str, version: str, *, module: str, blob_lines: int = 4000) -> Path:
    """A pure-Python wheel of ``project`` holding ``module`` (``VERSION`` and a large ``BLOB`` string,
    the same for every version), written into ``folder``."""
    dist = project.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    rng = random.Random(project)
    blob = "\n".join(f"{i}: {rng.random()!r}" for i in range(blob_lines))
    members = {
        f"{module}.py": f"VERSION = {version!r}\nBLOB = '''{blob}'''\n".encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": _WHEEL,
    }
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in members.items())
    members[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return path
