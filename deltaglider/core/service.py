"""DeltaService: the spec's service, a thin front over one module per flow."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from deltaglider.atomic import StrPath
from deltaglider.config import DEFAULT_TOOL_VERSION, DEFAULT_WORKERS, check_max_ratio
from deltaglider.core import delete as delete_flow
from deltaglider.core import listing, transfer
from deltaglider.core import repack as repack_flow
from deltaglider.core import verify as verify_flow
from deltaglider.core.context import Context
from deltaglider.core.encode_limit import ENCODE_GATE, MemoryGate
from deltaglider.core.family import bases, retention
from deltaglider.core.format.layout import split_key
from deltaglider.core.format.locate import locate
from deltaglider.core.format.metadata import Kind, parse
from deltaglider.core.get import flow as get_flow
from deltaglider.core.history import versions as history_versions
from deltaglider.core.models import (
    DeleteResult,
    DeltaSpace,
    GetSummary,
    ListEntry,
    ObjectKey,
    PutSummary,
    RepackResult,
    RetentionResult,
    StatsSummary,
    StoredObject,
    VerifyResult,
    VersionInfo,
)
from deltaglider.core.put import dry_run
from deltaglider.core.put import flow as put_flow
from deltaglider.ports.cache import CachePort, ClearableCache
from deltaglider.ports.clock import ClockPort
from deltaglider.ports.diff import DiffPort
from deltaglider.ports.hash import HashPort
from deltaglider.ports.logger import LoggerPort
from deltaglider.ports.metrics import MetricsPort
from deltaglider.ports.storage import ProgressCallback, PutOptions, StoragePort


class DeltaService:
    """Stores files as deltas against one reference per DeltaSpace, and gets them back byte-exact."""

    def __init__(  # noqa: PLR0917 - the spec's positional signature
        self,
        storage: StoragePort,
        diff: DiffPort,
        hasher: HashPort,
        cache: CachePort,
        clock: ClockPort,
        logger: LoggerPort,
        metrics: MetricsPort,
        tool_version: str = DEFAULT_TOOL_VERSION,
        max_ratio: float = 0.5,
        *,
        encode_gate: MemoryGate | None = None,
        original_compatible: bool = False,
        keep_history: bool = False,
    ) -> None:
        """``encode_gate`` limits the memory that concurrent encodes hold together; by default one
        gate is shared by the whole process (:data:`deltaglider.core.encode_limit.ENCODE_GATE`).
        ``original_compatible`` writes only what the original DeltaGlider reads: otherwise archives
        are stored as deltas of their decoded content and a drifting family gets new bases (both
        readable by this project only). ``keep_history``: an upload over a name, or a delete of it,
        keeps the version it replaces in the name's history (:mod:`deltaglider.core.history`); not
        with ``original_compatible``, whose history is off."""
        if keep_history and original_compatible:
            raise ValueError(
                "keep_history needs the default mode: in original_compatible mode history is off "
                "(the original would neither keep nor read it)"
            )
        self._ctx = Context(
            storage=storage,
            diff=diff,
            hasher=hasher,
            cache=cache,
            clock=clock,
            logger=logger,
            metrics=metrics,
            tool_version=tool_version,
            max_ratio=check_max_ratio(max_ratio),
            encode_gate=ENCODE_GATE if encode_gate is None else encode_gate,
            original_compatible=original_compatible,
            keep_history=keep_history,
        )

    @property
    def storage(self) -> StoragePort:
        return self._ctx.storage

    @property
    def max_ratio(self) -> float:
        return self._ctx.max_ratio

    @property
    def original_compatible(self) -> bool:
        return self._ctx.original_compatible

    @property
    def keep_history(self) -> bool:
        return self._ctx.keep_history

    @property
    def tool_version(self) -> str:
        return self._ctx.tool_version

    def with_storage(self, storage: StoragePort) -> DeltaService:
        """The same service (cache, codec, settings) over another store."""
        clone = object.__new__(DeltaService)
        clone._ctx = replace(self._ctx, storage=storage)
        return clone

    def put(
        self,
        file: Path,
        delta_space: DeltaSpace,
        max_ratio: float | None = None,
        *,
        name: str | None = None,
        progress: ProgressCallback | None = None,
        options: PutOptions | None = None,
    ) -> PutSummary:
        """Stores ``file`` in ``delta_space`` under ``name`` (default: the file's own name).

        ``max_ratio`` (default: the service's) caps delta size / file size; past it the file is stored
        whole. ``options`` (tags, storage class, Content-Type, user metadata, already checked) apply to
        the objects of this upload by their role (:mod:`deltaglider.core.put.policy`).
        """
        ratio = self._ctx.max_ratio if max_ratio is None else check_max_ratio(max_ratio)
        return put_flow.put(
            self._ctx, Path(file), delta_space, max_ratio=ratio, name=name, progress=progress, options=options
        )

    def dry_run_put(
        self, file: Path, delta_space: DeltaSpace, max_ratio: float | None = None, *, name: str | None = None
    ) -> dry_run.DryRun:
        """What :meth:`put` would do now, encoding included, with nothing written to the store, the
        reference cache or the service's memos (:mod:`deltaglider.core.put.dry_run`)."""
        ratio = self._ctx.max_ratio if max_ratio is None else check_max_ratio(max_ratio)
        return dry_run.put(self._ctx, Path(file), delta_space, max_ratio=ratio, name=name)

    def clear_cache(self) -> None:
        """Forgets what the service keeps between calls: the reference cache's entries (those not in
        use by a transfer running now) and what it learned of each DeltaSpace's bases."""
        if isinstance(self._ctx.cache, ClearableCache):
            self._ctx.cache.clear()
        self._ctx.bases_known.clear()

    def get(
        self,
        object_key: ObjectKey,
        output_path: StrPath,
        *,
        progress: ProgressCallback | None = None,
        version: str | None = None,
    ) -> GetSummary:
        """Writes the file to ``output_path`` (or into it, when it is a folder or ends in a
        separator); finds ``key`` or ``key.delta``. ``version``: that version of the name (an ID that
        :meth:`versions` gives), current or kept in its history."""
        return get_flow.get(self._ctx, object_key, output_path, progress, version=version)

    def versions(self, object_key: ObjectKey) -> builtins.list[VersionInfo]:
        """The versions of the name ``object_key``, newest first; of every name of the folder when
        its key is a folder's (empty, or ending in ``/``), by name."""
        prefix, name = split_key(object_key.key)
        if not name:
            return history_versions.of_folder(self._ctx, object_key.bucket, prefix)
        return history_versions.of_name(self._ctx, object_key.bucket, prefix, name)

    def verify(self, object_key: ObjectKey, *, use_cache: bool = False) -> VerifyResult:
        """Checks the stored file against its SHA-256; a delta's reference is downloaded and checked
        too, unless ``use_cache`` lets a cached copy stand in for it."""
        return verify_flow.verify(self._ctx, object_key, use_cache=use_cache)

    def head(self, object_key: ObjectKey) -> StoredObject:
        """What is recorded about the stored file (found as ``key`` or ``key.delta``): sizes, SHA-256,
        form. Raises ``NotFoundError`` when neither form is there."""
        found = locate(self._ctx, object_key)
        info = parse(found.metadata, found.key)
        size = (
            info.file_size if info.file_size is not None else None if info.kind is Kind.DELTA else found.size
        )
        return StoredObject(
            bucket=object_key.bucket,
            key=found.key,
            size=size,
            stored_size=found.size,
            sha256=info.file_sha256,
            is_delta=info.kind is Kind.DELTA,
            last_modified=found.last_modified,
        )

    def delete(
        self, object_key: ObjectKey, *, force: bool = False, all_versions: bool = False
    ) -> DeleteResult:
        """Deletes a stored file (both forms of its name, if an interrupted upload left two). A
        ``reference.bin`` is deleted only by name, refused while deltas depend on it unless ``force``.
        With history kept, the version deleted stays in the name's history unless ``all_versions``;
        without, the history goes too."""
        return delete_flow.delete(self._ctx, object_key, force=force, all_versions=all_versions)

    def retain(
        self,
        delta_space: DeltaSpace,
        *,
        keep_last: int | None = None,
        keep_within: timedelta | None = None,
        dry_run: bool = False,
        name_order: retention.NameOrder | None = None,
        keep_versions: int | None = None,
    ) -> RetentionResult:
        """Removes the DeltaSpace's files but the ``keep_last`` newest and/or those stored within
        ``keep_within`` (either rule keeps a file), then the bases no kept file needs. ``dry_run``
        only reports what would go and the bytes freed; ``name_order`` (a key function of names)
        ranks by name instead of by the files' modification times. ``keep_versions`` and
        ``keep_within`` apply to each name's history as well
        (:mod:`deltaglider.core.family.version_retention`)."""
        return retention.retain(
            self._ctx,
            delta_space.bucket,
            delta_space.prefix,
            keep_last=keep_last,
            keep_within=keep_within,
            dry_run=dry_run,
            name_order=name_order,
            keep_versions=keep_versions,
        )

    def repack(self, delta_space: DeltaSpace, *, dry_run: bool = False) -> RepackResult:
        """Encodes every file of the DeltaSpace again, oldest first, against the bases the current
        scheme picks (each checked before its old form goes), then removes the bases left unused."""
        return repack_flow.repack(self._ctx, delta_space.bucket, delta_space.prefix, dry_run=dry_run)

    def remove_seen(self, object_key: ObjectKey) -> DeleteResult | None:
        """Removes the stored file as a HEAD finds it now; None, removing nothing, when its name is
        written or removed between that HEAD and the removal (a newer version is not the one judged)."""
        return delete_flow.remove_seen(self._ctx, object_key)

    def collect_bases(self, delta_space: DeltaSpace, *, dry_run: bool = False) -> RetentionResult:
        """Removes the DeltaSpace's bases that no stored file needs any more."""
        return retention.collect_unused(self._ctx, delta_space.bucket, delta_space.prefix, dry_run=dry_run)

    def delta_spaces(self, delta_space: DeltaSpace) -> builtins.list[DeltaSpace]:
        """Every DeltaSpace at or below ``delta_space`` that holds a base (even with no file left)."""
        bucket = delta_space.bucket
        return [DeltaSpace(bucket, p) for p in bases.spaces_under(self._ctx, bucket, delta_space.prefix)]

    def base_names(self, delta_space: DeltaSpace) -> builtins.list[str]:
        """The names of the DeltaSpace's bases (``reference.bin``, further full references and
        snapshots), in the order that deletes dependents first."""
        return bases.removal_order(self._ctx, delta_space.bucket, delta_space.prefix)

    def list(self, delta_space: DeltaSpace, *, recursive: bool = False) -> Iterator[ListEntry]:
        return listing.list_entries(self._ctx, delta_space.bucket, delta_space.prefix, recursive=recursive)

    def stats(self, delta_space: DeltaSpace, *, recursive: bool = True) -> StatsSummary:
        return listing.stats(self._ctx, delta_space.bucket, delta_space.prefix, recursive=recursive)

    def upload_many(
        self,
        items: Iterable[transfer.UploadSpec],
        *,
        workers: int = DEFAULT_WORKERS,
        progress: ProgressCallback | None = None,
        max_ratio: float | None = None,
    ) -> builtins.list[transfer.Outcome[PutSummary]]:
        """Uploads ``(file, delta_space, name)`` items (``name`` None: the file's own) on ``workers``
        threads; returns one outcome per item, in input order. A failed item does not stop the rest.
        ``progress`` gets the bytes each transfer moves, one call at a time (from worker threads)."""
        ratio = self._ctx.max_ratio if max_ratio is None else check_max_ratio(max_ratio)
        return transfer.upload_many(self._ctx, items, workers=workers, progress=progress, max_ratio=ratio)

    def download_many(
        self,
        items: Iterable[transfer.DownloadSpec],
        *,
        workers: int = DEFAULT_WORKERS,
        progress: ProgressCallback | None = None,
    ) -> builtins.list[transfer.Outcome[GetSummary]]:
        """Downloads ``(object_key, output_path)`` items on ``workers`` threads, as :meth:`upload_many`."""
        return transfer.download_many(self._ctx, items, workers=workers, progress=progress)
