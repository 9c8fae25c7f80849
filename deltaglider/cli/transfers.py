"""One transfer each: upload (local to store), download (store to local), copy (store to store through a
temporary file). ``cp`` and ``sync`` build their batches from these."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

from deltaglider.cli.output import human_size, percent
from deltaglider.cli.runner import Job, Tick
from deltaglider.cli.session import Session
from deltaglider.core import scratch
from deltaglider.core.format.layout import is_base_name
from deltaglider.errors import InvalidURLError
from deltaglider.urls import safe_join


def _written(dest_url: str) -> str:
    """The destination as ``folder/name``, the name as the file is named (``file://`` URLs are
    percent-encoded), for the order of a batch's writes."""
    return unquote(dest_url) if dest_url.lower().startswith("file:") else dest_url


def _upload(session: Session, path: Path, dest_url: str, tick: Tick) -> dict[str, Any]:
    summary = session.client.upload(path, dest_url, max_ratio=session.upload_ratio, progress=tick)
    return {
        "operation": summary.operation,
        "key": summary.key,
        "original_size": summary.original_size,
        "stored_size": summary.stored_size,
        "is_delta": summary.is_delta,
        "savings_percent": percent(summary.original_size, summary.stored_size),
        "reason": summary.reason,
    }


def _stored_note(fields: dict[str, Any]) -> str:
    # The first file of a folder is stored whole as its reference (plus an empty delta).
    became_reference = is_base_name(fields["key"].rpartition("/")[2])
    how = "delta" if fields["is_delta"] else "reference" if became_reference else "whole"
    saved = fields["savings_percent"]
    saved_text = f", {saved:.1f}% saved" if saved is not None else ""
    sizes = f"{human_size(fields['original_size'])} stored as {human_size(fields['stored_size'])}"
    return f"  ({how}, {sizes}{saved_text})"


def upload_job(session: Session, path: Path, dest_url: str, size: int | None) -> Job:
    def work(tick: Tick) -> tuple[str, dict[str, Any]]:
        fields = _upload(session, path, dest_url, tick)
        return f"upload: {path} to {dest_url}{_stored_note(fields)}", fields

    return Job(str(path), dest_url, size, work, writes=_written(dest_url))


def download_job(session: Session, src_url: str, dest: Path, size: int | None) -> Job:
    def work(tick: Tick) -> tuple[str, dict[str, Any]]:
        got = session.client.download(src_url, dest, progress=tick)
        # The summary's size: a FIFO or device destination has none of its own.
        return f"download: {src_url} to {dest}", {"operation": "GET", "size": got.size}

    return Job(src_url, str(dest), size, work)


def download_into_job(session: Session, src_url: str, folder: Path, name: str, size: int | None) -> Job:
    """A download to ``folder/name``; a stored name that would land outside ``folder`` (``../x``) fails
    on its own, as one file of the batch."""
    try:
        dest = safe_join(folder, name)
    except InvalidURLError as exc:
        refused = exc

        def fail(_tick: Tick) -> tuple[str, dict[str, Any]]:
            raise refused

        return Job(src_url, str(folder / name), size, fail)
    return download_job(session, src_url, dest, size)


def copy_job(session: Session, src_url: str, dest_url: str, size: int | None) -> Job:
    def work(tick: Tick) -> tuple[str, dict[str, Any]]:
        name = src_url.rstrip("/").rpartition("/")[2] or "object"
        if src_url.lower().startswith("file:"):
            name = unquote(name)
        # One of the library's scratch folders, so that a killed copy's is swept as theirs are.
        with scratch.temporary() as folder:
            # Named as the source, so that a destination folder keeps the file's name.
            local = folder / name
            session.client.download(src_url, local, progress=tick)
            fields = _upload(session, local, dest_url, tick)
        return f"copy: {src_url} to {dest_url}{_stored_note(fields)}", fields

    return Job(src_url, dest_url, size, work, writes=_written(dest_url))
