"""Jobs of a whole folder tree made of one job per folder: ``stats``, ``repack`` and ``retain``.

Each DeltaSpace is re-packed or trimmed on its own, so a tree's folders are independent jobs; the
results are merged on the caller, file names relative to the tree's folder (``sub/app-1.1.zip``).
Stats split a folder into its own files (one job) and each sub-folder's tree (one job each), which
together count every object once.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Literal, TypeVar

from deltaglider.batch import folder_of
from deltaglider.bulk.run import gather
from deltaglider.bulk.spec import ClientSpec, worker_client
from deltaglider.core.models import DeltaSpace, RepackResult, RetentionResult, StatsSummary
from deltaglider.urls import Place, parse_url

if TYPE_CHECKING:
    from deltaglider.client import DeltaGliderClient

__all__ = ["folders_under", "repack", "retain", "stats"]

R = TypeVar("R")
Order = Literal["modified", "version"]


# --- what runs on a worker --------------------------------------------------------------------------


def stats_job(spec: ClientSpec, url: str, recursive: bool) -> StatsSummary:
    return worker_client(spec).stats(url, recursive=recursive)


def repack_job(spec: ClientSpec, url: str, dry_run: bool) -> RepackResult:
    return worker_client(spec).repack(url, dry_run=dry_run)


def retain_job(
    spec: ClientSpec,
    url: str,
    *,
    keep_last: int | None,
    keep_within: timedelta | None,
    dry_run: bool,
    order: Order,
    keep_versions: int | None = None,
) -> RetentionResult:
    return worker_client(spec).retain(
        url,
        keep_last=keep_last,
        keep_within=keep_within,
        dry_run=dry_run,
        order=order,
        keep_versions=keep_versions,
    )


# --- planning and merging on the caller -------------------------------------------------------------


def _child_folder(top: str, relative: str) -> str:
    return Place(top, True).child(relative) + "/" if relative else top


def folders_under(client: DeltaGliderClient, folder_url: str) -> list[str]:
    """Every folder at or below ``folder_url`` (``/``-terminated) that holds a file or a base, as
    names relative to it ("" for the folder itself), sorted."""
    loc = parse_url(folder_url).as_folder()
    top = DeltaSpace(loc.bucket, loc.prefix)
    found = {
        folder_of(entry.name) for entry in client.list(folder_url, recursive=True) if not entry.is_prefix
    }
    cut = len(loc.prefix) + 1 if loc.prefix else 0
    for space in client._service_for(loc).delta_spaces(top):
        found.add(space.prefix[cut:] if space.prefix != loc.prefix else "")
    return sorted(found)


def _ran(executor: cf.Executor | None, workers: int, jobs: Sequence[Callable[[], R]]) -> list[R | Exception]:
    if executor is not None:
        return gather(executor, jobs)
    with cf.ThreadPoolExecutor(
        max_workers=max(1, min(workers, len(jobs))), thread_name_prefix="deltaglider"
    ) as pool:
        return gather(pool, jobs)


def _raised(results: Sequence[R | Exception]) -> list[R]:
    """The results, or the first job's exception raised."""
    for result in results:
        if isinstance(result, Exception):
            raise result
    return [result for result in results if not isinstance(result, Exception)]


def _under(relative: str, name: str) -> str:
    return f"{relative}/{name}" if relative else name


def stats(client: DeltaGliderClient, url: str, *, executor: cf.Executor) -> StatsSummary:
    """``client.stats(url)`` (recursive) as one job for the folder's own objects and one per
    sub-folder."""
    top = Place(url, True).as_folder().text
    loc = parse_url(top)
    storage = client._service_for(loc).storage
    subs = sorted(
        obj.key[len(loc.key) :].rstrip("/")
        for obj in storage.list(loc.bucket, loc.key, recursive=False)
        if obj.is_prefix
    )
    spec = ClientSpec.of(client)
    jobs = [partial(stats_job, spec, top, False)]
    jobs += [partial(stats_job, spec, _child_folder(top, sub), True) for sub in subs]
    parts = _raised(gather(executor, jobs))
    total = StatsSummary(bucket=loc.bucket, prefix=loc.prefix)
    for part in parts:
        for name in (
            "file_count",
            "delta_count",
            "whole_count",
            "reference_count",
            "reference_file_count",
            "original_bytes",
            "stored_bytes",
            "reference_bytes",
        ):
            setattr(total, name, getattr(total, name) + getattr(part, name))
    return total


def _job_maker(
    client: DeltaGliderClient, executor: cf.Executor | None, remote: Callable[..., R], local: Callable[..., R]
) -> Callable[..., Callable[[], R]]:
    """How one folder's job is made: on an executor, the module-level job with the client's spec;
    on the caller's threads, the client's own method."""
    if executor is None:
        return lambda *args, **options: partial(local, *args, **options)
    spec = ClientSpec.of(client)
    return lambda *args, **options: partial(remote, spec, *args, **options)


def _folders(client: DeltaGliderClient, top: str, recursive: bool) -> list[str]:
    return folders_under(client, top) if recursive else [""]


def repack(
    client: DeltaGliderClient,
    folder_url: str,
    *,
    dry_run: bool,
    recursive: bool,
    executor: cf.Executor | None,
    workers: int,
) -> RepackResult:
    """``client.repack`` of the folder (``recursive``: and of every folder below it), one job each;
    a folder whose job failed as a whole is named in ``failed`` by its relative name and ``/``."""
    top = Place(folder_url, True).as_folder().text
    loc = parse_url(top)
    folders = _folders(client, top, recursive)
    job = _job_maker(client, executor, repack_job, lambda url, dry: client.repack(url, dry_run=dry))
    results = _ran(executor, workers, [job(_child_folder(top, rel), dry_run) for rel in folders])
    merged = RepackResult(bucket=loc.bucket, prefix=loc.prefix, dry_run=dry_run)
    for rel, part in zip(folders, results, strict=True):
        if isinstance(part, Exception):
            merged.failed[_under(rel, "")] = str(part)
            continue
        merged.files += [_under(rel, name) for name in part.files]
        merged.stored_before += part.stored_before
        merged.stored_after += part.stored_after
        merged.bases_removed += part.bases_removed
        merged.failed.update({_under(rel, name): why for name, why in part.failed.items()})
        merged.skipped += [_under(rel, name) for name in part.skipped]
    return merged


def retain(
    client: DeltaGliderClient,
    folder_url: str,
    *,
    keep_last: int | None,
    keep_within: timedelta | None,
    dry_run: bool,
    order: Order,
    recursive: bool,
    executor: cf.Executor | None,
    workers: int,
    keep_versions: int | None = None,
) -> RetentionResult:
    """``client.retain`` of the folder (``recursive``: and of every folder below it, each kept by the
    same rules on its own), one job each; the first folder that failed is raised once all ended."""
    top = Place(folder_url, True).as_folder().text
    loc = parse_url(top)
    folders = _folders(client, top, recursive)

    job = _job_maker(client, executor, retain_job, client.retain)
    options = {
        "keep_last": keep_last,
        "keep_within": keep_within,
        "dry_run": dry_run,
        "order": order,
        "keep_versions": keep_versions,
    }
    jobs = [job(_child_folder(top, rel), **options) for rel in folders]
    parts = _raised(_ran(executor, workers, jobs))
    merged = RetentionResult(bucket=loc.bucket, prefix=loc.prefix, dry_run=dry_run)
    for rel, part in zip(folders, parts, strict=True):
        merged.kept += [_under(rel, name) for name in part.kept]
        merged.removed += [_under(rel, name) for name in part.removed]
        merged.versions_removed += [_under(rel, name) for name in part.versions_removed]
        merged.bases_removed += part.bases_removed
        merged.bytes_freed += part.bytes_freed
        merged.warnings += part.warnings
    return merged
