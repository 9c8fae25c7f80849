"""What ``deltaglider serve`` mounts beside the S3 API: ``/metrics`` always, and, for a server that
allows anonymous reads, the browse page, the package index and their downloads under ``/-/``.

The browse page, the index and the downloads are reads a browser or pip makes unsigned, so they exist
only where unsigned reads are allowed (``--anonymous-read``): a server that asks for signatures
shows nothing to an unsigned client. ``/-/`` is a prefix no bucket name can take (bucket names start
with a letter or a digit), so every bucket stays reachable over S3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from starlette.routing import BaseRoute, Mount

from deltaglider.serve import browse, files, metrics, pypi
from deltaglider.serve.settings import ServeSettings

if TYPE_CHECKING:
    from deltaglider.client import DeltaGliderClient

PREFIX: Final = "/-"


def routes(
    client: DeltaGliderClient,
    settings: ServeSettings,
    serve_metrics: metrics.ServeMetrics,
    *,
    index_url: str | None = None,
) -> list[BaseRoute]:
    """``/metrics``, and under :data:`PREFIX` the downloads, the browse page and (with ``index_url``,
    the store folder of the distributions) the package index, when ``settings`` allow anonymous
    reads."""
    found: list[BaseRoute] = list(metrics.routes(serve_metrics))
    if not settings.anonymous_read:
        return found
    options = files.FileOptions(
        scratch_dir=None if settings.scratch_dir is None else str(settings.scratch_dir),
        max_rebuilds=settings.max_rebuilds,
        on_rebuild=serve_metrics.observe_rebuild,
        on_shared=serve_metrics.observe_shared,
    )
    inner = [*files.routes(client, options), *browse.routes(client)]
    if index_url is not None:
        inner += pypi.routes(client, pypi.IndexOptions(index_url))
    found.append(Mount(PREFIX, routes=inner))
    return found
