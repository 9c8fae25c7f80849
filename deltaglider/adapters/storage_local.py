"""A local directory as an object store, in the same layout as on S3.

``LocalStorage(root)``: a bucket is a folder directly under ``root`` and a key is a path relative to
it, so ``(bucket, key)`` is the file ``<root>/<bucket>/<key>``. The client uses ``LocalStorage("/")``
for ``file://`` URLs and plain paths (``/srv/rel/app.zip`` is bucket ``srv``, key ``rel/app.zip``), and
``LocalStorage(folder)`` for an ``endpoint_url`` of ``file:///folder`` (``s3://bucket/key`` served
from ``/folder/bucket/key``).

Metadata lives in sidecar files: ``<folder>/.dg-meta/<name>.json`` beside each object, hidden from
listings (keys containing a ``.dg-meta`` component are refused). Every write goes to a temporary file
inside ``.dg-meta/`` (same filesystem) and is renamed into place under an exclusive ``flock`` on
``.dg-meta/.lock``, which readers take shared; the object and its sidecar change together or not at all,
by the journal described in ``storage_local_files`` (a failed rename or a kill -9 between the renames
is rolled back). ``put_file_if_absent`` creates the file with ``link()``: two processes racing for
``reference.bin`` get one winner.

Symbolic links are never followed below the store: an object or ``.dg-meta`` that is a link is
refused, listings skip links, and a folder that resolves outside ``root`` is refused. (With root ``/``
every folder is inside: the path a user names is theirs, links and all; what is refused is a link in
place of an object, a sidecar or the metadata folder, and walking into linked folders when listing.)

Object tags (``PutOptions.tags``) are kept in the sidecar too, URL-encoded under ``x-amz-tagging`` (the
header S3 takes them in), and left out of the metadata that ``head`` returns. A local folder has no
storage class, content type or lifecycle rules: the first two are ignored, the last refused.

Temporary files older than a day (left by a killed writer) are removed by the next write to that
folder; ``cleanup`` removes them on demand.
"""

from __future__ import annotations

import builtins
import os
import secrets
import stat
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from deltaglider.adapters import storage_local_files as files
from deltaglider.adapters.storage_local_files import META_DIR, os_errors
from deltaglider.errors import InvalidURLError, NotFoundError, StorageError
from deltaglider.ports.storage import (
    BucketAdmin,
    BucketInfo,
    LifecycleRule,
    ObjectHead,
    ProgressCallback,
    PutOptions,
)
from deltaglider.urls import check_component, check_relative_key

__all__ = ["META_DIR", "STALE_AFTER", "TAGS_KEY", "LocalStorage"]

#: The sidecar entry holding an object's tags (never returned as metadata).
TAGS_KEY: Final = "x-amz-tagging"

#: How old a temporary file must be before a write to its folder removes it (a live writer's copy of
#: a large file can take minutes; a day is far beyond any).
STALE_AFTER: Final = timedelta(days=1)
#: A folder is swept of stale temporaries at most this often per store object.
_SWEEP_EVERY_S: Final = 3600.0


def _mtime(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime, UTC)


def _entry_stat(entry: os.DirEntry[str]) -> os.stat_result | None:
    # Another process may remove the entry between the scan and this call (its temporary files go
    # without the lock): gone is not an error.
    try:
        return entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return None


def _user_metadata(meta: dict[str, str]) -> dict[str, str]:
    meta.pop(TAGS_KEY, None)
    meta.pop(files.VERSION_KEY, None)
    return meta


def _head(bucket: str, key: str, st: os.stat_result, sidecar: dict[str, str]) -> ObjectHead:
    etag = files.version_of(st, sidecar)
    return ObjectHead(bucket, key, st.st_size, _user_metadata(sidecar), etag, _mtime(st))


def _stored_metadata(metadata: Mapping[str, str], options: PutOptions | None) -> dict[str, str]:
    """The sidecar's content: user metadata beside ours (ours winning a clash), and the tags."""
    if options is None:
        return dict(metadata)
    stored = {**{k.lower(): v for k, v in options.metadata.items()}, **metadata}
    stored.pop(TAGS_KEY, None)
    if options.tags:
        stored[TAGS_KEY] = urllib.parse.urlencode(dict(options.tags))
    return stored


def _remove_if_older(entry: os.DirEntry[str], cutoff: float) -> bool:
    st = _entry_stat(entry)
    if st is None or st.st_mtime > cutoff:
        return False
    try:
        os.unlink(entry.path)
    except FileNotFoundError:
        return False
    return True


class LocalStorage:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(os.path.abspath(os.fspath(root)))
        self._root_real = os.path.realpath(self._root)
        self._swept: dict[Path, float] = {}

    @property
    def root(self) -> Path:
        return self._root

    def _bucket_dir(self, bucket: str) -> Path:
        check_component(bucket, "bucket")
        if "/" in bucket or bucket == META_DIR:
            raise InvalidURLError(f"bucket {bucket!r} must be a single folder name")
        return self._root / bucket

    def bucket_folder(self, bucket: str) -> Path:
        """The folder that holds ``bucket`` (``InvalidURLError`` for a name that is no folder name)."""
        return self._bucket_dir(bucket)

    def _path(self, bucket: str, key: str) -> Path:
        check_relative_key(key, f"key {key!r}")
        if META_DIR in key.split("/"):
            raise InvalidURLError(f"key {key!r}: {META_DIR} is reserved for metadata")
        return self._bucket_dir(bucket) / key

    def url(self, bucket: str, key: str) -> str:
        return os.path.join(self._bucket_dir(bucket), key)

    def _recover_if_needed(self, folder: Path, name: str) -> None:
        # Readers cannot roll back under their shared lock; one stat tells whether anything is due.
        if files.needs_recovery(folder, name):
            with files.locked(folder, exclusive=True):
                files.recover(folder, name)

    # -- reads ---------------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        path = self._path(bucket, key)
        folder = path.parent
        with os_errors(f"head {path}"):
            files.check_inside(self._root_real, folder, f"head {path}")
            self._recover_if_needed(folder, path.name)
            with files.locked(folder, exclusive=False):
                st = files.lstat_or_none(path)
                if st is None:
                    return None
                if stat.S_ISLNK(st.st_mode):
                    raise files.refuse_link(f"head {path}", path)
                if not stat.S_ISREG(st.st_mode):
                    return None
                return _head(bucket, key, st, files.read_meta(folder, path.name))

    def get_file(
        self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None = None
    ) -> ObjectHead:
        path = self._path(bucket, key)
        with os_errors(f"get {path}"):
            files.check_inside(self._root_real, path.parent, f"get {path}")
            self._recover_if_needed(path.parent, path.name)
            # Opened (and its metadata read) under the lock: a committed object. A later replace
            # makes a new inode, so the copy outside the lock still reads these bytes.
            with files.locked(path.parent, exclusive=False):
                fd = files.open_object(path)
                try:
                    meta = files.read_meta(path.parent, path.name)
                except BaseException:
                    os.close(fd)
                    raise
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise NotFoundError(f"get {path}: not a file")
                files.copy_into(fd, Path(dest), progress, new=False)
            finally:
                os.close(fd)
        return _head(bucket, key, st, meta)

    def list(
        self, bucket: str, prefix: str, *, recursive: bool = True, start_after: str = ""
    ) -> Iterator[ObjectHead]:
        base = self._bucket_dir(bucket)
        dir_part, slash, _ = prefix.rpartition("/")
        if dir_part:
            check_relative_key(dir_part, f"prefix {prefix!r}")
        start = base / dir_part if dir_part else base
        with os_errors(f"list {base}"):
            if not base.is_dir():
                raise NotFoundError(f"no such folder: {base}")
            files.check_inside(self._root_real, start, f"list {start}")
            found = [
                (key, st, is_prefix)
                for key, st, is_prefix in self._walk(start, dir_part + slash, recursive)
                if key.startswith(prefix) and key > start_after
            ]
        for key, st, is_prefix in sorted(found, key=lambda item: item[0]):
            if is_prefix:
                yield ObjectHead(bucket, key, 0, is_prefix=True)
            else:
                yield ObjectHead(bucket, key, st.st_size, {}, None, _mtime(st))

    def _walk(self, folder: Path, rel: str, recursive: bool) -> Iterator[tuple[str, os.stat_result, bool]]:
        """(key, stat, is_prefix) for the regular files under ``folder``; links are skipped, and
        without ``recursive`` each sub-folder holding a file comes once as a prefix."""
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if entry.name == META_DIR or files.PART_RE.match(entry.name):
                continue
            key = f"{rel}{entry.name}"
            st = _entry_stat(entry)
            if st is None:
                continue
            if stat.S_ISDIR(st.st_mode):
                inner = self._walk(Path(entry.path), key + "/", True)
                if recursive:
                    yield from inner
                elif next(inner, None) is not None:
                    # As on S3, a folder is shown only while it holds a file.
                    yield key + "/", st, True
            elif stat.S_ISREG(st.st_mode):
                yield key, st, False

    # -- writes --------------------------------------------------------------------------------

    def _write(
        self,
        bucket: str,
        key: str,
        src: Path | int,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None,
        *,
        if_absent: bool = False,
        if_match: str | None = None,
        options: PutOptions | None,
    ) -> bool:
        path = self._path(bucket, key)
        folder = path.parent
        with os_errors(f"put {path}"):
            files.check_inside(self._root_real, folder, f"put {path}")
            # Refused before anything is copied: a device, FIFO or socket there is not ours to replace.
            files.check_replaceable(path, f"put {path}")
            meta = files.meta_dir(folder, create=True)
            self._sweep_if_due(folder)
            stored = {**_stored_metadata(metadata, options), files.VERSION_KEY: secrets.token_hex(16)}
            with files.staged(meta, stored) as (data_tmp, meta_tmp):
                # ``src``: a file, or a descriptor open on one (a copy's source, the caller's to close).
                fin = src if isinstance(src, int) else os.open(src, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    files.copy_into(fin, data_tmp, progress, new=True)
                finally:
                    if fin is not src:
                        os.close(fin)
                with files.locked(folder, exclusive=True):
                    files.recover(folder, path.name)
                    return files.commit(
                        folder, path.name, data_tmp, meta_tmp, if_absent=if_absent, if_match=if_match
                    )

    def put_file(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
        *,
        options: PutOptions | None = None,
    ) -> None:
        self._write(bucket, key, Path(src), metadata, progress, if_absent=False, options=options)

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
        return self._write(bucket, key, Path(src), metadata, progress, if_absent=True, options=options)

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
        return self._write(bucket, key, Path(src), metadata, progress, if_match=etag, options=options)

    def copy(self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str) -> None:
        path = self._path(src_bucket, src_key)
        with os_errors(f"copy {path}"):
            files.check_inside(self._root_real, path.parent, f"copy {path}")
            self._recover_if_needed(path.parent, path.name)
            # A committed object, as ``get_file`` reads one: opened with its sidecar under the lock.
            with files.locked(path.parent, exclusive=False):
                fd = files.open_object(path)
                try:
                    sidecar = files.read_meta(path.parent, path.name)
                except BaseException:
                    os.close(fd)
                    raise
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise NotFoundError(f"copy {path}: not a file")
                sidecar.pop(files.VERSION_KEY, None)  # the copy is a version of its own
                # The sidecar as it is (metadata and tags): no options to apply over it.
                self._write(dst_bucket, dst_key, fd, sidecar, None, options=None)
            finally:
                os.close(fd)

    def delete(self, bucket: str, key: str) -> None:
        self._delete(bucket, key, if_match=None)

    def delete_if_match(self, bucket: str, key: str, etag: str) -> bool:
        return self._delete(bucket, key, if_match=etag)

    def _delete(self, bucket: str, key: str, *, if_match: str | None) -> bool:
        path = self._path(bucket, key)
        folder = path.parent
        with os_errors(f"delete {path}"):
            files.check_inside(self._root_real, folder, f"delete {path}")
            if not folder.is_dir():
                return False
            with files.locked(folder, exclusive=True):
                files.recover(folder, path.name)
                st = files.lstat_or_none(path)
                if st is not None and not stat.S_ISLNK(st.st_mode):
                    # A planted link goes (never what it points to); a folder, device, FIFO or socket
                    # is not an object and stays.
                    files.check_replaceable(path, f"delete {path}")
                if if_match is not None and (
                    st is None
                    or stat.S_ISLNK(st.st_mode)
                    or files.version_of(st, files.read_meta(folder, path.name)) != if_match
                ):
                    return False
                if st is not None:
                    path.unlink()
                # After the object: a crash in between leaves an orphaned sidecar, never an object
                # that lost its metadata.
                (folder / META_DIR / (path.name + files.SIDECAR)).unlink(missing_ok=True)
                return st is not None

    # -- leftovers -----------------------------------------------------------------------------

    def _sweep_if_due(self, folder: Path) -> None:
        now = time.monotonic()
        if now - self._swept.get(folder, -_SWEEP_EVERY_S) < _SWEEP_EVERY_S:
            return
        self._swept[folder] = now
        self._sweep(folder, STALE_AFTER, time.time())

    def _sweep(self, folder: Path, older_than: timedelta, now: float) -> builtins.list[str]:
        """Removes the stale temporaries of one folder, rolls back unfinished writes and drops
        sidecars whose object is gone; returns the paths removed."""
        removed: builtins.list[str] = []
        try:
            meta = files.meta_dir(folder, create=False)
        except (FileNotFoundError, NotADirectoryError):
            meta = None
        cutoff = now - older_than.total_seconds()
        for entry in list(os.scandir(folder)):
            if files.PART_RE.match(entry.name) and _remove_if_older(entry, cutoff):
                removed.append(entry.path)
        if meta is None:
            return removed
        with files.locked(folder, exclusive=True):
            for entry in list(os.scandir(meta)):
                name = entry.name
                if files.TEMP_RE.match(name):
                    if _remove_if_older(entry, cutoff):
                        removed.append(entry.path)
                elif name.endswith(files.PENDING):
                    if files.recover(folder, name.removesuffix(files.PENDING)):
                        removed.append(entry.path)
                elif name.endswith(files.PREV) and files.lstat_or_none(Path(entry.path)) is not None:
                    files.recover(folder, name.removesuffix(files.PREV))
                    removed.append(entry.path)
                elif (
                    name.endswith(files.SIDECAR)
                    and files.lstat_or_none(folder / name[: -len(files.SIDECAR)]) is None
                ):
                    os.unlink(entry.path)
                    removed.append(entry.path)
        return removed

    def list_buckets(self) -> builtins.list[BucketInfo]:
        with os_errors(f"list {self._root}"):
            entries = sorted(os.scandir(self._root), key=lambda entry: entry.name)
            return [
                BucketInfo(entry.name, datetime.fromtimestamp(entry.stat().st_mtime, UTC))
                for entry in entries
                if entry.is_dir(follow_symlinks=False) and entry.name != META_DIR
            ]

    def cleanup(self, bucket: str, prefix: str, older_than: timedelta) -> builtins.list[str]:
        base = self._bucket_dir(bucket)
        dir_part = prefix.rpartition("/")[0]
        if dir_part:
            check_relative_key(dir_part, f"prefix {prefix!r}")
        start = base / dir_part if dir_part else base
        removed: builtins.list[str] = []
        now = time.time()
        with os_errors(f"cleanup {start}"):
            if not start.is_dir():
                return removed
            files.check_inside(self._root_real, start, f"cleanup {start}")
            for folder, dirs, _ in os.walk(start):
                # os.walk does not enter linked folders; .dg-meta is handled by its own folder.
                dirs[:] = [d for d in dirs if d != META_DIR]
                removed.extend(self._sweep(Path(folder), older_than, now))
        return removed

    def set_lifecycle_rule(self, bucket: str, rule: LifecycleRule) -> None:
        raise StorageError(
            f"{self.url(bucket, rule.prefix)}: lifecycle rules are an S3 feature; a local folder has "
            "no storage classes or expiry (use s3:// URLs)"
        )

    def bucket_admin(self) -> BucketAdmin:
        from deltaglider.adapters.local_admin import LocalBucketAdmin

        return LocalBucketAdmin(self)
