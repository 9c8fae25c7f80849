"""An upload that stores nothing: the put flow itself, run over a scratch layer on top of the store, so
that what it reports (stored whole or as a delta, the bytes it would add, the base it would encode
against) is what an upload made now would do, measured by encoding, not guessed.

Reads go to the store (the base is fetched, or taken from the reference cache, as an upload would);
writes and removals land in the layer, which later reads of the same run see. The run keeps nothing
after it: it puts nothing in the reference cache (it may still read from it, and keep a base it
fetched, as any download does), learns nothing into the service's memos of bases and choices, and
counts no metric. Its cost is an upload's without the writes: the file read and hashed, the base
chosen (a listing and a few HEADs), fetched unless cached, the encode (within the memory gate) and
its self-check decode.
"""

from __future__ import annotations

import builtins
import itertools
import os
import shutil
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deltaglider.core.context import Context
from deltaglider.core.family.choices import Choices
from deltaglider.core.family.known import KnownBases
from deltaglider.core.format.metadata import StoredInfo, parse_head
from deltaglider.core.models import DeltaSpace, PutSummary
from deltaglider.core.put import flow as put_flow
from deltaglider.errors import NotFoundError, StorageError
from deltaglider.ports.cache import CachePort
from deltaglider.ports.logger import LoggerPort
from deltaglider.ports.storage import (
    BucketAdmin,
    BucketInfo,
    LifecycleRule,
    ObjectHead,
    ProgressCallback,
    PutOptions,
    StoragePort,
)


@dataclass(frozen=True)
class DryRun:
    """What an upload would do: its summary, and the key of the base its delta would be made against
    (None when the file would be stored whole, or become the folder's reference)."""

    summary: PutSummary
    base_key: str | None


def put(ctx: Context, file: Path, space: DeltaSpace, *, max_ratio: float, name: str | None = None) -> DryRun:
    """What ``put`` of ``file`` into ``space`` would do now (module doc)."""
    with ctx.scratch() as folder:
        layer = _Layer(ctx.storage, folder)
        quiet = replace(
            ctx,
            storage=layer,
            cache=_ReadOnlyCache(ctx.cache),
            logger=_Tagged(ctx.logger),
            metrics=_NoMetrics(),
            choices=Choices(),
            bases_known=KnownBases(),
        )
        summary = put_flow.put(quiet, Path(file), space, max_ratio=max_ratio, name=name)
        return DryRun(
            summary,
            _base_of(parse_head(layer.written(space.bucket, summary.key)), summary.operation),
        )


def _base_of(info: StoredInfo | None, operation: str) -> str | None:
    return info.ref_key if info is not None and operation == "PUT_DELTA" else None


@dataclass(frozen=True)
class _Written:
    path: Path
    head: ObjectHead


class _Layer:
    """``StoragePort`` over ``inner``: reads see the writes and removals made through the layer, which
    never reach ``inner``. Conditional writes compare with what the layer and ``inner`` hold together."""

    def __init__(self, inner: StoragePort, folder: Path) -> None:
        self._inner = inner
        self._folder = folder
        self._objects: dict[tuple[str, str], _Written | None] = {}  # None: removed
        self._lock = threading.RLock()
        self._numbers = itertools.count(1)

    def written(self, bucket: str, key: str) -> ObjectHead | None:
        """What the run stored at ``key`` (None: nothing, or removed)."""
        with self._lock:
            found = self._objects.get((bucket, key))
        return found.head if found is not None else None

    def url(self, bucket: str, key: str) -> str:
        return self._inner.url(bucket, key)

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        with self._lock:
            if (bucket, key) in self._objects:
                found = self._objects[(bucket, key)]
                return found.head if found is not None else None
        return self._inner.head(bucket, key)

    def list(
        self, bucket: str, prefix: str, *, recursive: bool = True, start_after: str = ""
    ) -> Iterator[ObjectHead]:
        with self._lock:
            mine = {
                key: obj for (b, key), obj in self._objects.items() if b == bucket and key.startswith(prefix)
            }
        shown: dict[str, ObjectHead] = {
            obj.key: obj
            for obj in self._inner.list(bucket, prefix, recursive=recursive, start_after=start_after)
            if obj.key not in mine
        }
        for key, obj in mine.items():
            if obj is None:
                continue
            rest = key[len(prefix) :]
            if not recursive and "/" in rest:
                folder = prefix + rest.split("/", 1)[0] + "/"
                shown.setdefault(folder, ObjectHead(bucket, folder, 0, is_prefix=True))
            else:
                shown[key] = replace(obj.head, metadata={})  # as listings give it
        return iter([shown[key] for key in sorted(shown) if key > start_after])

    def get_file(
        self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None = None
    ) -> ObjectHead:
        with self._lock:
            mine = (bucket, key) in self._objects
            found = self._objects.get((bucket, key))
        if not mine:
            return self._inner.get_file(bucket, key, dest, progress)
        if found is None:
            raise NotFoundError(f"{self.url(bucket, key)}: no such object")
        shutil.copyfile(found.path, dest)
        if progress is not None:
            progress(found.head.size)
        return found.head

    def _store(
        self, bucket: str, key: str, src: Path, metadata: Mapping[str, str], options: PutOptions | None
    ) -> str:
        number = next(self._numbers)
        path = self._folder / f"object-{number}"
        try:
            os.link(src, path)  # the flow's files are written once: sharing the bytes is enough
        except OSError:
            shutil.copyfile(src, path)
        extra = options.metadata if options is not None else {}
        merged = {**{k.lower(): v for k, v in extra.items()}, **metadata}
        etag = f"dry-run-{number}"
        head = ObjectHead(bucket, key, path.stat().st_size, merged, etag, datetime.now(UTC))
        self._objects[(bucket, key)] = _Written(path, head)
        return etag

    def put_file(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
        *,
        options: PutOptions | None = None,
    ) -> str | None:
        with self._lock:
            return self._store(bucket, key, src, metadata, options)

    def put_file_if_absent(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
        *,
        options: PutOptions | None = None,
    ) -> bool:
        with self._lock:
            if self.head(bucket, key) is not None:
                return False
            self._store(bucket, key, src, metadata, options)
            return True

    def put_file_if_match(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
        *,
        etag: str,
        options: PutOptions | None = None,
    ) -> bool:
        with self._lock:
            current = self.head(bucket, key)
            if current is None or current.etag != etag:
                return False
            self._store(bucket, key, src, metadata, options)
            return True

    def delete(self, bucket: str, key: str) -> None:
        with self._lock:
            self._objects[(bucket, key)] = None

    def delete_if_match(self, bucket: str, key: str, etag: str) -> bool:
        with self._lock:
            current = self.head(bucket, key)
            if current is None or current.etag != etag:
                return False
            self._objects[(bucket, key)] = None
            return True

    def list_buckets(self) -> builtins.list[BucketInfo]:
        return self._inner.list_buckets()

    def cleanup(self, bucket: str, prefix: str, older_than: timedelta) -> builtins.list[str]:
        return []  # nothing of the run outlives it

    def bucket_admin(self) -> BucketAdmin:
        raise StorageError("a dry run makes no bucket calls")

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        raise StorageError("a dry run copies no objects")  # the put flow never copies

    def set_lifecycle_rule(self, bucket: str, rule: LifecycleRule) -> None:
        raise StorageError("a dry run sets no lifecycle rule")


class _ReadOnlyCache:
    """The reference cache, less what the run would add of its own file: ``store`` keeps nothing."""

    def __init__(self, inner: CachePort) -> None:
        self._inner = inner

    def use(self, sha256: str, *, origin: str) -> AbstractContextManager[Path | None]:
        return self._inner.use(sha256, origin=origin)

    def store(self, sha256: str, src: Path, *, origin: str) -> bool:
        return False

    def adopt(self, sha256: str, src: Path, *, origin: str) -> AbstractContextManager[Path]:
        # Only what was fetched and checked is adopted: a base of the store, which any read may keep.
        return self._inner.adopt(sha256, src, origin=origin)

    def scratch(self) -> AbstractContextManager[Path]:
        return self._inner.scratch()


class _Tagged:
    """The service's logger, each record marked as the dry run's (its "stored" stored nothing)."""

    def __init__(self, inner: LoggerPort) -> None:
        self._inner = inner

    def debug(self, message: str, **fields: object) -> None:
        self._inner.debug(message, dry_run=True, **fields)

    def info(self, message: str, **fields: object) -> None:
        self._inner.debug(message, dry_run=True, **fields)

    def warning(self, message: str, **fields: object) -> None:
        self._inner.warning(message, dry_run=True, **fields)


class _NoMetrics:
    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        pass

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        pass
