"""The SDK's front door: ``create_client``, ``DeltaGliderClient`` and ``UploadSummary``.

URLs are ``s3://bucket/prefix/[name]``, or a local folder (``file:///abs/path/`` or a plain path), which
is stored with the same layout (see ``deltaglider.urls`` and ``adapters.storage_local``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deltaglider import config
from deltaglider.adapters.clock_utc import UtcClock
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_logging import LoggingMetrics
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_lazy import LazyStorage
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.core.models import DeleteResult, DeltaSpace, ListEntry, ObjectKey, StatsSummary
from deltaglider.core.service import DeltaService
from deltaglider.errors import InvalidURLError, StorageError
from deltaglider.ports.cache import CachePort
from deltaglider.ports.logger import LoggerPort
from deltaglider.ports.storage import ProgressCallback, StoragePort
from deltaglider.urls import Location, check_relative_key, parse_url

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


def _folder(loc: Location) -> Location:
    """The location read as a folder, whether or not it ended in a slash."""
    if loc.is_folder:
        return loc
    if loc.scheme == "s3":
        return Location("s3", loc.bucket, loc.key + "/")
    return Location("file", os.path.join(loc.bucket, loc.key), "")


class DeltaGliderClient:
    """Use ``create_client()`` to build one."""

    def __init__(self, service: DeltaService, endpoint_url: str | None = None) -> None:
        self.service = service
        self.endpoint_url = endpoint_url
        self._local: DeltaService | None = None
        self._lock = threading.Lock()

    def _service_for(self, loc: Location) -> DeltaService:
        if loc.scheme == "s3":
            return self.service
        with self._lock:
            if self._local is None:
                self._local = self.service.with_storage(LocalStorage())
            return self._local

    def upload(
        self,
        file_path: str | Path,
        s3_url: str,
        tags: dict[str, str] | None = None,
        max_ratio: float | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> UploadSummary:
        """Stores the file at ``s3_url``: into that folder if it ends in ``/`` (keeping the file's name),
        else under the URL's last component. ``max_ratio`` None means the client's setting."""
        if tags:
            raise NotImplementedError(
                "object tags are not supported yet: the storage port has no tagging call"
            )
        loc = parse_url(s3_url)
        if loc.prefix:
            check_relative_key(loc.prefix, f"{s3_url}: destination folder")
        summary = self._service_for(loc).put(
            Path(file_path), DeltaSpace(loc.bucket, loc.prefix), max_ratio, name=loc.name, progress=progress
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
        )

    def download(
        self, s3_url: str, output_path: str | Path, *, progress: ProgressCallback | None = None
    ) -> None:
        """Writes the file to ``output_path`` (into it, if it is a folder). Finds ``key`` or ``key.delta``.
        The file appears only once its SHA-256 matched."""
        loc = parse_url(s3_url)
        if loc.is_folder:
            raise InvalidURLError(f"{s3_url}: missing the object key")
        self._service_for(loc).get(ObjectKey(loc.bucket, loc.key), Path(output_path), progress=progress)

    def verify(self, s3_url: str) -> bool:
        """True if the stored file (whole, reference or delta) still rebuilds to its recorded SHA-256.
        Raises ``NotVerifiableError`` for objects with no SHA-256 recorded."""
        loc = parse_url(s3_url)
        if loc.is_folder:
            raise InvalidURLError(f"{s3_url}: missing the object key")
        return self._service_for(loc).verify(ObjectKey(loc.bucket, loc.key)).valid

    def delete(self, url: str, *, force: bool = False) -> DeleteResult:
        """Deletes a file. A reference that deltas depend on is refused (``ReferenceInUseError``) unless
        ``force``; a reference left without deltas is removed with the last one."""
        loc = parse_url(url)
        if loc.is_folder:
            raise InvalidURLError(f"{url}: missing the object key")
        return self._service_for(loc).delete(ObjectKey(loc.bucket, loc.key), force=force)

    def list(self, url: str, *, recursive: bool = False) -> Iterator[ListEntry]:
        """The files under a folder, by the names they were stored under, with original and stored sizes."""
        loc = _folder(parse_url(url))
        return self._service_for(loc).list(DeltaSpace(loc.bucket, loc.prefix), recursive=recursive)

    def stats(self, url: str) -> StatsSummary:
        """Totals for everything under a folder (recursively): files, original and stored bytes."""
        loc = _folder(parse_url(url))
        return self._service_for(loc).stats(DeltaSpace(loc.bucket, loc.prefix))

    def lifecycle_policy(
        self, s3_prefix: str, days_before_archive: int = 30, days_before_delete: int = 90
    ) -> None:
        raise NotImplementedError(
            "lifecycle policies are not supported yet: the storage port has no lifecycle call"
        )


def _build_cache(settings: config.Settings, logger: LoggerPort, hasher: Sha256Hasher) -> CachePort:
    if settings.cache_backend == "memory":
        from deltaglider.adapters.cache_memory import MemoryCache

        return MemoryCache(max_bytes=settings.cache_max_bytes, hasher=hasher)
    from deltaglider.adapters.cache_fs import FsCache, resolve_cache_dir

    root = resolve_cache_dir(settings.cache_dir, logger)
    return FsCache(root, max_bytes=settings.cache_max_bytes, hasher=hasher, logger=logger)


def _s3_factory(endpoint_url: str | None, s3_client: Any) -> StoragePort:
    try:
        from deltaglider.adapters.storage_s3 import S3Storage  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise StorageError(f"S3 support is not available in this installation: {exc}") from exc
    if s3_client is None:
        import boto3

        # boto3 itself reads AWS_ENDPOINT_URL, AWS_PROFILE, AWS_DEFAULT_REGION and the credentials.
        s3_client = boto3.session.Session().client("s3", endpoint_url=endpoint_url or None)
    storage: StoragePort = S3Storage(s3_client)
    return storage


_CLIENT_OPTIONS = frozenset({"tool_version", "max_ratio", "cache_backend", "cache_max_bytes", "s3_client"})


def create_client(
    endpoint_url: str | None = None,
    log_level: str | None = None,
    cache_dir: str | None = None,
    **kwargs: Any,
) -> DeltaGliderClient:
    """A client with sensible defaults.

    ``log_level`` (default ``INFO``) and ``cache_dir`` (default ``/tmp/.deltaglider/cache``) fall back to
    ``DG_LOG_LEVEL`` / ``DG_CACHE_DIR`` when not given. Keyword options: ``tool_version``, ``max_ratio``
    (default 0.5, or ``DG_MAX_RATIO``), ``cache_backend`` (``filesystem`` or ``memory``,
    ``DG_CACHE_BACKEND``), ``cache_max_bytes`` (``DG_CACHE_MAX_BYTES``), ``s3_client`` (a ready boto3
    client). An ``endpoint_url`` of ``file:///some/folder`` serves ``s3://bucket/...`` URLs from
    ``/some/folder/bucket/...`` instead of S3.
    """
    unknown = set(kwargs) - _CLIENT_OPTIONS
    if unknown:
        raise TypeError(f"create_client() got unexpected options: {', '.join(sorted(unknown))}")
    settings = config.resolve(
        log_level=log_level,
        cache_dir=cache_dir,
        cache_backend=kwargs.get("cache_backend"),
        cache_max_bytes=kwargs.get("cache_max_bytes"),
        max_ratio=kwargs.get("max_ratio"),
        tool_version=kwargs.get("tool_version"),
    )
    logger = StdLogger(level=settings.log_level)
    hasher = Sha256Hasher()
    storage: StoragePort
    if endpoint_url is not None and endpoint_url.startswith("file://"):
        root = parse_url(endpoint_url.rstrip("/") + "/")
        storage = LocalStorage(root.bucket)
    else:
        s3_client = kwargs.get("s3_client")
        storage = LazyStorage(lambda: _s3_factory(endpoint_url, s3_client))
    service = DeltaService(
        storage=storage,
        diff=XDelta3Diff(),
        hasher=hasher,
        cache=_build_cache(settings, logger, hasher),
        clock=UtcClock(),
        logger=logger,
        metrics=LoggingMetrics() if settings.log_level == "DEBUG" else NoopMetrics(),
        tool_version=settings.tool_version,
        max_ratio=settings.max_ratio,
    )
    return DeltaGliderClient(service, endpoint_url)
