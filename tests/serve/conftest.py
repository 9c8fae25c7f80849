"""A ``deltaglider serve`` server for the tests: uvicorn in a thread of the test process, bound to
127.0.0.1 on a free port, over a folder store in a temporary folder. Most tests share one
module-scoped server (``served``); ``start_server`` starts others with their own settings."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

import uvicorn

import deltaglider
from deltaglider.serve.app import build_app
from deltaglider.serve.settings import ServeSettings
from deltaglider.serve.store import Store

ACCESS_KEY = "dg-test-access"
SECRET_KEY = "dg-test-secret-0123456789"
BUCKET = "bkt"


@dataclass
class Served:
    """A running server: its URL, the folder store behind it, and the application (whose
    ``state.s3`` holds the rebuild counts)."""

    url: str
    root: Path
    app: Any
    store: Store

    def boto3(self, **kwargs: Any) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=kwargs.pop("access_key", ACCESS_KEY),
            aws_secret_access_key=kwargs.pop("secret_key", SECRET_KEY),
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **kwargs),
        )


@contextmanager
def start_server(root: Path, store: Store | None = None, **settings: Any) -> Iterator[Served]:
    """A server over the folder store ``root`` (``store``: a ready one over it), stopped at the end."""
    if store is None:
        store = Store(deltaglider.create_client(endpoint_url=f"file://{root}"))
    options = {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY, **settings}
    app = build_app(store, ServeSettings(**options))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=30))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", root, app, store)
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("store")
    (root / BUCKET).mkdir()
    with start_server(root) as running:
        yield running


@pytest.fixture(scope="module")
def s3(served: Served) -> Any:
    return served.boto3()
