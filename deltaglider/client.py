"""The SDK's front door: ``DeltaGliderClient`` and ``UploadSummary`` (``create_client``, the
composition root that builds one, lives in ``deltaglider.factory``).

URLs are ``s3://bucket/prefix/[name]``, or a local location (``file:///abs/path`` or a plain path): a
store rooted at ``/`` whose first path component plays the bucket, with the same layout (see
``deltaglider.urls`` and ``adapters.storage_local``). The URL's scheme picks the store.
"""

from __future__ import annotations

import builtins
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, cast

from deltaglider import migrate, trees
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_options import FILE_TAG, check_options, merge_options
from deltaglider.batch import FilterRule, seed_indexes, version_key
from deltaglider.boto_api.buckets import BucketCalls
from deltaglider.boto_api.info import InfoCalls
from deltaglider.boto_api.links import LinkCalls
from deltaglider.boto_api.listing import ListingCalls
from deltaglider.boto_api.objects import ObjectCalls
from deltaglider.config import DEFAULT_WORKERS
from deltaglider.core import scratch
from deltaglider.core.format.layout import REFERENCE_NAME
from deltaglider.core.models import (
    DeleteResult,
    DeltaSpace,
    GetSummary,
    ListEntry,
    ObjectKey,
    RepackResult,
    RetentionResult,
    StatsSummary,
    StoredObject,
    VersionInfo,
)
from deltaglider.core.service import DeltaService
from deltaglider.core.transfer import (
    Cancellation,
    Outcome,
    run_all,
    run_in_turns,
    serialised,
)
from deltaglider.errors import InvalidURLError, NotFoundError
from deltaglider.ports.storage import LifecycleRule, ProgressCallback, PutOptions, StoragePort
from deltaglider.read_once import ReadOnce
from deltaglider.trees import Done, Event, EventCallback, Moved, Step, StepRunner, TreeResult
from deltaglider.urls import Location, Place, Scheme, check_relative_key, parse_url

__all__ = ["DEFAULT_CLEANUP_AGE", "DeltaGliderClient", "UploadSummary"]

_MB = 1024 * 1024


@dataclass
class UploadSummary:
    operation: str  # "PUT" (stored whole, the first file of a DeltaSpace included) or "PUT_DELTA"
    bucket: str
    key: str  # where the file's bytes live
    original_size: int
    stored_size: int  # bytes this upload added
    is_delta: bool
    delta_ratio: float = 0.0  # delta size / original size; also set when a delta was refused for max_ratio
    reason: str = ""  # why the file was stored as it was
    transform: str | None = None  # "zip", "gzip", "xz", "ar", "bzip2": stored as the delta of decoded content

    @property
    def original_size_mb(self) -> float:
        return self.original_size / _MB

    @property
    def stored_size_mb(self) -> float:
        return self.stored_size / _MB

    @property
    def savings_percent(self) -> float:
        if self.original_size == 0:
            return 0.0
        return 100.0 * (1.0 - self.stored_size / self.original_size)


#: The stores built on first use, per scheme (``s3`` is the client's own service, given at creation):
#: every file:// URL and plain path is in the one store rooted at ``/``.
_STORES: dict[Scheme, Callable[[], StoragePort]] = {"file": lambda: LocalStorage("/")}

#: What ``cleanup`` removes by default: leftovers older than any live transfer.
DEFAULT_CLEANUP_AGE = timedelta(days=1)


def _folder_url(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _object(url: str) -> Location:
    loc = parse_url(url)
    if loc.is_folder:
        raise InvalidURLError(f"{url}: missing the object key")
    return loc


def _lifecycle_rule(
    prefix: str, days_before_archive: int | None, days_before_delete: int | None, archive_class: str
) -> LifecycleRule:
    """The rule ``lifecycle_policy`` sets, refusing what S3 would (``ValueError``)."""
    for name, days in (
        ("days_before_archive", days_before_archive),
        ("days_before_delete", days_before_delete),
    ):
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 1):
            raise ValueError(f"{name} must be a whole number of days from 1, or None; not {days!r}")
    if days_before_archive is None and days_before_delete is None:
        raise ValueError(
            "days_before_archive and days_before_delete are both None: the rule would do nothing"
        )
    if (
        days_before_archive is not None
        and days_before_delete is not None
        and days_before_delete <= days_before_archive
    ):
        raise ValueError(
            f"days_before_delete ({days_before_delete}) must come after days_before_archive "
            f"({days_before_archive}), as S3 requires"
        )
    return LifecycleRule(
        rule_id=f"deltaglider:{prefix or '(bucket)'}"[:255],
        prefix=prefix,
        tags={FILE_TAG[0]: FILE_TAG[1]},
        archive_after_days=days_before_archive,
        expire_after_days=days_before_delete,
        archive_class=archive_class.upper(),
    )


def _stored_name(file: str | Path, url: str, name: str | None = None) -> str:
    """Where an upload of ``file`` to the folder ``url`` is stored, as a name (its folder and file
    name): ``name``, else the file's own."""
    return _folder_url(url) + (Path(file).name if name is None else name)


class DeltaGliderClient(ObjectCalls, ListingCalls, BucketCalls, LinkCalls, InfoCalls):
    """Use ``create_client()`` to build one."""

    def __init__(
        self, service: DeltaService, endpoint_url: str | None = None, *, put_options: PutOptions | None = None
    ) -> None:
        """``put_options``: the client's own upload options (tags, storage class...), under each
        upload's."""
        self._put_options = put_options or PutOptions()
        self.service = service
        self.endpoint_url = endpoint_url
        self._services: dict[Scheme, DeltaService] = {"s3": service}
        self._lock = threading.Lock()
        #: ``create_client``'s keywords, from which a worker process builds the same client
        #: (``deltaglider.bulk.spec``); None for a client made otherwise.
        self._made_with: dict[str, Any] | None = None

    def _runner(self, executor: Executor | None) -> StepRunner | None:
        """The runner of a batch's steps on ``executor``; None for the caller's own threads."""
        if executor is None:
            return None
        from deltaglider.bulk.run import ExecutorRunner
        from deltaglider.bulk.spec import ClientSpec

        return ExecutorRunner(executor, ClientSpec.of(self))

    def _service_for(self, loc: Location) -> DeltaService:
        with self._lock:
            service = self._services.get(loc.scheme)
            if service is None:
                service = self._services[loc.scheme] = self.service.with_storage(_STORES[loc.scheme]())
            return service

    def upload(
        self,
        file_path: str | Path,
        s3_url: str,
        tags: dict[str, str] | None = None,
        max_ratio: float | None = None,
        *,
        name: str | None = None,
        progress: ProgressCallback | None = None,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
        storage_class: str | None = None,
    ) -> UploadSummary:
        """Stores the file into the folder ``s3_url``, with or without its trailing ``/`` (as the
        original DeltaGlider does: ``upload("build.zip", "s3://releases/v2")`` stores
        ``v2/build.zip``), under the file's own name, or under ``name`` (one component, no ``/``).
        ``max_ratio`` None means the client's setting.

        ``tags`` become object tags (on a local store, kept in the metadata sidecar), ``metadata`` user
        metadata beside deltaglider's ``dg-*`` keys (which it may not use, nor the bare names the
        original reads, such as ``note`` or ``compression``), both added to the client's;
        ``content_type`` (default: guessed from the name) applies to a file stored whole, a delta being
        sent as ``application/octet-stream``; ``storage_class`` overrides the client's.
        None of them touch the DeltaSpace's ``reference.bin``, which no upload owns."""
        extra = check_options(
            tags=tags, metadata=metadata, content_type=content_type, storage_class=storage_class
        )
        loc = parse_url(s3_url).as_folder()
        if loc.prefix:
            check_relative_key(loc.prefix, f"{s3_url}: destination folder")
        summary = self._service_for(loc).put(
            Path(file_path),
            DeltaSpace(loc.bucket, loc.prefix),
            max_ratio,
            name=name,
            progress=progress,
            options=merge_options(self._put_options, extra),
        )
        return UploadSummary(
            operation=summary.operation,
            bucket=summary.bucket,
            key=summary.key,
            original_size=summary.file_size,
            stored_size=summary.stored_size,
            is_delta=summary.operation == "PUT_DELTA",
            delta_ratio=summary.delta_ratio or 0.0,
            reason=summary.reason,
            transform=summary.transform,
        )

    def download(
        self,
        s3_url: str,
        output_path: str | Path,
        *,
        progress: ProgressCallback | None = None,
        version: str | None = None,
    ) -> GetSummary:
        """Writes the file to ``output_path``: into it if it is a folder or ends in ``/`` (made if
        missing); into a FIFO or device (or a link to one), which is never replaced. Finds ``key`` or
        ``key.delta``. The file appears only once its SHA-256 matched; the summary says where it went
        and how. ``version``: that version of the name (a ``version_id`` of :meth:`list_versions`),
        the current one or one kept in its history; ``NotFoundError`` when the name has no such
        version."""
        loc = _object(s3_url)
        return self._service_for(loc).get(
            ObjectKey(loc.bucket, loc.key), output_path, progress=progress, version=version
        )

    def list_versions(self, url: str) -> builtins.list[VersionInfo]:
        """The versions of a name, newest first: the current one (``is_current``) and those kept in
        its history by clients that keep history (``create_client(keep_history=True)``). Each has
        ``version_id`` (for ``download(..., version=...)``), ``created_at`` (its upload time),
        ``size`` and ``sha256`` (the file's) and ``stored_size`` (what it costs). A folder's URL (ending
        in ``/``) lists the versions of every name in it, deleted names whose history was kept
        included, by name. Empty when the name has no version."""
        loc = parse_url(url)
        key = loc.key if not url.endswith("/") else loc.as_folder().key
        return self._service_for(loc).versions(ObjectKey(loc.bucket, key))

    def verify(self, s3_url: str, *, use_cache: bool = False) -> bool:
        """True if the stored file (whole, reference or delta) still rebuilds to its recorded SHA-256.
        The reference is checked as stored; ``use_cache=True`` lets a cached copy, checked when it was
        cached, stand in for it. Raises ``NotVerifiableError`` for objects with no SHA-256 recorded."""
        loc = _object(s3_url)
        return self._service_for(loc).verify(ObjectKey(loc.bucket, loc.key), use_cache=use_cache).valid

    def delete(self, url: str, *, force: bool = False, all_versions: bool = False) -> DeleteResult:
        """Deletes a file (whatever version its name holds, both forms if an interrupted upload left
        two). A reference that deltas depend on is refused (``ReferenceInUseError``) unless ``force``.
        Deleting a file never removes its folder's reference, not even with the last delta (an upload
        may be encoding against it): the result's ``warnings`` then say it is kept; delete it by name,
        or call ``delete_reference_if_unused``, to remove it. A file stored whole that later files were
        made against stays, hidden, as their base.

        A client that keeps history keeps the version deleted in the name's history (it lists with
        ``list_versions`` and downloads by its ID), unless ``all_versions``; a client that does not
        deletes the name's history with it, as ``all_versions`` does."""
        loc = _object(url)
        return self._service_for(loc).delete(
            ObjectKey(loc.bucket, loc.key), force=force, all_versions=all_versions
        )

    def list(self, url: str, *, recursive: bool = False) -> Iterator[ListEntry]:
        """The files under a folder, sorted by name, with original and stored sizes. ``name`` is
        relative to the folder listed (``app-1.1.zip``; ``sub/x.zip`` when recursive), the same on S3
        and on a local folder; without ``recursive`` each sub-folder holding files comes once, as an
        entry with ``is_prefix`` and a name ending in ``/`` (as ``aws s3 ls`` shows ``PRE sub/``)."""
        loc = parse_url(url).as_folder()
        return self._service_for(loc).list(DeltaSpace(loc.bucket, loc.prefix), recursive=recursive)

    def delete_reference_if_unused(self, folder_url: str) -> DeleteResult | None:
        """Removes the folder's ``reference.bin`` when no delta is left in it (deleting files never
        does: an upload may be encoding against it). None when the folder has no reference, or
        still holds deltas, or a file of its own named ``reference.bin`` (which a lookup of that name
        would find first). ``ReferenceInUseError`` if a delta against it appeared meanwhile (the
        reference is then put back)."""
        folder = _folder_url(folder_url)
        left = [entry for entry in self.list(folder) if not entry.is_prefix]
        if any(entry.is_delta or entry.name == REFERENCE_NAME for entry in left):
            return None
        loc = parse_url(folder).as_folder()
        names = self._service_for(loc).base_names(DeltaSpace(loc.bucket, loc.prefix))
        done: DeleteResult | None = None
        for name in names:  # dependents first: a base goes only once nothing needs it
            try:
                result = self.delete(folder + name)
            except NotFoundError:
                continue
            if done is None:
                done = result
            else:
                done.deleted.extend(result.deleted)
                done.warnings.extend(result.warnings)
        if done is not None:
            # Callers name the folder's reference first.
            done.deleted.sort(key=lambda key: key.rpartition("/")[2] != REFERENCE_NAME)
        return done

    def remove_unused_bases(
        self, folder_url: str, *, recursive: bool = False, dry_run: bool = False
    ) -> DeleteResult:
        """Removes the folder's bases (``reference.bin`` and the further bases of a drifting family)
        that no file stored there needs any more, as after removing files by name; with
        ``recursive``, in every folder below it too, those left with no file at all included. A
        base that a delta still needs, or that an upload chooses meanwhile, stays. ``dry_run``
        removes nothing and lists what would go."""
        loc = parse_url(folder_url).as_folder()
        service = self._service_for(loc)
        top = DeltaSpace(loc.bucket, loc.prefix)
        spaces = service.delta_spaces(top) if recursive else [top]
        done = DeleteResult(bucket=loc.bucket, key=loc.key)
        for space in spaces:
            collected = service.collect_bases(space, dry_run=dry_run)
            done.deleted.extend(collected.bases_removed)
            done.warnings.extend(collected.warnings)
        return done

    def _remove_seen(self, url: str) -> DeleteResult | None:
        """``sync --delete``'s removal: the stored file as a HEAD finds it now; None when its name is
        written or removed before the removal (a newer version is not the one judged)."""
        loc = _object(url)
        return self._service_for(loc).remove_seen(ObjectKey(loc.bucket, loc.key))

    def head(self, url: str) -> StoredObject:
        """What is recorded about a stored file, without downloading it: original and stored size,
        SHA-256, whether it is a delta. Raises ``NotFoundError`` when there is no such file."""
        loc = _object(url)
        return self._service_for(loc).head(ObjectKey(loc.bucket, loc.key))

    def upload_many(
        self,
        items: Iterable[tuple[str | Path, str]],
        *,
        workers: int = DEFAULT_WORKERS,
        progress: ProgressCallback | None = None,
        max_ratio: float | None = None,
        executor: Executor | None = None,
    ) -> builtins.list[Outcome[UploadSummary]]:
        """Uploads ``(file, url)`` pairs (as :meth:`upload`) on ``workers`` threads and returns one
        outcome per pair, in input order (``.ok``, ``.result``, ``.error``, ``.unwrap()``): a failed
        file does not stop the others. One client serves any number of threads, writes included;
        concurrent encodes share one memory budget. ``progress`` gets the bytes moved, one call at a
        time.

        ``executor`` (any ``concurrent.futures.Executor``: a process pool, a Dask cluster's) runs the
        uploads there instead, each worker building its own client (``deltaglider.bulk``); the files
        must be readable at the same paths on the workers, and ``progress`` hears each file's bytes
        once it is stored."""
        todo = list(items)
        if executor is not None:
            steps = [
                Step("upload", os.fspath(file), _stored_name(file, url), name=Path(file).name)
                for file, url in todo
            ]
            return self._outcomes(executor, steps, progress, max_ratio, lambda end: end.upload)
        stop = Cancellation()
        report = stop.checked(serialised(progress))
        # Each new folder's first release (in version order) goes first, alone: it becomes the
        # folder's reference, whichever thread would have won.
        turns = seed_indexes([_stored_name(file, url) for file, url in todo])
        return run_in_turns(
            todo,
            lambda item: self.upload(item[0], item[1], max_ratio=max_ratio, progress=report),
            turns,
            workers=workers,
            cancellation=stop,
        )

    def download_many(
        self,
        items: Iterable[tuple[str, str | Path]],
        *,
        workers: int = DEFAULT_WORKERS,
        progress: ProgressCallback | None = None,
        executor: Executor | None = None,
    ) -> builtins.list[Outcome[GetSummary]]:
        """Downloads ``(url, output_path)`` pairs on ``workers`` threads, as :meth:`upload_many`
        (``executor`` too: each file is written on the worker that downloads it)."""
        if executor is not None:
            steps = [
                Step("download", url, os.fspath(path), name=Place(url, True).name) for url, path in items
            ]
            return self._outcomes(executor, steps, progress, None, lambda end: end.download)
        stop = Cancellation()
        report = stop.checked(serialised(progress))
        return run_all(
            list(items),
            lambda item: self.download(item[0], item[1], progress=report),
            workers=workers,
            cancellation=stop,
        )

    def _outcomes(
        self,
        executor: Executor,
        steps: builtins.list[Step],
        progress: ProgressCallback | None,
        max_ratio: float | None,
        result: Callable[[Done], Any],
    ) -> builtins.list[Outcome[Any]]:
        """``steps`` run on ``executor``, as outcomes in their order."""

        def told(event: Event) -> None:
            if progress is not None and isinstance(event, Moved):
                progress(event.nbytes)

        runner = self._runner(executor)
        assert runner is not None
        ends = runner(steps, emit=told, max_ratio=max_ratio)
        return [
            Outcome(i, result=result(end)) if isinstance(end, Done) else Outcome(i, error=end.error)
            for i, end in enumerate(ends)
        ]

    def retain(
        self,
        folder_url: str,
        *,
        keep_last: int | None = None,
        keep_within: timedelta | None = None,
        dry_run: bool = False,
        order: Literal["modified", "version"] = "modified",
        recursive: bool = False,
        executor: Executor | None = None,
        workers: int = DEFAULT_WORKERS,
        keep_versions: int | None = None,
    ) -> RetentionResult:
        """Keeps a folder's ``keep_last`` newest files and/or those stored within ``keep_within``
        (either rule keeps a file), removes the rest, and the bases no kept file needs any more.
        The newest are those whose file was modified last before its upload (its upload time
        breaking ties); with ``order="version"``, those whose names hold the highest versions
        (``app-1.10.zip`` after ``app-1.9.zip``). A file written again since it was listed stays.
        ``dry_run`` changes nothing and reports what would go, with the bytes freed.

        ``recursive`` keeps every folder below too, each by the same rules on its own (names in the
        result are then relative to ``folder_url``), one folder at a time on each of ``workers``
        threads, or as jobs on ``executor`` (``deltaglider.bulk``).

        Names' histories (``create_client(keep_history=True)``): ``keep_versions`` keeps each name's
        newest versions (its current one counting as one), and ``keep_within`` those uploaded within
        it too; either rule keeps a version, and the result's ``versions_removed`` lists the others
        (``name@version_id``). A file removed takes its history with it. With ``keep_versions`` alone,
        every file stays."""
        if order not in ("modified", "version"):
            raise ValueError(f"order must be 'modified' or 'version', not {order!r}")
        if recursive or executor is not None:
            from deltaglider.bulk import spaces

            return spaces.retain(
                self,
                folder_url,
                keep_last=keep_last,
                keep_within=keep_within,
                dry_run=dry_run,
                order=order,
                recursive=recursive,
                executor=executor,
                workers=workers,
                keep_versions=keep_versions,
            )
        loc = parse_url(folder_url).as_folder()
        return self._service_for(loc).retain(
            DeltaSpace(loc.bucket, loc.prefix),
            keep_last=keep_last,
            keep_within=keep_within,
            dry_run=dry_run,
            name_order=version_key if order == "version" else None,
            keep_versions=keep_versions,
        )

    def repack(
        self,
        folder_url: str,
        *,
        dry_run: bool = False,
        recursive: bool = False,
        executor: Executor | None = None,
        workers: int = DEFAULT_WORKERS,
    ) -> RepackResult:
        """Re-encodes a folder's files against better bases (for families stored before bases
        existed, or by the original DeltaGlider: it cannot read the result), verifying each before its
        old form goes; then removes the bases nothing needs. ``dry_run`` lists the files only.
        ``recursive`` re-packs every folder below too (names relative to ``folder_url``), one folder
        at a time on each of ``workers`` threads, or as jobs on ``executor``."""
        if recursive or executor is not None:
            from deltaglider.bulk import spaces

            return spaces.repack(
                self, folder_url, dry_run=dry_run, recursive=recursive, executor=executor, workers=workers
            )
        loc = parse_url(folder_url).as_folder()
        return self._service_for(loc).repack(DeltaSpace(loc.bucket, loc.prefix), dry_run=dry_run)

    def stats(self, url: str, *, recursive: bool = True, executor: Executor | None = None) -> StatsSummary:
        """Totals for everything under a folder (its sub-folders too unless ``recursive`` is False):
        files, original and stored bytes, the references' bytes. ``executor``: the folder's own
        objects and each sub-folder are counted as jobs there (``deltaglider.bulk``)."""
        if executor is not None and recursive:
            from deltaglider.bulk import spaces

            return spaces.stats(self, url, executor=executor)
        loc = parse_url(url).as_folder()
        return self._service_for(loc).stats(DeltaSpace(loc.bucket, loc.prefix), recursive=recursive)

    def cleanup(self, url: str, *, older_than: timedelta = DEFAULT_CLEANUP_AGE) -> builtins.list[str]:
        """Removes what interrupted transfers left under a folder, recursively, if older than
        ``older_than``: on a local store the temporary files of killed writers and downloads (and it
        finishes the rollback of a write killed half-way); on S3 the pending multipart uploads, which
        are invisible but billed. Returns one line per thing removed."""
        if older_than < timedelta(0):
            raise ValueError(f"older_than must not be negative, not {older_than}")
        loc = parse_url(url).as_folder()
        removed = self._service_for(loc).storage.cleanup(loc.bucket, loc.key, older_than)
        # This machine's scratch folders of killed operations (the store cannot see them).
        return removed + [f"scratch folder {path}" for path in scratch.sweep(older_than=older_than)]

    def lifecycle_policy(
        self,
        s3_prefix: str,
        days_before_archive: int | None = 30,
        days_before_delete: int | None = 90,
        *,
        archive_class: str = "GLACIER",
    ) -> None:
        """Sets a lifecycle rule on the bucket for the folder ``s3_prefix``: files and deltas stored
        there (by this SDK, which tags them ``dg-kind=file``) move to ``archive_class`` after
        ``days_before_archive`` days and are removed after ``days_before_delete`` (None: no such
        step). The folder's ``reference.bin`` is never archived nor removed, as every delta needs it.

        The bucket's other rules are kept; a rule set before for the same folder is replaced. S3
        only: a local folder raises ``StorageError``."""
        loc = parse_url(s3_prefix).as_folder()
        rule = _lifecycle_rule(loc.key, days_before_archive, days_before_delete, archive_class)
        self._service_for(loc).storage.set_lifecycle_rule(loc.bucket, rule)

    def copy(
        self,
        source: str | os.PathLike[str] | Place,
        destination: str | os.PathLike[str] | Place,
        *,
        dry_run: bool = False,
        max_ratio: float | None = None,
        on_event: EventCallback | None = None,
    ) -> TreeResult:
        """Copies one file to, from or between stores, as ``aws s3 cp``: a location that is not an
        ``s3://`` or ``file://`` URL is your own file (at least one side must be a store); ``-`` is
        standard input (the stored name is then required) or standard output (written once the
        file's SHA-256 matched). A destination folder (ending in ``/``, or a local folder) keeps the
        file's name. ``IsADirectoryError`` for a source folder: see :meth:`copy_tree`. ``on_event``
        hears each step as it goes (``trees.Planned``, ``Started``, ``Moved``, ``Done``, ``Failed``);
        a failure is in the result, not raised; ``dry_run`` only plans."""
        return trees.copy(
            self,
            Place.of(source),
            Place.of(destination),
            dry_run=dry_run,
            max_ratio=max_ratio,
            on_event=on_event,
        )

    def copy_tree(
        self,
        source: str | os.PathLike[str] | Place,
        destination: str | os.PathLike[str] | Place,
        *,
        rules: Sequence[FilterRule] = (),
        dry_run: bool = False,
        workers: int = DEFAULT_WORKERS,
        max_ratio: float | None = None,
        on_event: EventCallback | None = None,
        executor: Executor | None = None,
    ) -> TreeResult:
        """Copies every file under the folder ``source`` that ``rules`` let through into the folder
        ``destination``, on ``workers`` threads, each folder's first release (in version order) first
        so that it becomes the folder's reference. Locations, events and failures as for
        :meth:`copy`; ``rules`` as for :meth:`sync`; ``executor`` as for :meth:`sync`."""
        return trees.copy_tree(
            self,
            Place.of(source),
            Place.of(destination),
            rules=rules,
            dry_run=dry_run,
            workers=workers,
            max_ratio=max_ratio,
            on_event=on_event,
            run=self._runner(executor),
        )

    def remove_tree(
        self,
        url: str | Place,
        *,
        rules: Sequence[FilterRule] = (),
        dry_run: bool = False,
        on_event: EventCallback | None = None,
    ) -> TreeResult:
        """Removes every stored file under the folder ``url`` that ``rules`` let through, whole files
        before deltas; then, when all went, the bases no file left there or below needs. ``dry_run``
        plans the files and the references that would go with them."""
        return trees.remove_tree(self, Place.of(url), rules=rules, dry_run=dry_run, on_event=on_event)

    def sync(
        self,
        source: str | os.PathLike[str] | Place,
        destination: str | os.PathLike[str] | Place,
        *,
        delete: bool = False,
        size_only: bool = False,
        rules: Sequence[FilterRule] = (),
        dry_run: bool = False,
        workers: int = DEFAULT_WORKERS,
        max_ratio: float | None = None,
        on_event: EventCallback | None = None,
        executor: Executor | None = None,
    ) -> TreeResult:
        """Makes ``destination`` hold what ``source`` holds, copying only what differs (by size, then
        by the SHA-256 recorded in each stored object), as ``aws s3 sync``. Here a location that is
        not an ``s3://`` or ``file://`` URL is your own folder; at least one side must be a store.
        ``delete`` removes what only the destination has, each file as it finds it (never a version
        written after), then the bases no file left needs; ``rules`` are ordered
        ``FilterRule("include"|"exclude", pattern)``, the last match winning; ``dry_run`` only plans.
        Events and failures as for :meth:`copy`; a name left alone is reported as ``trees.Skipped``.

        ``executor`` (any ``concurrent.futures.Executor``: a process pool, a Dask cluster's) runs the
        copies there, cut into tasks by folder, each folder's first release first; the plan (listings,
        comparisons) and the removals stay here. Local files must be at the same paths on the workers.
        See ``docs/bulk.md``."""
        return trees.sync(
            self,
            Place.of(source),
            Place.of(destination),
            delete=delete,
            size_only=size_only,
            rules=rules,
            dry_run=dry_run,
            workers=workers,
            max_ratio=max_ratio,
            on_event=on_event,
            run=self._runner(executor),
        )

    def migrate(
        self,
        source: str | Place,
        destination: str | Place,
        *,
        preserve_prefix: bool = True,
        dry_run: bool = False,
        confirm: Callable[[TreeResult], bool] | None = None,
        rules: Sequence[FilterRule] = (),
        workers: int = DEFAULT_WORKERS,
        max_ratio: float | None = None,
        on_event: EventCallback | None = None,
        executor: Executor | None = None,
    ) -> TreeResult:
        """Copies what the store folder ``source`` holds into the store folder ``destination``, as
        the original DeltaGlider's ``migrate``: into ``destination/<source's folder name>/`` unless
        ``preserve_prefix`` is False; a file already there with the same SHA-256 is skipped, so a
        rerun resumes. A file the source holds whole, new at the destination in the same store, is
        copied inside the store (S3: CopyObject); the others are stored as uploads are.
        ``dry_run`` plans only; ``confirm`` sees the plan and may stop it (see
        :mod:`deltaglider.migrate`); ``executor`` runs the copies that move bytes, as for :meth:`sync`."""
        return migrate.migrate(
            self,
            Place.of(source),
            Place.of(destination),
            preserve_prefix=preserve_prefix,
            dry_run=dry_run,
            confirm=confirm,
            rules=rules,
            workers=workers,
            max_ratio=max_ratio,
            on_event=on_event,
            run=self._runner(executor),
        )

    def list_with_stats(
        self, url: str, *, recursive: bool = False
    ) -> tuple[builtins.list[ListEntry], StatsSummary]:
        """What :meth:`list` and :meth:`stats` say of one folder (its sub-folders too with
        ``recursive``), from one listing and at most one HEAD of each object: the totals are those of
        the very objects listed."""
        loc = parse_url(url).as_folder()
        service = self._service_for(loc)
        # Every read of the store but the two its methods name goes through to it unchanged.
        reads = service.with_storage(cast(StoragePort, ReadOnce(service.storage)))
        space = DeltaSpace(loc.bucket, loc.prefix)
        entries = builtins.list(reads.list(space, recursive=recursive))
        return entries, reads.stats(space, recursive=recursive)

    def verify_tree(
        self,
        url: str | Place,
        *,
        rules: Sequence[FilterRule] = (),
        workers: int = DEFAULT_WORKERS,
        on_event: EventCallback | None = None,
        executor: Executor | None = None,
    ) -> TreeResult:
        """Checks every stored file under the folder ``url`` (ending in ``/``) that ``rules`` let
        through, or the one file ``url`` names, as :meth:`verify`, on ``workers`` threads. Each
        ``trees.Done`` record says ``valid`` (None, with a ``detail``, for a file with no SHA-256
        recorded); a file that could not be checked at all is a ``trees.Failed``. ``executor`` checks
        them there instead, as tasks of a few files of one folder each (``deltaglider.bulk``)."""
        return trees.verify_tree(
            self, Place.of(url), rules=rules, workers=workers, on_event=on_event, run=self._runner(executor)
        )
