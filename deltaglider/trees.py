"""Many files at once, each side a :class:`~deltaglider.urls.Place`: a copy of one file or of a folder
tree, the removal or the check of a stored tree, and sync. The client's ``copy``, ``copy_tree``,
``remove_tree``, ``verify_tree`` and ``sync`` run these; the command line only prints what they report.

The plans are :mod:`deltaglider.batch`'s (filters, seeds-first order, sync decisions), so every rule can
be tested without a store. The work goes through the client's own methods, which this module knows
only as the :class:`Operations` protocol: it imports nothing above it.

What happens is told as it happens through one callback of typed events (:data:`Event`): each step is
:class:`Planned`, then :class:`Started`, :class:`Moved` some bytes, and :class:`Done` or
:class:`Failed`; a name sync leaves alone is :class:`Skipped`. The callback is called one event at a
time whatever the workers, so it needs no lock of its own. A failed step does not stop the others; the
result collects them.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TypeAlias
from urllib.parse import unquote

from deltaglider.atomic import copy_into
from deltaglider.batch import (
    DigestOf,
    FilterRule,
    Item,
    SyncAction,
    SyncDecision,
    digest_candidates,
    folder_of,
    plan_removal,
    plan_sync,
    seed_indexes,
    select,
)
from deltaglider.core import scratch
from deltaglider.core.format.layout import REFERENCE_NAME
from deltaglider.core.models import DeleteResult, GetSummary, ListEntry, StoredObject
from deltaglider.core.transfer import Cancellation, run_in_turns
from deltaglider.errors import DeltaGliderError, NotFoundError, NotVerifiableError, StorageError
from deltaglider.ports.storage import ProgressCallback
from deltaglider.urls import STDIO, Place, parse_url, safe_join

_HASH_CHUNK = 1 << 20
#: Standard input, opened by name so that the upload reads it once into its private copy. A pipe or a
#: terminal is read to its end; a file given with ``<`` is read from its start.
_STDIN = Path("/dev/stdin")
#: Standard output, by descriptor: a caller that points ``sys.stdout`` elsewhere for its report (as
#: the command line does) still gets the file on the process's own.
_STDOUT_FD = 1


class Uploaded(Protocol):
    """What an upload reports (the client's ``UploadSummary``)."""

    @property
    def operation(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def original_size(self) -> int: ...
    @property
    def stored_size(self) -> int: ...
    @property
    def is_delta(self) -> bool: ...
    @property
    def reason(self) -> str: ...


class Operations(Protocol):
    """The single-file operations the trees are made of: the client's."""

    def upload(
        self,
        file_path: str | Path,
        s3_url: str,
        *,
        name: str | None = ...,
        max_ratio: float | None = ...,
        progress: ProgressCallback | None = ...,
    ) -> Uploaded: ...

    def download(
        self, s3_url: str, output_path: str | Path, *, progress: ProgressCallback | None = ...
    ) -> GetSummary: ...

    def list(self, url: str, *, recursive: bool = ...) -> Iterable[ListEntry]: ...

    def head(self, url: str) -> StoredObject: ...

    def verify(self, s3_url: str) -> bool: ...

    def delete(self, url: str) -> DeleteResult: ...

    def _remove_seen(self, url: str) -> DeleteResult | None: ...

    def _remove_histories(self, folder_url: str) -> DeleteResult: ...

    def remove_unused_bases(self, folder_url: str, *, recursive: bool = ...) -> DeleteResult: ...


StepAction = Literal["upload", "download", "copy", "delete", "verify"]


@dataclass(frozen=True)
class Step:
    """One planned file operation. Locations are as the caller names them: ``source`` is where the
    bytes come from (``-`` for standard input), or what a removal removes or a check checks;
    ``destination`` is where they go (``-`` for standard output; empty for a removal or a check)."""

    action: StepAction
    source: str
    destination: str = ""
    name: str = ""  # relative to the tree's folder, ``/``-separated (a single file's own name)
    size: int | None = None  # the bytes to move, when known ahead
    reason: str = ""  # why sync chose it
    #: For a download into a tree: the local folder that ``name`` must stay inside (a stored name such
    #: as ``../x`` fails on its own, as one file of the batch).
    within: str = ""


@dataclass(frozen=True)
class Planned:
    step: Step


@dataclass(frozen=True)
class Skipped:
    """A name sync leaves as it is: the destination already holds these bytes."""

    name: str
    reason: str
    size: int | None = None


@dataclass(frozen=True)
class Started:
    step: Step


@dataclass(frozen=True)
class Moved:
    """Bytes a running step reported (stored bytes, a base fetched on the way: not only the file's)."""

    step: Step
    nbytes: int


@dataclass(frozen=True)
class Done:
    step: Step
    upload: Uploaded | None = None  # an upload's or a copy's summary
    download: GetSummary | None = None
    removed: tuple[str, ...] = ()  # a removal's locations, as the caller names them
    keys: tuple[str, ...] = ()  # a removal's stored keys
    #: A check's verdict: the file rebuilds to its recorded SHA-256 (True) or not (False); None when
    #: it has no SHA-256 recorded to check against (``detail`` says why).
    valid: bool | None = None
    detail: str = ""
    #: The process that did the step (``host:pid``), when a batch ran on an executor (``deltaglider.bulk``);
    #: empty on the caller's own threads.
    where: str = ""


@dataclass(frozen=True)
class Failed:
    step: Step
    error: Exception

    @property
    def message(self) -> str:
        """The error, naming the file: the library's errors already do, a bare ``OSError`` may not."""
        if isinstance(self.error, DeltaGliderError) or self.step.action == "delete":
            return str(self.error)
        return f"{self.step.source}: {self.error}"


Event: TypeAlias = Planned | Skipped | Started | Moved | Done | Failed
EventCallback: TypeAlias = Callable[[Event], None]
Ended: TypeAlias = Done | Failed


class StepRunner(Protocol):
    """Runs a batch's transfer steps and returns their ends in the steps' order, telling each step's
    events to ``emit``: :func:`run_steps` on the caller's threads, or an executor's
    (``deltaglider.bulk.run.ExecutorRunner``)."""

    def __call__(
        self, steps: Sequence[Step], *, emit: EventCallback, max_ratio: float | None
    ) -> list[Ended]: ...


@dataclass
class TreeResult:
    """What a copy, a removal or a sync planned and what became of each step."""

    planned: list[Step]
    ended: list[Ended] = field(default_factory=list)  # transfers in plan order, then removals
    skipped: list[Skipped] = field(default_factory=list)
    decisions: list[SyncDecision] = field(default_factory=list)  # a sync's, one per name in name order
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not any(isinstance(end, Failed) for end in self.ended)

    @property
    def copied(self) -> list[str]:
        """The names copied (uploaded, downloaded, copied store to store)."""
        moves = ("upload", "download", "copy")
        return [e.step.name for e in self.ended if isinstance(e, Done) and e.step.action in moves]

    @property
    def deleted(self) -> list[str]:
        """The stored keys removed (local paths for a local folder)."""
        return [item for e in self.ended if isinstance(e, Done) for item in (e.keys or e.removed)]

    @property
    def failed(self) -> dict[str, str]:
        """Name (or location) -> why."""
        return {e.step.name or e.step.source: e.message for e in self.ended if isinstance(e, Failed)}


class _Emitter:
    """The caller's callback, one event at a time."""

    def __init__(self, callback: EventCallback | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if self._callback is not None:
            with self._lock:
                self._callback(event)


# --- what each side holds ---------------------------------------------------------------------------


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


def store_items(ops: Operations, folder: Place) -> list[Item]:
    """The files stored under a folder, recursively, by name relative to it."""
    return sorted(
        (
            Item(entry.name, entry.original_size, is_delta=entry.is_delta)
            for entry in ops.list(folder.as_folder().text, recursive=True)
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


def _items(ops: Operations, side: Place, *, missing_ok: bool) -> list[Item]:
    if not side.is_store:
        folder = Path(side.text)
        if not folder.is_dir():
            if missing_ok:
                return []
            raise FileNotFoundError(f"{side.text}: no such folder")
        return local_items(folder)
    try:
        return store_items(ops, side)
    except NotFoundError:
        # A folder store not made yet is an empty destination; a missing bucket is not.
        if missing_ok and side.is_file_url:
            return []
        raise


def _digest(ops: Operations, side: Place) -> DigestOf:
    if side.is_store:

        def stored(name: str) -> str | None:
            try:
                return ops.head(side.child(name)).sha256
            except NotFoundError:
                return None

        return stored
    return lambda name: sha256_file(side.path(name))


def _prefetched(digest: DigestOf, names: list[str], workers: int) -> DigestOf:
    """``digest`` with the answers for ``names`` fetched ahead on ``workers`` threads: one HEAD or one
    file hash each, which in a row would cost a round trip or a read per file."""
    if len(names) < 2 or workers < 2:
        return digest
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deltaglider-digest") as pool:
        known = dict(zip(names, pool.map(digest, names), strict=True))
    return lambda name: known[name] if name in known else digest(name)


# --- plans ------------------------------------------------------------------------------------------


def _both_local(src: Place, dst: Place) -> None:
    if not src.is_store and not dst.is_store:
        raise ValueError("one of source and destination must be a store (s3://... or file://...)")


def plan_copy(src: Place, dst: Place) -> Step:
    """The one step that copies a file; a destination folder (ending in ``/``, or a local folder)
    keeps the file's name. ``IsADirectoryError`` for a source folder (see :func:`plan_copy_tree`)."""
    _both_local(src, dst)
    if src.is_stdio:
        if dst.is_folder or dst.is_stdio:
            raise ValueError(f"standard input has no name: give the stored file's, as in {dst.child('NAME')}")
        return Step("upload", STDIO, dst.text, name=dst.name)
    if src.is_folder or (not src.is_store and Path(src.text).is_dir()):
        raise IsADirectoryError(f"{src.text} is a folder: copy what it holds as a tree")
    if dst.is_stdio:
        return Step("download", src.text, STDIO, name=src.name)
    if not src.is_store:
        path = Path(src.text)
        if not path.is_file():
            raise FileNotFoundError(f"{src.text}: no such file")
        target = dst.child(path.name) if dst.is_folder else dst.text
        return Step("upload", str(path), target, name=path.name, size=path.stat().st_size)
    if dst.is_store:
        return Step("copy", src.text, dst.child(src.name) if dst.is_folder else dst.text, name=src.name)
    into = dst.is_folder or Path(dst.text).is_dir()
    target = str(safe_join(Path(dst.text), src.name)) if into else dst.text
    return Step("download", src.text, target, name=src.name)


def plan_copy_tree(ops: Operations, src: Place, dst: Place, rules: Sequence[FilterRule] = ()) -> list[Step]:
    """One step per file under ``src`` that the rules let through, by name."""
    _both_local(src, dst)
    dst = dst.as_folder()
    if not src.is_store:
        folder = Path(src.text)
        if not folder.is_dir():
            raise FileNotFoundError(f"{src.text}: no such folder")
        return [
            Step("upload", str(folder / i.name), dst.child(i.name), i.name, i.size)
            for i in select(local_items(folder), rules)
        ]
    return [_fetch_step(src.as_folder(), dst, i.name, i.size) for i in select(store_items(ops, src), rules)]


def _fetch_step(src: Place, dst: Place, name: str, size: int | None, reason: str = "") -> Step:
    """A stored file to the other side: store to store, or down into a local folder."""
    if dst.is_store:
        return Step("copy", src.child(name), dst.child(name), name, size, reason)
    return Step("download", src.child(name), str(Path(dst.text) / name), name, size, reason, within=dst.text)


def _sync_step(src: Place, dst: Place, decision: SyncDecision) -> Step:
    name, size, reason = decision.name, decision.size, decision.reason
    if decision.action is SyncAction.DELETE:
        return Step("delete", dst.child(name), "", name, size, reason)
    if not src.is_store:
        return Step("upload", str(src.path(name)), dst.child(name), name, size, reason)
    return _fetch_step(src, dst, name, size, reason)


# --- running ----------------------------------------------------------------------------------------


def written_name(step: Step) -> str | None:
    """What a step writes to a store, as ``folder/name`` (``file://`` URLs unquoted), for the order of
    a batch's writes; None for a download."""
    if step.action not in ("upload", "copy"):
        return None
    return unquote(step.destination) if step.destination.lower().startswith("file:") else step.destination


def _store(
    ops: Operations, file: Path, step: Step, report: ProgressCallback, max_ratio: float | None
) -> Done:
    """Uploads ``file`` to the step's destination, a stored file's location: its folder and its name."""
    target = Place(step.destination, is_store=True)
    summary = ops.upload(file, target.parent.text, name=target.name, max_ratio=max_ratio, progress=report)
    return Done(step, upload=summary)


def _perform(ops: Operations, step: Step, report: ProgressCallback, max_ratio: float | None) -> Done:
    if step.action == "verify":
        try:
            return Done(step, valid=ops.verify(step.source))
        except NotVerifiableError as exc:
            return Done(step, valid=None, detail=str(exc))
    if step.action == "upload":
        return _store(ops, _STDIN if step.source == STDIO else Path(step.source), step, report, max_ratio)
    if step.action == "download":
        if step.destination == STDIO:
            # Downloaded and checked in a private folder first: standard output may be a pipe, a file or
            # a terminal, and none of them can take back bytes that then fail their SHA-256.
            with scratch.temporary() as folder:
                got = ops.download(step.source, folder / "file", progress=report)
                copy_into(got.path, _STDOUT_FD)
            return Done(step, download=got)
        target = safe_join(Path(step.within), step.name) if step.within else Path(step.destination)
        return Done(step, download=ops.download(step.source, target, progress=report))
    if step.action == "copy":
        # One of the library's scratch folders, so that a killed copy's is swept as theirs are.
        with scratch.temporary() as folder:
            local = folder / (Place.of(step.source).name or "object")
            ops.download(step.source, local, progress=report)
            return _store(ops, local, step, report, max_ratio)
    raise ValueError(f"not a transfer: {step.action}")


def perform_step(
    ops: Operations, step: Step, report: ProgressCallback, max_ratio: float | None = None
) -> Ended:
    """One transfer step, its failure returned as :class:`Failed` (an interruption is raised)."""
    try:
        return _perform(ops, step, report, max_ratio)
    except Exception as exc:
        return Failed(step, exc)


def run_steps(
    ops: Operations,
    steps: Sequence[Step],
    *,
    workers: int,
    emit: EventCallback,
    max_ratio: float | None = None,
) -> list[Ended]:
    """Every transfer step, ``workers`` at a time, the first write of each folder (in version order)
    before the others of that folder, so that a new DeltaSpace's reference is its oldest release, not
    whichever thread won; the ends in the steps' order.

    Interrupted (Ctrl-C in the waiting thread), the batch stops: steps not started never start, running
    ones stop at their next block (leaving nothing half written), and ``KeyboardInterrupt`` is raised
    once they have."""
    stop = Cancellation()

    def work(step: Step) -> Ended:
        emit(Started(step))
        end = perform_step(ops, step, stop.checked(lambda n: emit(Moved(step, n))), max_ratio)
        emit(end)
        return end

    turns = seed_indexes([written_name(step) for step in steps])
    outcomes = run_in_turns(list(steps), work, turns, workers=workers, cancellation=stop)
    return [outcome.unwrap() for outcome in outcomes]


def on_threads(ops: Operations, workers: int, run: StepRunner | None = None) -> StepRunner:
    """``run`` if given, else :func:`run_steps` on ``workers`` of the caller's threads."""
    if run is not None:
        return run

    def threads(steps: Sequence[Step], *, emit: EventCallback, max_ratio: float | None) -> list[Ended]:
        return run_steps(ops, steps, workers=workers, emit=emit, max_ratio=max_ratio)

    return threads


def copy(
    ops: Operations,
    src: Place,
    dst: Place,
    *,
    dry_run: bool = False,
    max_ratio: float | None = None,
    on_event: EventCallback | None = None,
) -> TreeResult:
    return _transfer(
        ops, [plan_copy(src, dst)], workers=1, dry_run=dry_run, max_ratio=max_ratio, on_event=on_event
    )


def copy_tree(
    ops: Operations,
    src: Place,
    dst: Place,
    *,
    rules: Sequence[FilterRule] = (),
    dry_run: bool = False,
    workers: int,
    max_ratio: float | None = None,
    on_event: EventCallback | None = None,
    run: StepRunner | None = None,
) -> TreeResult:
    steps = plan_copy_tree(ops, src, dst, rules)
    return _transfer(
        ops, steps, workers=workers, dry_run=dry_run, max_ratio=max_ratio, on_event=on_event, run=run
    )


def _transfer(
    ops: Operations,
    steps: list[Step],
    *,
    workers: int,
    dry_run: bool,
    max_ratio: float | None,
    on_event: EventCallback | None,
    run: StepRunner | None = None,
) -> TreeResult:
    emit = _Emitter(on_event)
    for step in steps:
        emit(Planned(step))
    result = TreeResult(steps, dry_run=dry_run)
    if not dry_run:
        result.ended = on_threads(ops, workers, run)(steps, emit=emit, max_ratio=max_ratio)
    return result


def sync(
    ops: Operations,
    src: Place,
    dst: Place,
    *,
    delete: bool = False,
    size_only: bool = False,
    rules: Sequence[FilterRule] = (),
    dry_run: bool = False,
    workers: int,
    max_ratio: float | None = None,
    on_event: EventCallback | None = None,
    run: StepRunner | None = None,
) -> TreeResult:
    """Makes the folder ``dst`` hold what the folder ``src`` holds, copying only what differs (by size,
    then by SHA-256); with ``delete``, removes what only ``dst`` has, each file as it is found now
    (never a version written after the listing), then the bases no file left needs."""
    src, dst = src.as_folder(), dst.as_folder()
    _both_local(src, dst)
    sources = _items(ops, src, missing_ok=False)
    dests = _items(ops, dst, missing_ok=True)
    compared = digest_candidates(sources, dests, rules=rules, size_only=size_only)
    decisions = plan_sync(
        sources,
        dests,
        rules=rules,
        delete=delete,
        size_only=size_only,
        source_sha256=_prefetched(_digest(ops, src), compared, workers),
        dest_sha256=_prefetched(_digest(ops, dst), compared, workers),
    )
    copies = [_sync_step(src, dst, d) for d in decisions if d.action is SyncAction.COPY]
    deletions = [_sync_step(src, dst, d) for d in decisions if d.action is SyncAction.DELETE]
    emit = _Emitter(on_event)
    result = TreeResult(copies + deletions, decisions=decisions, dry_run=dry_run)
    for step in result.planned:
        emit(Planned(step))
    for decision in decisions:
        if decision.action is SyncAction.SKIP:
            skipped = Skipped(decision.name, decision.reason, decision.size)
            result.skipped.append(skipped)
            emit(skipped)
    if dry_run:
        return result
    result.ended = on_threads(ops, workers, run)(copies, emit=emit, max_ratio=max_ratio)
    removals = _Removals(ops, emit, result)
    # One at a time, after the copies; then the bases of the folders left without their files.
    for step in deletions:
        if dst.is_store:
            removals.remove(step, seen_only=True)
        else:
            removals.unlink(dst, step)
    if dst.is_store and deletions and removals.all_ok:
        for folder in sorted({folder_of(step.name) for step in deletions}):
            removals.unused_bases(Place(dst.child(folder + "/") if folder else dst.text, True), folder)
    removals.finish()
    return result


def remove_tree(
    ops: Operations,
    folder: Place,
    *,
    rules: Sequence[FilterRule] = (),
    dry_run: bool = False,
    on_event: EventCallback | None = None,
) -> TreeResult:
    """Removes every stored file under ``folder`` that the rules let through, one at a time, whole files
    before deltas; then, when every one went, the bases that no file left there (or below) needs."""
    folder = folder.as_folder()
    plan = plan_removal(store_items(ops, folder), rules)
    steps = [Step("delete", folder.child(name), name=name) for name in plan.names]
    references = [
        Step("delete", folder.child(f"{sub}/{REFERENCE_NAME}" if sub else REFERENCE_NAME), name=sub)
        for sub in plan.reference_folders
    ]
    emit = _Emitter(on_event)
    result = TreeResult(steps + references if dry_run else steps, dry_run=dry_run)
    for step in result.planned:
        emit(Planned(step))
    if dry_run:
        return result
    removals = _Removals(ops, emit, result)
    for step in steps:
        removals.remove(step, seen_only=False)
    if removals.all_ok and not rules:
        # Everything under the folder goes: the histories of names deleted before as well.
        removals.histories(folder)
    if removals.all_ok:
        # Every folder below too, those whose files are all gone included.
        removals.unused_bases(folder, "", recursive=True)
    removals.finish()
    return result


def verify_tree(
    ops: Operations,
    target: Place,
    *,
    rules: Sequence[FilterRule] = (),
    workers: int,
    on_event: EventCallback | None = None,
    run: StepRunner | None = None,
) -> TreeResult:
    """Checks every stored file under the folder ``target`` that the rules let through (or the one
    file ``target`` names) against its recorded SHA-256, ``workers`` at a time."""
    if target.is_folder:
        items = select(store_items(ops, target), rules)
        steps = [Step("verify", target.child(i.name), name=i.name, size=i.size) for i in items]
    else:
        steps = [Step("verify", target.text, name=target.name)]
    return _transfer(ops, steps, workers=workers, dry_run=False, max_ratio=None, on_event=on_event, run=run)


class _Removals:
    """Removes files one at a time into a result, and what no file left needs after them."""

    def __init__(self, ops: Operations, emit: EventCallback, result: TreeResult) -> None:
        self._ops = ops
        self._emit = emit
        self._result = result
        self._warnings: list[str] = []
        self.all_ok = True

    def _end(self, end: Ended) -> None:
        self._result.ended.append(end)
        if isinstance(end, Failed):
            self.all_ok = False
        self._emit(end)

    def remove(self, step: Step, *, seen_only: bool) -> None:
        self._emit(Started(step))
        try:
            url = step.source
            if seen_only:
                # The version listed (as a HEAD finds it now), never one written since.
                done = self._ops._remove_seen(url)
                if done is None:
                    raise StorageError(f"{url} was written or removed since it was listed; left as it is")
            else:
                done = self._ops.delete(url)
        except (DeltaGliderError, OSError) as exc:
            self._end(Failed(step, exc))
            return
        place = Place(url, True)
        shown = (url, *(place.sibling(key) for key in done.deleted[1:]))
        self._warnings.extend(done.warnings)
        self._end(Done(step, removed=shown, keys=tuple(done.deleted)))

    def unlink(self, dst: Place, step: Step) -> None:
        self._emit(Started(step))
        try:
            path = dst.path(step.name)
            path.unlink()
        except (DeltaGliderError, OSError) as exc:
            self._end(Failed(step, exc))
            return
        self._end(Done(step, removed=(str(path),)))

    def histories(self, folder: Place) -> None:
        """The versions kept under the folder (unless the client keeps history), each reported as a
        removal of its own."""
        base = folder.as_folder()
        prefix = parse_url(base.text).as_folder().key
        for key in self._ops._remove_histories(base.text).deleted:
            shown = base.child(key[len(prefix) :] if key.startswith(prefix) else key)
            self._end(Done(Step("delete", shown, name=shown), removed=(shown,), keys=(key,)))

    def unused_bases(self, folder: Place, subfolder: str, *, recursive: bool = False) -> None:
        """The folder's bases (and, ``recursive``, those of every folder below) that no file left
        needs, each reported as a removal of its own."""
        base = folder.as_folder()
        done = self._ops.remove_unused_bases(base.text, recursive=recursive)
        prefix = parse_url(base.text).as_folder().key
        self._warnings.extend(done.warnings)
        for key in done.deleted:
            shown = base.child(key[len(prefix) :] if key.startswith(prefix) else key)
            basename = shown.rpartition("/")[2]
            name = f"{subfolder}/{basename}" if subfolder else basename
            self._end(Done(Step("delete", shown, name=name), removed=(shown,), keys=(key,)))

    def finish(self) -> None:
        self._result.warnings.extend(warnings_left(self._warnings, self._result.deleted))


def warnings_left(warnings: Iterable[str], deleted: Iterable[str]) -> list[str]:
    """The removals' warnings still true once ``deleted`` (stored keys) are gone: a "reference kept"
    note from deleting its last delta is moot once the reference is gone too."""
    gone = [key for key in deleted if key.rpartition("/")[2] == REFERENCE_NAME]
    return [w for w in warnings if not any(key in w for key in gone)]
