"""Metrics put to Amazon CloudWatch (``DG_METRICS=cloudwatch``), in batches.

A counter is a datum of unit ``Count`` (``Bytes`` when its name ends in ``bytes``), a timing one of
unit ``Seconds``; tags become dimensions. Data wait in a buffer and go out in PutMetricData calls of at
most :data:`BATCH` data: when the buffer is full, ``flush_interval`` seconds after the oldest datum
waiting arrived (a daemon timer, for long-lived processes), on :meth:`CloudWatchMetrics.flush`, and
when the adapter is collected or the process exits (a command-line run sends its data once, at the
end). A call that fails is logged as a warning and its data dropped: metrics never fail, nor hold up,
the operation they measure.

The CloudWatch client is made at the first send, from the session given or boto3's default one, so
the region, the credentials and the endpoint (``AWS_ENDPOINT_URL_CLOUDWATCH``) come from where boto3
always finds them. The S3 endpoint is not used: an S3-compatible store serves no CloudWatch.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from deltaglider.config import DEFAULT_METRICS_NAMESPACE

#: PutMetricData takes up to 1,000 data a call (and 1 MB; ours are some 200 bytes each).
BATCH: Final = 1000
#: Dimensions a datum may carry.
MAX_DIMENSIONS: Final = 30
DEFAULT_FLUSH_INTERVAL: Final = 60.0

_log = logging.getLogger(__name__)


def _unit(name: str) -> str:
    return "Bytes" if name.endswith("bytes") else "Count"


def _dimensions(tags: dict[str, str]) -> list[dict[str, str]]:
    # CloudWatch refuses an empty dimension value.
    return [{"Name": key, "Value": str(value)} for key, value in sorted(tags.items()) if value][
        :MAX_DIMENSIONS
    ]


class _Sender:
    """The buffer and the client, apart from the adapter so that a finalizer can send what is left
    once the adapter is gone."""

    def __init__(self, namespace: str, make_client: Callable[[], Any], flush_interval: float | None) -> None:
        self.namespace = namespace
        self._make_client = make_client
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._flush_interval = flush_interval
        self._pending: list[dict[str, Any]] = []
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def add(self, datum: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append(datum)
            full = len(self._pending) >= BATCH
            if not full and self._timer is None and self._flush_interval is not None:
                self._timer = threading.Timer(self._flush_interval, self.send)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self.send()

    def send(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        for start in range(0, len(batch), BATCH):
            chunk = batch[start : start + BATCH]
            try:
                self._client_once().put_metric_data(Namespace=self.namespace, MetricData=chunk)
            except Exception as exc:  # whatever botocore raises: the data are dropped, never the upload
                _log.warning(
                    "CloudWatch metrics not sent (%d data dropped): %s: %s",
                    len(chunk),
                    type(exc).__name__,
                    exc,
                )

    def _client_once(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client


def _client_maker(
    session: Any, profile: str | None, region: str | None, endpoint_url: str | None
) -> Callable[[], Any]:
    def make() -> Any:
        import boto3

        chosen = session if session is not None else boto3.session.Session(profile_name=profile)
        return chosen.client("cloudwatch", region_name=region, endpoint_url=endpoint_url)

    return make


class CloudWatchMetrics:
    """``client``: a ready boto3 CloudWatch client; else one made from ``session`` (else a session of
    ``profile``, else boto3's default one) with ``region`` and ``endpoint_url`` (boto3's own defaults
    if None).
    ``flush_interval``: the longest a datum waits, in seconds (None: until the buffer fills, a
    ``flush()`` or the exit)."""

    def __init__(
        self,
        namespace: str = DEFAULT_METRICS_NAMESPACE,
        *,
        client: Any = None,
        session: Any = None,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        flush_interval: float | None = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        if not namespace:
            raise ValueError("the CloudWatch namespace must not be empty")
        if flush_interval is not None and not flush_interval > 0:
            raise ValueError(f"flush_interval must be a positive number of seconds, not {flush_interval!r}")
        make = (
            (lambda: client) if client is not None else _client_maker(session, profile, region, endpoint_url)
        )
        self._sender = _Sender(namespace, make, flush_interval)
        # At collection or at the exit, whichever comes first.
        weakref.finalize(self, self._sender.send)

    @property
    def namespace(self) -> str:
        return self._sender.namespace

    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        self._put(name, float(value), _unit(name), tags)

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        self._put(name, float(seconds), "Seconds", tags)

    def flush(self) -> None:
        """Sends every datum waiting now."""
        self._sender.send()

    def _put(self, name: str, value: float, unit: str, tags: dict[str, str]) -> None:
        self._sender.add(
            {
                "MetricName": name,
                "Value": value,
                "Unit": unit,
                "Timestamp": datetime.now(UTC),
                "Dimensions": _dimensions(tags),
            }
        )
