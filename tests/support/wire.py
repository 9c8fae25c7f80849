"""Counting what a boto3 client sends: every HTTP request (botocore's ``before-send``, retries
included) as (operation, key or prefix), and a service of our own over that client. Shared by the
request-count tests and bench/upload_requests.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.clock_utc import UtcClock
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_s3 import S3Storage
from deltaglider.core.service import DeltaService

T = TypeVar("T")


class Wire:
    """Every HTTP request a boto3 client sends, as (operation, key or prefix)."""

    def __init__(self, client: Any) -> None:
        self.sent: list[tuple[str, str]] = []
        self._operation = ("", "")
        client.meta.events.register("provide-client-params.s3.*", self._call)
        client.meta.events.register("before-send.s3.*", self._send)

    def _call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._operation = (model.name, str(params.get("Key") or params.get("Prefix") or ""))

    def _send(self, **_: Any) -> None:
        self.sent.append(self._operation)

    def during(self, action: Callable[[], T]) -> tuple[T, list[tuple[str, str]]]:
        """What ``action`` returns, and the requests it sent."""
        before = len(self.sent)
        result = action()
        return result, self.sent[before:]


def s3_service(client: Any, logger: str = "deltaglider.tests.requests") -> DeltaService:
    """A service of its own (its own memory cache) over the boto3 ``client``."""
    hasher = Sha256Hasher()
    return DeltaService(
        storage=S3Storage(client),
        diff=XDelta3Diff(),
        hasher=hasher,
        cache=MemoryCache(max_bytes=1 << 28, hasher=hasher),
        clock=UtcClock(),
        logger=StdLogger(logger),
        metrics=NoopMetrics(),
    )
