"""The SDK's front door: ``create_client``, ``DeltaGliderClient`` and ``UploadSummary``.

URLs are ``s3://bucket/prefix/[name]``, or a local location (``file:///abs/path`` or a plain path): a
store rooted at ``/`` whose first path component plays the bucket, with the same layout (see
``deltaglider.urls`` and ``adapters.storage_local``). The URL's scheme picks the store.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
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
from deltaglider.core.models import (
    DeleteResult,
    DeltaSpace,
    GetSummary,
    ListEntry,
    ObjectKey,
    StatsSummary,
)
from deltaglider.core.service import DeltaService
from deltaglider.errors import InvalidURLError, StorageError
from deltaglider.ports.cache import CachePort
from deltaglider.ports.logger import LoggerPort
from deltaglider.ports.storage import ProgressCallback, StoragePort
from deltaglider.urls import Location, Scheme, check_relative_key, parse_url

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


#: The stores built on first use, per scheme (``s3`` is the client's own service, given at creation):
#: every file:// URL and plain path is in the one store rooted at ``/``.
_STORES: dict[Scheme, Callable[[], StoragePort]] = {"file": lambda: LocalStorage("/")}

#: What ``cleanup`` removes by default: leftovers older than any live transfer.
DEFAULT_CLEANUP_AGE = timedelta(days=1)


def _object(url: str) -> Location:
    loc = parse_url(url)
    if loc.is_folder:
        raise InvalidURLError(f"{url}: missing the object key")
    return loc


class DeltaGliderClient:
    """Use ``create_client()`` to build one."""

    def __init__(self, service: DeltaService, endpoint_url: str | None = None) -> None:
        self.service = service
        self.endpoint_url = endpoint_url
        self._services: dict[Scheme, DeltaService] = {"s3": service}
        self._lock = threading.Lock()

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
    ) -> GetSummary:
        """Writes the file to ``output_path`` (into it, if it is a folder). Finds ``key`` or ``key.delta``.
        The file appears only once its SHA-256 matched; the summary says where it went and how."""
        loc = _object(s3_url)
        return self._service_for(loc).get(
            ObjectKey(loc.bucket, loc.key), Path(output_path), progress=progress
        )

    def verify(self, s3_url: str, *, use_cache: bool = False) -> bool:
        """True if the stored file (whole, reference or delta) still rebuilds to its recorded SHA-256.
        The reference is checked as stored; ``use_cache=True`` lets a cached copy, checked when it was
        cached, stand in for it. Raises ``NotVerifiableError`` for objects with no SHA-256 recorded."""
        loc = _object(s3_url)
        return self._service_for(loc).verify(ObjectKey(loc.bucket, loc.key), use_cache=use_cache).valid

    def delete(self, url: str, *, force: bool = False) -> DeleteResult:
        """Deletes a file. A reference that deltas depend on is refused (``ReferenceInUseError``) unless
        ``force``; a reference left without deltas is removed with the last one."""
        loc = _object(url)
        return self._service_for(loc).delete(ObjectKey(loc.bucket, loc.key), force=force)

    def list(self, url: str, *, recursive: bool = False) -> Iterator[ListEntry]:
        """The files under a folder, sorted by name, with original and stored sizes. ``name`` is
        relative to the folder listed (``app-1.1.zip``; ``sub/x.zip`` when recursive), the same on S3
        and on a local folder; without ``recursive`` each sub-folder holding files comes once, as an
        entry with ``is_prefix`` and a name ending in ``/`` (as ``aws s3 ls`` shows ``PRE sub/``)."""
        loc = parse_url(url).as_folder()
        return self._service_for(loc).list(DeltaSpace(loc.bucket, loc.prefix), recursive=recursive)

    def stats(self, url: str) -> StatsSummary:
        """Totals for everything under a folder (recursively): files, original and stored bytes."""
        loc = parse_url(url).as_folder()
        return self._service_for(loc).stats(DeltaSpace(loc.bucket, loc.prefix))

    def cleanup(self, url: str, *, older_than: timedelta = DEFAULT_CLEANUP_AGE) -> builtins.list[str]:
        """Removes what interrupted transfers left under a folder, recursively, if older than
        ``older_than``: on a local store the temporary files of killed writers and downloads (and it
        finishes the rollback of a write killed half-way); on S3 the pending multipart uploads, which
        are invisible but billed. Returns one line per thing removed."""
        if older_than < timedelta(0):
            raise ValueError(f"older_than must not be negative, not {older_than}")
        loc = parse_url(url).as_folder()
        return self._service_for(loc).storage.cleanup(loc.bucket, loc.key, older_than)

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
    if endpoint_url is not None and endpoint_url.lower().startswith("file://"):
        root = parse_url(endpoint_url.rstrip("/") + "/")
        storage = LocalStorage(str(root))
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
