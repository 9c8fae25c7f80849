"""A Python package index over the wheels and sdists stored under one folder of the store: PEP 503's
simple HTML pages and PEP 691's JSON (API version 1.1, with PEP 700's ``size``, ``versions`` and
``upload-time``), chosen by the request's ``Accept`` header (or a ``format`` query parameter).

Files may sit anywhere below the index's folder (flat, or one folder per project): each is filed under
the project its name gives, normalized as PEP 503 says. Each link carries the file's SHA-256 as
deltaglider recorded it at upload (a HEAD per file, no download), and leads to the download route of
:mod:`deltaglider.serve.files`, which must be mounted in the same app.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from deltaglider.client import DeltaGliderClient
from deltaglider.core.models import ListEntry, StoredObject
from deltaglider.errors import InvalidURLError, NotFoundError
from deltaglider.serve.files import file_path
from deltaglider.urls import Location, parse_url

__all__ = [
    "HTML",
    "JSON",
    "Distribution",
    "IndexOptions",
    "choose_format",
    "distribution",
    "normalize",
    "routes",
]

JSON: Final = "application/vnd.pypi.simple.v1+json"
HTML: Final = "application/vnd.pypi.simple.v1+html"
TEXT_HTML: Final = "text/html"
#: What a client may ask for, and the type answered for it ("latest" is answered as version 1).
_OFFERED: Final = {
    JSON: JSON,
    "application/vnd.pypi.simple.latest+json": JSON,
    HTML: HTML,
    "application/vnd.pypi.simple.latest+html": HTML,
    TEXT_HTML: TEXT_HTML,
    "text/*": TEXT_HTML,
    "*/*": TEXT_HTML,
}
API_VERSION: Final = "1.1"
#: What pip installs from (its own list of archive suffixes, less the exotic ones).
DIST_SUFFIXES: Final = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")
_SEPARATORS: Final = re.compile(r"[-_.]+")
#: An sdist's stem: the project's name, then a version that starts with a digit and holds no ``-``.
_SDIST_STEM: Final = re.compile(r"^(?P<name>.+?)-(?P<version>\d[^-]*)$")
_HEADS_AT_ONCE: Final = 8


@dataclass(frozen=True)
class IndexOptions:
    """``index_url``: the store folder holding the distributions (``s3://bucket/prefix/``)."""

    index_url: str

    @property
    def location(self) -> Location:
        loc = parse_url(self.index_url)
        if loc.scheme != "s3":
            raise InvalidURLError(
                f"{self.index_url!r}: the index is a folder of the store, s3://bucket/prefix/"
            )
        return loc.as_folder()


def normalize(name: str) -> str:
    """A project's name as PEP 503 compares it."""
    return _SEPARATORS.sub("-", name).lower()


@dataclass(frozen=True)
class Distribution:
    """One wheel or sdist of the index, as its file name tells."""

    project: str  # normalized
    version: str
    filename: str
    key: str  # the file's key as the user names it (never a ``.delta``)
    entry: ListEntry


def distribution(entry: ListEntry, folder: str = "") -> Distribution | None:
    """The distribution a file listed in ``folder`` (a key ending in ``/``, or ``""``) is, or None for
    a file that is not a wheel or an sdist."""
    filename = entry.name.rpartition("/")[2]
    lowered = filename.lower()
    suffix = next((s for s in DIST_SUFFIXES if lowered.endswith(s)), None)
    if entry.is_prefix or suffix is None:
        return None
    stem = filename[: -len(suffix)]
    if suffix == ".whl":
        parts = stem.split("-")
        if len(parts) not in (5, 6):
            return None
        name, version = parts[0], parts[1]
    else:
        match = _SDIST_STEM.match(stem)
        if match is None:
            return None
        name, version = match["name"], match["version"]
    return Distribution(normalize(name), version, filename, folder + entry.name, entry)


def choose_format(accept: str | None) -> str | None:
    """The media type to answer with for an ``Accept`` header (HTML when there is none), or None when
    it accepts nothing the index offers. Of the types offered, the one with the highest quality wins;
    the first listed breaks ties."""
    if not accept or not accept.strip():
        return TEXT_HTML
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        answered = _OFFERED.get(media.lower())
        if answered is not None and quality > 0:
            ranked.append((-quality, position, answered))
    return min(ranked)[2] if ranked else None


def _html_page(title: str, links: Iterable[tuple[str, str]]) -> str:
    body = "".join(f'    <a href="{html.escape(href)}">{html.escape(text)}</a><br>\n' for href, text in links)
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}  </body>\n</html>\n"
    )


def _upload_time(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class PackageIndex:
    """The index's endpoints over one client and one store folder."""

    def __init__(self, client: DeltaGliderClient, options: IndexOptions) -> None:
        self._client = client
        self._folder = options.location

    def _distributions(self) -> list[Distribution]:
        """Every distribution in the index's folder; none while the folder (or its bucket) is missing."""
        try:
            listed = list(self._client.list(str(self._folder), recursive=True))
        except NotFoundError:
            return []
        found = (distribution(entry, self._folder.key) for entry in listed)
        return [dist for dist in found if dist is not None]

    def _heads(self, dists: Sequence[Distribution]) -> list[StoredObject]:
        """What deltaglider recorded of each file (its SHA-256 above all), a few HEADs at a time."""
        with ThreadPoolExecutor(_HEADS_AT_ONCE, thread_name_prefix="deltaglider-index") as pool:
            return list(pool.map(lambda d: self._client.head(f"s3://{self._folder.bucket}/{d.key}"), dists))

    async def projects(self, request: Request) -> Response:
        chosen = choose_format(request.query_params.get("format") or request.headers.get("accept"))
        if chosen is None:
            return _not_acceptable()
        dists = await anyio.to_thread.run_sync(self._distributions)
        names = sorted({dist.project for dist in dists})
        if chosen == JSON:
            document = {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in names]}
            return _json(document)
        page = _html_page("Simple index", ((f"{name}/", name) for name in names))
        return _html(page, chosen)

    async def project(self, request: Request) -> Response:
        asked = request.path_params["project"]
        wanted = normalize(asked)
        if asked != wanted:  # PEP 503: the normalized URL is the project's page
            target = request.url_for("deltaglider-index-project", project=wanted).path
            return RedirectResponse(target, status_code=301)
        chosen = choose_format(request.query_params.get("format") or request.headers.get("accept"))
        if chosen is None:
            return _not_acceptable()
        dists = sorted(
            (d for d in await anyio.to_thread.run_sync(self._distributions) if d.project == wanted),
            key=lambda d: d.filename,
        )
        if not dists:
            return PlainTextResponse(f"no project {wanted!r} in this index\n", status_code=404)
        try:
            heads = await anyio.to_thread.run_sync(self._heads, dists)
        except NotFoundError:  # a file removed between the listing and its HEAD
            return PlainTextResponse("the index changed while it was read; try again\n", status_code=503)
        urls = [file_path(request, self._folder.bucket, d.key) for d in dists]
        if chosen == JSON:
            return _json(self._project_document(wanted, dists, heads, urls))
        links = (
            (url + (f"#sha256={head.sha256}" if head.sha256 else ""), dist.filename)
            for dist, head, url in zip(dists, heads, urls, strict=True)
        )
        return _html(_html_page(f"Links for {wanted}", links), chosen)

    @staticmethod
    def _project_document(
        name: str, dists: Sequence[Distribution], heads: Sequence[StoredObject], urls: Sequence[str]
    ) -> dict[str, Any]:
        files: list[dict[str, Any]] = []
        for dist, head, url in zip(dists, heads, urls, strict=True):
            record: dict[str, Any] = {
                "filename": dist.filename,
                "url": url,
                "hashes": {"sha256": head.sha256} if head.sha256 else {},
            }
            size = head.size if head.size is not None else dist.entry.original_size
            if size is not None:
                record["size"] = size
            uploaded = _upload_time(head.last_modified or dist.entry.last_modified)
            if uploaded is not None:
                record["upload-time"] = uploaded
            files.append(record)
        # Version 1.1 promises every file's size: a file with none recorded makes the page a 1.0 one.
        if all("size" in record for record in files):
            return {
                "meta": {"api-version": API_VERSION},
                "name": name,
                "versions": sorted({dist.version for dist in dists}),
                "files": files,
            }
        for record in files:
            record.pop("size", None)
            record.pop("upload-time", None)
        return {"meta": {"api-version": "1.0"}, "name": name, "files": files}


def _json(document: dict[str, Any]) -> Response:
    return Response(json.dumps(document), media_type=JSON, headers={"vary": "Accept"})


def _html(page: str, media_type: str) -> Response:
    return Response(page, media_type=media_type, headers={"vary": "Accept"})


def _not_acceptable() -> Response:
    offered = ", ".join((JSON, HTML, TEXT_HTML))
    return PlainTextResponse(f"this index answers {offered}\n", status_code=406, headers={"vary": "Accept"})


def routes(client: DeltaGliderClient, options: IndexOptions) -> list[BaseRoute]:
    """``/simple/`` and ``/simple/{project}/``; the links lead to :func:`deltaglider.serve.files.routes`'s
    route, which the app must mount too."""
    index = PackageIndex(client, options)
    return [
        Route("/simple/", index.projects, methods=["GET"], name="deltaglider-index"),
        Route("/simple/{project}/", index.project, methods=["GET"], name="deltaglider-index-project"),
    ]
