"""Metrics that can never fail the operation they measure.

Every adapter the factory builds, and any the caller passes, is wrapped in :class:`GuardedMetrics`:
an exception from the adapter (a full disk under a textfile, labels Prometheus refuses, a bug in a
caller's own adapter) is logged and the upload or download goes on. The first failure is a warning,
later ones debug lines, so that a broken backend does not drown the log.
"""

from __future__ import annotations

import threading

from deltaglider.ports.logger import LoggerPort
from deltaglider.ports.metrics import MetricsPort


class GuardedMetrics:
    def __init__(self, inner: MetricsPort, logger: LoggerPort) -> None:
        self._inner = inner
        self._logger = logger
        self._warned = False
        self._lock = threading.Lock()

    @property
    def inner(self) -> MetricsPort:
        return self._inner

    def increment(self, name: str, value: int = 1, **tags: str) -> None:
        try:
            self._inner.increment(name, value, **tags)
        except Exception as exc:
            self._failed(name, exc)

    def timing(self, name: str, seconds: float, **tags: str) -> None:
        try:
            self._inner.timing(name, seconds, **tags)
        except Exception as exc:
            self._failed(name, exc)

    def flush(self) -> None:
        """Delivers what the adapter holds back (CloudWatch's batch, Prometheus's textfile), if it
        holds anything back; failures are logged as above."""
        flush = getattr(self._inner, "flush", None)
        if flush is None:
            return
        try:
            flush()
        except Exception as exc:
            self._failed("flush", exc)

    def _failed(self, name: str, exc: Exception) -> None:
        with self._lock:
            first, self._warned = not self._warned, True
        message = "metrics failed; the operation goes on"
        fields = {
            "metric": name,
            "adapter": type(self._inner).__name__,
            "error": f"{type(exc).__name__}: {exc}",
        }
        if first:
            self._logger.warning(message, **fields)
        else:
            self._logger.debug(message, **fields)
