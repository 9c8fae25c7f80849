"""Syncing a folder with a store, or a store with another: the SDK's ``client.sync``.

The decisions are ``deltaglider.batch``'s (the command line's ``sync`` makes the same ones): a file is
copied when the destination lacks it or holds other bytes, judged by size and then by the SHA-256
recorded in the stored object's metadata, so an identical file transfers nothing. Here, as in ``aws
s3 sync``, a location that is not an ``s3://`` or ``file://`` URL is the caller's own folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from deltaglider.batch import (
    DigestOf,
    FilterRule,
    Item,
    SyncAction,
    SyncDecision,
    folder_of,
    plan_sync,
    seed_indexes,
)
from deltaglider.errors import DeltaGliderError, NotFoundError
from deltaglider.ports.storage import ProgressCallback
from deltaglider.urls import safe_join

if TYPE_CHECKING:
    from deltaglider.client import DeltaGliderClient
    from deltaglider.core.transfer import Cancellation

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Side:
    """One side of a sync: a store folder (``s3://``/``file://`` URL ending in ``/``) or a local folder."""

    location: str
    is_store: bool

    @staticmethod
    def of(location: str | os.PathLike[str]) -> Side:
        text = os.fspath(location)
        if text.lower().startswith(("s3://", "file://")):
            return Side(text if text.endswith("/") else text + "/", True)
        return Side(text, False)

    def child(self, name: str) -> str:
        """Where ``name`` (relative, ``/``-separated) lives on this side."""
        if not self.is_store:
            return str(safe_join(Path(self.location), name))
        # file:// URLs are percent-decoded when parsed: a name holding '%' or '#' must be quoted.
        return self.location + (quote(name) if self.location.lower().startswith("file:") else name)


@dataclass
class SyncResult:
    decisions: list[SyncDecision]  # one per name the filters let through, in name order
    copied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # stored keys or local paths removed
    failed: dict[str, str] = field(default_factory=dict)  # name -> why

    @property
    def ok(self) -> bool:
        return not self.failed


def local_items(folder: Path) -> list[Item]:
    """Every file under ``folder`` (links to files followed, to folders not), by relative name."""
    items = []
    for root, _dirs, files in os.walk(folder):
        for filename in files:
            path = Path(root) / filename
            try:
                size = path.stat().st_size
            except OSError:
                continue  # a dangling link: nothing to copy
            if path.is_file():
                items.append(Item(path.relative_to(folder).as_posix(), size))
    return sorted(items, key=lambda item: item.name)


def store_items(client: DeltaGliderClient, folder_url: str) -> list[Item]:
    """The files stored under a folder, recursively, by name relative to it."""
    return sorted(
        (
            Item(entry.name, entry.original_size, is_delta=entry.is_delta)
            for entry in client.list(folder_url, recursive=True)
            if not entry.is_prefix
        ),
        key=lambda item: item.name,
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stored_sha256(client: DeltaGliderClient, url: str) -> str | None:
    """The SHA-256 recorded for a stored file, or None when it has none (or is not there)."""
    try:
        return client.head(url).sha256
    except NotFoundError:
        return None


def _items(client: DeltaGliderClient, side: Side, *, missing_ok: bool) -> list[Item]:
    if not side.is_store:
        folder = Path(side.location)
        if not folder.is_dir():
            if missing_ok:
                return []
            raise NotFoundError(f"{side.location}: no such folder")
        return local_items(folder)
    try:
        return store_items(client, side.location)
    except NotFoundError:
        # A folder store not made yet is an empty destination; a missing bucket is not.
        if missing_ok and side.location.lower().startswith("file:"):
            return []
        raise


def _digest(client: DeltaGliderClient, side: Side) -> DigestOf:
    if side.is_store:
        return lambda name: stored_sha256(client, side.child(name))
    return lambda name: sha256_file(Path(side.child(name)))


def _copy_one(
    client: DeltaGliderClient, src: Side, dst: Side, name: str, progress: ProgressCallback | None
) -> None:
    if not src.is_store:
        client.upload(src.child(name), dst.child(name), progress=progress)
    elif not dst.is_store:
        client.download(src.child(name), dst.child(name), progress=progress)
    else:
        from deltaglider.core import scratch

        with scratch.temporary() as folder:
            local = folder / name.rpartition("/")[2]
            client.download(src.child(name), local, progress=progress)
            client.upload(local, dst.child(name), progress=progress)


def _copy_all(
    names: Sequence[str],
    work: Callable[[str], None],
    workers: int,
    result: SyncResult,
    cancellation: Cancellation,
) -> None:
    # Imported here: the command line imports this module's listing helpers for --help too.
    from deltaglider.core.transfer import run_in_turns

    # The first release of each folder (in version order) goes first, alone: a new DeltaSpace's
    # reference is then its oldest release, not whichever thread won.
    seeds, rest = seed_indexes(names)
    outcomes = run_in_turns(list(names), work, [seeds, rest], workers=workers, cancellation=cancellation)
    for name, outcome in zip(names, outcomes, strict=True):
        if outcome.ok:
            result.copied.append(name)
        else:
            result.failed[name] = str(outcome.error)


def _remove_unused_bases(client: DeltaGliderClient, dst: Side, folders: set[str]) -> list[str]:
    """Deleting files never removes a base (an upload may be using it): a sync that removed files
    from a folder then removes the folder's bases that no file left there needs."""
    removed: list[str] = []
    for folder in sorted(folders):
        removed += client.remove_unused_bases(dst.child(folder + "/") if folder else dst.location).deleted
    return removed


def sync(
    client: DeltaGliderClient,
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    *,
    delete: bool = False,
    size_only: bool = False,
    rules: Sequence[FilterRule] = (),
    dryrun: bool = False,
    workers: int = 4,
    progress: ProgressCallback | None = None,
) -> SyncResult:
    src, dst = Side.of(source), Side.of(destination)
    if not src.is_store and not dst.is_store:
        raise ValueError("one of source and destination must be a store (s3://... or file://...)")
    decisions = plan_sync(
        _items(client, src, missing_ok=False),
        _items(client, dst, missing_ok=True),
        rules=rules,
        delete=delete,
        size_only=size_only,
        source_sha256=_digest(client, src),
        dest_sha256=_digest(client, dst),
    )
    result = SyncResult(decisions)
    if dryrun:
        return result
    from deltaglider.core.transfer import Cancellation

    copies = [d.name for d in decisions if d.action is SyncAction.COPY]
    stop = Cancellation()
    report = stop.checked(progress)
    _copy_all(copies, lambda name: _copy_one(client, src, dst, name, report), workers, result, stop)
    emptied: set[str] = set()
    for decision in decisions:
        if decision.action is not SyncAction.DELETE:
            continue
        try:
            if dst.is_store:
                # The version listed (as a HEAD finds it now), never one written since.
                done = client._remove_seen(dst.child(decision.name))
                if done is None:
                    result.failed[decision.name] = "written or removed since it was listed: left as it is"
                    continue
                result.deleted += done.deleted
                emptied.add(folder_of(decision.name))
            else:
                Path(dst.child(decision.name)).unlink()
                result.deleted.append(dst.child(decision.name))
        except (DeltaGliderError, OSError) as exc:
            result.failed[decision.name] = str(exc)
    if dst.is_store and emptied and not result.failed:
        result.deleted += _remove_unused_bases(client, dst, emptied)
    return result
