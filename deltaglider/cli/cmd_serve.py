"""``deltaglider serve``: the store over HTTP for any S3 tool (``deltaglider.serve``), served by uvicorn.

Needs the ``serve`` extra; without it the command says how to install it. Nothing of it is imported
until the command runs."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from deltaglider.cli.common import EXIT_OK
from deltaglider.cli.session import Session

if TYPE_CHECKING:
    from deltaglider.serve.settings import ServeSettings

INSTALL_HINT = "deltaglider serve needs the serve extra: pip install 'deltaglider-native[serve]'"


def endpoint_of(store_url: str, session_endpoint: str | None) -> str | None:
    """The client's ``endpoint_url`` for STORE_URL: ``file://`` URLs and plain folders are folder
    stores (each sub-folder a bucket); ``http(s)://`` is an S3 endpoint; ``s3://`` is S3 as the global
    options reach it (``--endpoint-url``, ``--profile``)."""
    lowered = store_url.lower()
    if lowered.startswith("file://"):
        return store_url
    if lowered.startswith(("http://", "https://")):
        return store_url
    if lowered.rstrip("/") in ("s3:", "s3:/") or lowered.startswith("s3://"):
        if store_url.rstrip("/").lower() != "s3:":
            raise click.UsageError("STORE_URL s3:// serves every bucket: name no bucket in it")
        return session_endpoint
    folder = Path(store_url).expanduser().resolve()
    if not folder.is_dir():
        raise click.UsageError(
            f"{store_url}: no such folder (give a folder, file:///folder, s3:// or an endpoint)"
        )
    return folder.as_uri()


@click.command()
@click.argument("store_url", metavar="STORE_URL")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8333, show_default=True, help="Port to listen on."
)
@click.option("--access-key", metavar="KEY", help="Access key accepted (env DG_SERVE_ACCESS_KEY).")
@click.option("--secret-key", metavar="SECRET", help="Its secret key (env DG_SERVE_SECRET_KEY).")
@click.option("--anonymous-read", is_flag=True, help="Allow unsigned GET, HEAD and listings (never writes).")
@click.option(
    "--max-rebuilds", type=click.IntRange(1, 256), default=4, show_default=True, help="Files rebuilt at once."
)
@click.option(
    "--cache-mb",
    type=click.IntRange(0),
    default=2048,
    show_default=True,
    help="Rebuilt files kept for later readers, in MiB.",
)
@click.option("--scratch-dir", metavar="DIR", help="Folder for uploads in progress and rebuilt files.")
@click.option(
    "--index",
    "index_url",
    metavar="URL",
    help="Serve the wheels and sdists of this store folder (s3://bucket/prefix/) as a package index "
    "at /-/simple/ (with --anonymous-read).",
)
@click.pass_obj
def serve(
    session: Session,
    *,
    store_url: str,
    host: str,
    port: int,
    access_key: str | None,
    secret_key: str | None,
    anonymous_read: bool,
    max_rebuilds: int,
    cache_mb: int,
    scratch_dir: str | None,
    index_url: str | None,
) -> int:
    """Serve a store over HTTP: the S3 API for aws, rclone, boto3 and other S3 tools.

    STORE_URL: a folder or file:///folder (each sub-folder a bucket), s3:// (every bucket the
    global options reach), or an S3 endpoint http(s)://host. Binds 127.0.0.1 unless --host says
    otherwise. Requests must be signed (AWS Signature V4) with the key pair given; --anonymous-read
    also lets unsigned clients read, and adds the browse page (/-/browse/) and, with --index, a
    package index for pip (/-/simple/). /metrics and /healthz are always served.
    """
    if importlib.util.find_spec("starlette") is None or importlib.util.find_spec("uvicorn") is None:
        raise click.ClickException(INSTALL_HINT)
    from deltaglider.serve.settings import ServeSettings, SettingsError, keys_from

    access_key, secret_key = keys_from(access_key, secret_key)
    if index_url is not None and not anonymous_read:
        raise click.UsageError("--index serves pip, which reads unsigned: it needs --anonymous-read")
    if access_key is None and secret_key is None and not anonymous_read:
        raise click.UsageError(
            "give --access-key and --secret-key (or DG_SERVE_ACCESS_KEY/DG_SERVE_SECRET_KEY), "
            "or --anonymous-read for a read-only server"
        )
    try:
        settings = ServeSettings(
            host=host,
            port=port,
            access_key=access_key,
            secret_key=secret_key,
            anonymous_read=anonymous_read,
            max_rebuilds=max_rebuilds,
            cache_bytes=cache_mb * 1024 * 1024,
            scratch_dir=Path(scratch_dir) if scratch_dir else None,
        )
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc
    session.endpoint_url = endpoint_of(store_url, session.endpoint_url)
    return run_server(session, settings, index_url=index_url)


def run_server(session: Session, settings: ServeSettings, *, index_url: str | None = None) -> int:
    """Serves until interrupted (uvicorn stops on SIGINT or SIGTERM, finishing requests in flight)."""
    import uvicorn

    from deltaglider.serve import web
    from deltaglider.serve.app import build_app
    from deltaglider.serve.metrics import MetricsMiddleware, ServeMetrics

    serve_metrics = ServeMetrics()
    extra = web.routes(session.client, settings, serve_metrics, index_url=index_url)
    app = build_app(session.client, settings, extra_routes=extra)
    serve_metrics.watch("s3", lambda: app.state.s3.rebuilds.stats)
    app.add_middleware(MetricsMiddleware, metrics=serve_metrics)
    if not session.quiet:
        click.echo(
            f"deltaglider serve: {session.endpoint_url or 's3://'} at http://{settings.host}:{settings.port} "
            f"(pid {os.getpid()}); Ctrl-C stops",
            err=True,
        )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning" if session.quiet else "info")
    return EXIT_OK
