"""The browse page: the store's buckets, then each folder's sub-folders and files, with their sizes,
what they cost in the store and what that saves, and a download link for each file.

One server-rendered HTML page per folder, its CSS inline and no script: a table on a desktop, one card
per row on a phone. A file's stored size counts the hidden bases that exist for it alone; a folder's
counts everything below it, the bases they share included (``client.stats``). Every name is
HTML-escaped and every link quoted; a path with ``.``, ``..`` or empty components is refused. The
download links lead to :mod:`deltaglider.serve.files`'s route, which must be mounted in the same app.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from deltaglider.client import DeltaGliderClient
from deltaglider.core.models import ListEntry, StatsSummary
from deltaglider.errors import InvalidURLError, NotFoundError
from deltaglider.serve.files import file_path, safe_key
from deltaglider.urls import check_component

__all__ = ["BrowseOptions", "human_size", "routes", "savings"]

ROUTE_NAME: Final = "deltaglider-browse"
_STATS_AT_ONCE: Final = 8
_UNITS: Final = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")

_CSS: Final = """
:root { color-scheme: light dark; --line: #8884; --muted: #888; --accent: #2a7ae2; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 72rem; padding: 1rem; }
header h1 { font-size: 1.25rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
nav.crumbs { overflow-wrap: anywhere; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
a.folder { font-weight: 600; }
.totals { color: var(--muted); margin: .5rem 0 1rem; }
.note { color: var(--muted); font-size: .85em; margin: 1rem 0 0; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: .45rem .6rem; border-bottom: 1px solid var(--line); text-align: left; }
th { font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { overflow-wrap: anywhere; }
.kind { color: var(--muted); font-size: .85em; }
.saved { color: #2b9348; }
.empty { color: var(--muted); padding: 1rem 0; }
@media (max-width: 40rem) {
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { border: 1px solid var(--line); border-radius: .5rem; margin: 0 0 .75rem; padding: .25rem .5rem; }
  td { border: 0; padding: .2rem 0; display: flex; justify-content: space-between; gap: 1rem; }
  td.name { font-weight: 600; display: block; }
  td.num { text-align: right; }
  td[data-label]::before { content: attr(data-label); color: var(--muted); font-weight: 400; }
  td.name[data-label]::before { content: none; }
}
"""
_NOTE: Final = (
    '<p class="note">A file\'s stored size counts its own objects and the bases kept for it alone; '
    "the bases its folder's files share count in the folder's total.</p>\n"
)
_HEAD: Final = (
    '<thead><tr><th>Name</th><th>Form</th><th class="num">Size</th><th class="num">Stored</th>'
    '<th class="num">Saved</th><th class="num">Modified</th></tr></thead>\n'
)


@dataclass(frozen=True)
class BrowseOptions:
    """``buckets``: the buckets shown (None: every bucket of the store). ``folder_stats``: each
    sub-folder's totals, from a listing of everything below it (off for very large stores: the
    sub-folders are then listed by name alone)."""

    buckets: tuple[str, ...] | None = None
    folder_stats: bool = True
    title: str = "deltaglider"


def human_size(size: int | None) -> str:
    """``1.5 MiB``; ``—`` when unknown."""
    if size is None:
        return "—"
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    return f"{size} B" if unit == 0 else f"{value:.1f} {_UNITS[unit]}"


def savings(original: int | None, stored: int) -> str:
    """What storing ``original`` bytes as ``stored`` saves, as a percentage (``—`` when unknown)."""
    if not original:
        return "—"
    # Rounded first, so that a few bytes of overhead read 0.0%, not -0.0%.
    return f"{round(100.0 * (1.0 - stored / original), 1) + 0.0:.1f}%"


@dataclass(frozen=True)
class _Row:
    """One line of a folder's table."""

    name: str
    href: str
    kind: str
    original: int | None
    stored: int | None
    modified: datetime | None = None
    files: int | None = None


def _kind(entry: ListEntry) -> str:
    if entry.is_reference:
        return "reference"
    return "delta" if entry.is_delta else "whole"


def _cell(label: str, text: str, *, css: str = "num", title: str | None = None) -> str:
    titled = f' title="{html.escape(title)}"' if title else ""
    return f'<td class="{css}" data-label="{html.escape(label)}"{titled}>{text}</td>'


def _row_html(row: _Row) -> str:
    css = ' class="folder"' if row.kind == "folder" else ""
    name = f'<a{css} href="{html.escape(row.href)}">{html.escape(row.name)}</a>'
    stored = human_size(row.stored) if row.stored is not None else "—"
    saved = savings(row.original, row.stored) if row.stored is not None else "—"
    when = row.modified.strftime("%Y-%m-%d %H:%M") if row.modified else ""
    kind = row.kind if row.files is None else f"{row.files} file{'s' if row.files != 1 else ''}"
    return (
        "<tr>"
        + _cell("Name", name, css="name")
        + _cell("Form", f'<span class="kind">{html.escape(kind)}</span>', css="")
        + _cell(
            "Size", human_size(row.original), title=None if row.original is None else f"{row.original} bytes"
        )
        + _cell("Stored", stored, title=None if row.stored is None else f"{row.stored} bytes")
        + _cell("Saved", f'<span class="saved">{saved}</span>')
        + _cell("Modified", html.escape(when))
        + "</tr>"
    )


def _page(title: str, crumbs: Sequence[tuple[str, str | None]], totals: str, rows: Iterable[_Row]) -> str:
    trail = " / ".join(
        f'<a href="{html.escape(href)}">{html.escape(text)}</a>' if href else html.escape(text)
        for text, href in crumbs
    )
    body = "\n".join(_row_html(row) for row in rows)
    table = (
        f"<table>{_HEAD}<tbody>\n{body}\n</tbody></table>" if body else '<p class="empty">Nothing here.</p>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{html.escape(title)}</h1><nav class="crumbs">{trail}</nav></header>\n'
        f'<p class="totals">{totals}</p>\n{table}\n{_NOTE if body else ""}</body>\n</html>\n'
    )


def _totals(stats: StatsSummary | None, files: int) -> str:
    if stats is None:
        return f"{files} file{'s' if files != 1 else ''} in this folder"
    return html.escape(
        f"{stats.file_count} file{'s' if stats.file_count != 1 else ''}: "
        f"{human_size(stats.original_bytes)} stored in {human_size(stats.stored_bytes)}"
        f" (saved {savings(stats.original_bytes, stats.stored_bytes)})"
    )


class Browser:
    """The browse page's endpoints over one client."""

    def __init__(self, client: DeltaGliderClient, options: BrowseOptions) -> None:
        self._client = client
        self._options = options

    def _link(self, request: Request, bucket: str = "", prefix: str = "") -> str:
        path = quote(f"{bucket}/{prefix}" if bucket else "", safe="/")
        return request.url_for(ROUTE_NAME, path=path).path

    def _buckets(self) -> list[str]:
        if self._options.buckets is not None:
            return list(self._options.buckets)
        return sorted(b["Name"] for b in self._client.list_buckets()["Buckets"])

    def _stats(self, urls: Sequence[str]) -> list[StatsSummary]:
        with ThreadPoolExecutor(_STATS_AT_ONCE, thread_name_prefix="deltaglider-browse") as pool:
            return list(pool.map(self._client.stats, urls))

    def _root(self, request: Request) -> str:
        names = self._buckets()
        stats = self._stats([f"s3://{n}/" for n in names]) if self._options.folder_stats else None
        rows = [
            _Row(
                name + "/",
                self._link(request, name),
                "folder",
                None if stats is None else stats[i].original_bytes,
                None if stats is None else stats[i].stored_bytes,
                files=None if stats is None else stats[i].file_count,
            )
            for i, name in enumerate(names)
        ]
        totals = f"{len(names)} bucket{'s' if len(names) != 1 else ''}"
        return _page(self._options.title, [(self._options.title, None)], totals, rows)

    def _folder(self, request: Request, bucket: str, prefix: str) -> str:
        entries, own = self._client.list_with_stats(f"s3://{bucket}/{prefix}")
        if not entries and prefix:
            raise NotFoundError(f"no folder {prefix!r} in {bucket!r}")
        folders = [e for e in entries if e.is_prefix]
        files = [e for e in entries if not e.is_prefix]
        below = (
            self._stats([f"s3://{bucket}/{e.key}" for e in folders]) if self._options.folder_stats else None
        )
        rows = [
            _Row(
                entry.name,
                self._link(request, bucket, prefix + entry.name),
                "folder",
                None if below is None else below[i].original_bytes,
                None if below is None else below[i].stored_bytes,
                files=None if below is None else below[i].file_count,
            )
            for i, entry in enumerate(folders)
        ]
        rows += [
            _Row(
                entry.name,
                file_path(request, bucket, prefix + entry.name),
                _kind(entry),
                entry.original_size,
                entry.stored_size + entry.base_size,
                entry.last_modified,
            )
            for entry in files
        ]
        total = None if below is None else _sum([own, *below])
        return _page(
            f"{bucket}/{prefix}", self._crumbs(request, bucket, prefix), _totals(total, len(files)), rows
        )

    def _crumbs(self, request: Request, bucket: str, prefix: str) -> list[tuple[str, str | None]]:
        """The way back up: the title, the bucket, each folder; the current one unlinked."""
        folders = prefix.removesuffix("/").split("/") if prefix else []
        crumbs: list[tuple[str, str | None]] = [(self._options.title, self._link(request))]
        crumbs.append((bucket, self._link(request, bucket) if folders else None))
        for depth, name in enumerate(folders, start=1):
            above = "".join(f + "/" for f in folders[:depth])
            crumbs.append((name, self._link(request, bucket, above) if depth < len(folders) else None))
        return crumbs

    async def endpoint(self, request: Request) -> Response:
        path: str = request.path_params["path"]
        if path and not path.endswith("/"):
            return RedirectResponse(self._link(request, *_split(path + "/")), status_code=308)
        try:
            if not path:
                page = await anyio.to_thread.run_sync(self._root, request)
            else:
                bucket, prefix = _split(path)
                check_component(bucket, "bucket")
                safe_key(prefix, folder=True)
                if self._options.buckets is not None and bucket not in self._options.buckets:
                    raise NotFoundError(bucket)
                page = await anyio.to_thread.run_sync(self._folder, request, bucket, prefix)
        except InvalidURLError as exc:
            return PlainTextResponse(f"bad name: {exc}\n", status_code=400)
        except NotFoundError:
            return PlainTextResponse("no such folder\n", status_code=404)
        return HTMLResponse(page)


def _split(path: str) -> tuple[str, str]:
    bucket, _, prefix = path.partition("/")
    return bucket, prefix


def _sum(parts: Sequence[StatsSummary]) -> StatsSummary:
    total = StatsSummary(bucket=parts[0].bucket, prefix=parts[0].prefix)
    for part in parts:
        total.file_count += part.file_count
        total.original_bytes += part.original_bytes
        total.stored_bytes += part.stored_bytes
    return total


def routes(client: DeltaGliderClient, options: BrowseOptions | None = None) -> list[BaseRoute]:
    """``/browse/`` (the buckets) and ``/browse/{bucket}/{folder}/``: the folder's page."""
    browser = Browser(client, options or BrowseOptions())
    return [Route("/browse/{path:path}", browser.endpoint, methods=["GET"], name=ROUTE_NAME)]
