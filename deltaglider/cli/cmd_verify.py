"""``deltaglider verify``: rebuild stored files and check them against their recorded SHA-256."""

from __future__ import annotations

from typing import Any

import click

from deltaglider.batch import select
from deltaglider.cli.argv import FilteredCommand, filters
from deltaglider.cli.common import exit_status, filter_options, store_place
from deltaglider.cli.output import Output
from deltaglider.cli.session import Session
from deltaglider.core.transfer import run_all
from deltaglider.errors import DeltaGliderError, NotVerifiableError
from deltaglider.trees import store_items


def _check(session: Session, out: Output, url: str) -> dict[str, Any]:
    """One file's result; a failure to check it at all is an error of that file alone."""
    try:
        valid = session.client.verify(url)
    except NotVerifiableError as exc:
        out.line(f"unverifiable: {url} ({exc})")
        return {"url": url, "status": "unverifiable", "detail": str(exc)}
    except (DeltaGliderError, OSError) as exc:
        # The library's errors already name the object; a bare OSError may not.
        message = str(exc) if isinstance(exc, DeltaGliderError) else f"{url}: {exc}"
        out.error_line(f"failed: {url} to {url}: {message}")
        return {"url": url, "status": "error", "detail": message}
    out.line(f"ok: {url}" if valid else f"MISMATCH: {url}")
    return {"url": url, "status": "ok" if valid else "mismatch"}


@click.command(cls=FilteredCommand)
@click.argument("url")
@filter_options
@click.pass_context
def verify(ctx: click.Context, url: str, include: tuple[str, ...], exclude: tuple[str, ...]) -> int:
    """Check a stored file, or every file under a folder (URL ending in '/'), against its SHA-256.

    Exits with 1 if any file does not rebuild to its recorded SHA-256.
    """
    session: Session = ctx.obj
    target = store_place(url)
    if target.is_folder:
        items = select(store_items(session.client, target), filters(ctx))
        urls, sizes = [target.child(i.name) for i in items], [i.size for i in items]
    else:
        urls, sizes = [target.text], [None]
    out = session.out
    total = None if None in sizes else sum(size or 0 for size in sizes)
    progress = out.progress("verify", len(urls), total)

    def check(index: int) -> dict[str, Any]:
        share = progress.file(sizes[index])
        try:
            return _check(session, out, urls[index])
        finally:
            share.done()

    try:
        results = [o.unwrap() for o in run_all(range(len(urls)), check, workers=session.workers)]
    finally:
        progress.close()
    bad = [r for r in results if r["status"] in ("mismatch", "error")]
    # A single file that cannot be verified is a failure: the user asked about that file.
    if not target.is_folder and results and results[0]["status"] == "unverifiable":
        bad = results
    if target.is_folder:
        out.line(f"verified {len(results)} file(s): {len(bad)} failed")
    out.document({"command": "verify", "url": target.text, "ok": not bad, "results": results})
    return exit_status(not bad)
