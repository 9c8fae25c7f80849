"""The application: ``/healthz``, the routes mounted beside the S3 API (the package index, the browse
page, metrics: each module's ``routes()``), and the S3 API under every other path (path-style:
``/bucket/key``), authenticated by Signature V4 or, for reads when switched on, anonymous.

``build_app(client, settings, extra_routes=())`` makes it; ``app.state.s3`` holds the server's parts
(the store, the shared rebuilds and their counts, uploads in progress). Extra routes are matched
before the S3 API, so a bucket whose name is their first path component is not reachable over S3.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from deltaglider.serve import sigv4
from deltaglider.serve.rebuilds import Rebuilds
from deltaglider.serve.s3.context import Call, S3Server
from deltaglider.serve.s3.errors import S3Error, error_response
from deltaglider.serve.s3.keys import split_path
from deltaglider.serve.s3.multipart import Uploads
from deltaglider.serve.s3.router import is_read, route
from deltaglider.serve.settings import ServeSettings
from deltaglider.serve.store import Store

if TYPE_CHECKING:
    from deltaglider.client import DeltaGliderClient

_log = logging.getLogger("deltaglider.serve")
_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"]


def make_server(store: Store, settings: ServeSettings) -> S3Server:
    """The server's parts, with a fresh scratch folder (inside ``settings.scratch_dir`` if set)."""
    scratch = Path(tempfile.mkdtemp(prefix="deltaglider-serve-", dir=settings.scratch_dir))
    (scratch / "rebuilds").mkdir()
    (scratch / "uploads").mkdir()
    return S3Server(
        store=store,
        settings=settings,
        scratch=scratch,
        rebuilds=Rebuilds(scratch / "rebuilds", settings.max_rebuilds, settings.cache_bytes),
        uploads=Uploads(scratch / "uploads"),
        writes=asyncio.Semaphore(settings.max_rebuilds),
    )


def _incoming(request: Request) -> sigv4.Incoming:
    scope = request.scope
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    headers = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in scope["headers"]]
    return sigv4.Incoming(request.method, raw_path, scope.get("query_string", b""), headers)


def _authorize(server: S3Server, request: Request, query: dict[str, str]) -> sigv4.Verified | None:
    """The request's verified signature; None for an anonymous read that is allowed. Raises S3's
    error otherwise."""
    incoming = _incoming(request)
    settings = server.settings
    if sigv4.is_signed(incoming):
        credentials = (
            sigv4.Credentials(settings.access_key, settings.secret_key)
            if settings.access_key is not None and settings.secret_key is not None
            else None
        )
        return sigv4.verify(incoming, credentials, datetime.now(UTC), settings.max_clock_skew)
    if settings.anonymous_read and is_read(request.method, query):
        return None
    raise S3Error("AccessDenied", "Access Denied")


def s3_endpoint(server: S3Server) -> Route:
    async def endpoint(request: Request) -> Response:
        head = request.method == "HEAD"
        try:
            query = Call.query_of(request)
            verified = _authorize(server, request, query)
            bucket, key = split_path(request.scope.get("raw_path") or request.scope["path"].encode())
            call = Call(request, bucket, key, query, verified)
            return await route(request.method, call)(server, call)
        except S3Error as exc:
            return _unread_body_closes(request, error_response(exc, head=head))
        except Exception:
            _log.exception("%s %s failed", request.method, request.url.path)
            error = S3Error("InternalError", "We encountered an internal error. Please try again.")
            return _unread_body_closes(request, error_response(error, head=head))

    return Route("/{path:path}", endpoint, methods=_METHODS, name="s3")


def _unread_body_closes(request: Request, response: Response) -> Response:
    """An answer given before the request's body was read ends the connection (as S3 does), so that
    the unread body is never taken for the next request."""
    declared = request.headers.get("content-length", "0")
    has_body = "transfer-encoding" in request.headers or declared.strip() not in ("", "0")
    if has_body and not getattr(request, "_stream_consumed", False):
        response.headers["connection"] = "close"
    return response


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def build_app(
    client: DeltaGliderClient | Store,
    settings: ServeSettings,
    extra_routes: Iterable[BaseRoute] = (),
) -> Starlette:
    """The server's application over ``client`` (or a ready :class:`Store`). ``extra_routes``: the
    package index's, the browse page's and /metrics' routes, matched before the S3 API."""
    store = client if isinstance(client, Store) else Store(client)
    server = make_server(store, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await server.rebuilds.close()
            server.uploads.close()
            shutil.rmtree(server.scratch, ignore_errors=True)

    routes: list[BaseRoute] = [
        Route("/healthz", _healthz, methods=["GET"]),
        *extra_routes,
        s3_endpoint(server),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.s3 = server
    return app
