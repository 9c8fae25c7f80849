"""A local directory as an object store, in the same layout as on S3.

Mapping: ``(bucket, key)`` is the file ``<bucket folder>/<key>``. With ``LocalStorage()`` a bucket is an
absolute folder path (how the client maps ``file://`` URLs and plain paths: the folder named is the
bucket, the prefix is empty, so each folder is a DeltaSpace). With ``LocalStorage(root)`` a bucket is a
folder directly under ``root``, for ``s3://bucket/key`` URLs served from a directory.

Metadata lives in sidecar files: ``<folder>/.dg-meta/<name>.json`` beside each object, hidden from
listings (keys containing a ``.dg-meta`` component are refused). Every write goes to a temporary file
inside ``.dg-meta/`` (same filesystem) and is renamed into place, so readers never see a partial file.
The object and its sidecar change together under an exclusive ``flock`` on ``.dg-meta/.lock``, which
``head`` takes shared, so a reader sees both old or both new. ``put_file_if_absent`` creates the file
with ``link()``, which fails if the name exists: two processes racing for ``reference.bin`` get one
winner.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from deltaglider.errors import (
    AccessDeniedError,
    DeltaGliderError,
    InvalidURLError,
    NotFoundError,
    StorageError,
)
from deltaglider.ports.storage import ObjectHead, ProgressCallback
from deltaglider.urls import check_component, check_relative_key

META_DIR: Final = ".dg-meta"
_LOCK_NAME: Final = ".lock"
_CHUNK: Final = 1 << 20


@contextmanager
def _os_errors(what: str) -> Iterator[None]:
    """Turns OS errors into the storage port's errors, keeping the original as the cause."""
    try:
        yield
    except DeltaGliderError:
        raise
    except FileNotFoundError as exc:
        raise NotFoundError(f"{what}: not found ({exc.filename})") from exc
    except PermissionError as exc:
        raise AccessDeniedError(f"{what}: permission denied ({exc.filename})") from exc
    except OSError as exc:
        raise StorageError(f"{what}: {exc}") from exc


def _copy(src: Path, dest: Path, progress: ProgressCallback | None, *, exclusive: bool = False) -> None:
    with open(src, "rb") as fin, open(dest, "xb" if exclusive else "wb") as fout:
        while chunk := fin.read(_CHUNK):
            fout.write(chunk)
            if progress is not None:
                progress(len(chunk))


class LocalStorage:
    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self._root = None if root is None else Path(os.path.abspath(os.fspath(root)))

    def _bucket_dir(self, bucket: str) -> Path:
        if self._root is None:
            if not bucket or not os.path.isabs(bucket):
                raise InvalidURLError(f"local bucket {bucket!r} must be an absolute folder path")
            return Path(bucket)
        check_component(bucket, "bucket")
        if "/" in bucket or bucket == META_DIR:
            raise InvalidURLError(f"bucket {bucket!r} must be a single folder name")
        return self._root / bucket

    def _path(self, bucket: str, key: str) -> Path:
        check_relative_key(key, f"key {key!r}")
        if META_DIR in key.split("/"):
            raise InvalidURLError(f"key {key!r}: {META_DIR} is reserved for metadata")
        return self._bucket_dir(bucket) / key

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.parent / META_DIR / (path.name + ".json")

    @contextmanager
    def _locked(self, folder: Path, *, exclusive: bool) -> Iterator[None]:
        lock_path = folder / META_DIR / _LOCK_NAME
        if exclusive:
            (folder / META_DIR).mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        else:
            try:
                fd = os.open(lock_path, os.O_RDONLY)
            except (FileNotFoundError, NotADirectoryError):
                # Nothing was ever written here by this adapter: no sidecar to keep consistent.
                yield
                return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def _read_meta(self, path: Path) -> dict[str, str]:
        try:
            raw = self._sidecar(path).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise StorageError(f"corrupt metadata sidecar {self._sidecar(path)}: {exc}") from exc
        if not isinstance(data, dict):
            raise StorageError(f"corrupt metadata sidecar {self._sidecar(path)}: not an object")
        return {str(k).lower(): str(v) for k, v in data.items()}

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        path = self._path(bucket, key)
        with _os_errors(f"head {path}"), self._locked(path.parent, exclusive=False):
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                return None
            if not stat.S_ISREG(st.st_mode):
                return None
            meta = self._read_meta(path)
        return ObjectHead(bucket, key, st.st_size, meta, None, datetime.fromtimestamp(st.st_mtime, UTC))

    def _walk(self, folder: Path, rel: str, recursive: bool) -> Iterator[tuple[str, os.stat_result]]:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if entry.name == META_DIR:
                continue
            key = f"{rel}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if recursive:
                    yield from self._walk(Path(entry.path), key + "/", recursive)
            elif entry.is_file():
                yield key, entry.stat()

    def list(self, bucket: str, prefix: str, *, recursive: bool = True) -> Iterator[ObjectHead]:
        base = self._bucket_dir(bucket)
        dir_part, slash, _ = prefix.rpartition("/")
        if dir_part:
            check_relative_key(dir_part, f"prefix {prefix!r}")
        with _os_errors(f"list {base}"):
            if not base.is_dir():
                raise NotFoundError(f"no such folder: {base}")
            start = base / dir_part if dir_part else base
            found = []
            for key, st in self._walk(start, dir_part + slash, recursive):
                if key.startswith(prefix) and (recursive or "/" not in key[len(prefix) :]):
                    found.append((key, st))
        for key, st in sorted(found):
            yield ObjectHead(bucket, key, st.st_size, {}, None, datetime.fromtimestamp(st.st_mtime, UTC))

    def list_dirs(self, bucket: str, prefix: str) -> Iterator[str]:
        base = self._bucket_dir(bucket)
        dir_part, slash, name_prefix = prefix.rpartition("/")
        start = base / dir_part if dir_part else base
        with _os_errors(f"list {start}"):
            try:
                names = sorted(
                    e.name
                    for e in os.scandir(start)
                    if e.is_dir(follow_symlinks=False)
                    and e.name != META_DIR
                    and e.name.startswith(name_prefix)
                )
            except (FileNotFoundError, NotADirectoryError):
                names = []
        for name in names:
            yield f"{dir_part}{slash}{name}/"

    def get_file(self, bucket: str, key: str, dest: Path, progress: ProgressCallback | None = None) -> None:
        path = self._path(bucket, key)
        with _os_errors(f"get {path}"):
            _copy(path, Path(dest), progress)

    def get_bytes(self, bucket: str, key: str) -> bytes:
        path = self._path(bucket, key)
        with _os_errors(f"get {path}"):
            return path.read_bytes()

    def _stage(self, path: Path, metadata: Mapping[str, str]) -> tuple[Path, Path | None]:
        """Creates the folder and a temporary sidecar; returns (data temp path, sidecar temp path)."""
        meta_dir = path.parent / META_DIR
        meta_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(8)
        data_tmp = meta_dir / f".tmp-{token}"
        meta_tmp = None
        if metadata:
            meta_tmp = meta_dir / f".tmp-{token}.meta"
            with open(meta_tmp, "x", encoding="utf-8") as f:
                json.dump({k.lower(): v for k, v in metadata.items()}, f, sort_keys=True)
        return data_tmp, meta_tmp

    @contextmanager
    def _staged(self, path: Path, metadata: Mapping[str, str]) -> Iterator[tuple[Path, Path | None]]:
        """Temporary data and sidecar files beside ``path``; whatever was not renamed into place is
        removed on the way out, success or not."""
        data_tmp, meta_tmp = self._stage(path, metadata)
        try:
            yield data_tmp, meta_tmp
        finally:
            data_tmp.unlink(missing_ok=True)
            if meta_tmp is not None:
                meta_tmp.unlink(missing_ok=True)

    def _commit_meta(self, path: Path, meta_tmp: Path | None) -> None:
        if meta_tmp is not None:
            os.replace(meta_tmp, self._sidecar(path))
        else:
            self._sidecar(path).unlink(missing_ok=True)

    def put_file(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
    ) -> None:
        path = self._path(bucket, key)
        with _os_errors(f"put {path}"), self._staged(path, metadata) as (data_tmp, meta_tmp):
            _copy(Path(src), data_tmp, progress, exclusive=True)
            with self._locked(path.parent, exclusive=True):
                self._commit_meta(path, meta_tmp)
                os.replace(data_tmp, path)

    def put_bytes(self, bucket: str, key: str, data: bytes, metadata: Mapping[str, str]) -> None:
        path = self._path(bucket, key)
        with _os_errors(f"put {path}"), self._staged(path, metadata) as (data_tmp, meta_tmp):
            with open(data_tmp, "xb") as f:
                f.write(data)
            with self._locked(path.parent, exclusive=True):
                self._commit_meta(path, meta_tmp)
                os.replace(data_tmp, path)

    def put_file_if_absent(
        self,
        bucket: str,
        key: str,
        src: Path,
        metadata: Mapping[str, str],
        progress: ProgressCallback | None = None,
    ) -> bool:
        path = self._path(bucket, key)
        with _os_errors(f"put {path}"), self._staged(path, metadata) as (data_tmp, meta_tmp):
            _copy(Path(src), data_tmp, progress, exclusive=True)
            with self._locked(path.parent, exclusive=True):
                try:
                    os.link(data_tmp, path)
                except FileExistsError:
                    return False
                self._commit_meta(path, meta_tmp)
            return True

    def delete(self, bucket: str, key: str) -> None:
        path = self._path(bucket, key)
        if not path.parent.is_dir():
            return
        with _os_errors(f"delete {path}"), self._locked(path.parent, exclusive=True):
            with suppress(FileNotFoundError):
                path.unlink()
            self._sidecar(path).unlink(missing_ok=True)
