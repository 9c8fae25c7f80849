"""The global options of one run, and the client they describe (built on first use: ``--help`` and
usage errors never import boto3 or the codec)."""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deltaglider.cli.output import Output
from deltaglider.config import DEFAULT_WORKERS

if TYPE_CHECKING:
    from deltaglider.client import DeltaGliderClient

LOGGER_NAME = "deltaglider"


class _CliFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def install_log_handler(*, debug: bool, quiet: bool) -> None:
    """The library's log records go to stderr through this one handler, as ``warning: ...`` lines
    (``--debug``: everything; ``--quiet``: errors only)."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        if getattr(handler, "_deltaglider_cli", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CliFormatter())
    handler._deltaglider_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING)
    logger.propagate = False


@dataclass
class Session:
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    debug: bool = False
    quiet: bool = False
    no_progress: bool = False
    json: bool = False
    max_ratio: float | None = None
    no_delta: bool = False
    original_compatible: bool | None = None  # None: DG_ORIGINAL_COMPATIBLE decides
    keep_history: bool | None = None  # None: DG_KEEP_HISTORY decides
    cache_dir: str | None = None
    connect_timeout: float | None = None  # seconds, 0 for no limit; None: botocore's default
    read_timeout: float | None = None
    workers: int = DEFAULT_WORKERS
    _client: DeltaGliderClient | None = field(default=None, repr=False)
    _output: Output | None = field(default=None, repr=False)
    # Workers may be the first to ask for the client: build it once.
    _client_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def out(self) -> Output:
        if self._output is None:
            self._output = Output(json_mode=self.json, quiet=self.quiet, progress=not self.no_progress)
        return self._output

    @property
    def upload_ratio(self) -> float | None:
        """The ``max_ratio`` for uploads: ``--no-delta`` refuses every delta (the file is stored whole)."""
        return 0.0 if self.no_delta else self.max_ratio

    @property
    def client(self) -> DeltaGliderClient:
        with self._client_lock:
            return self._client_once()

    def _client_once(self) -> DeltaGliderClient:
        if self._client is None:
            from deltaglider.factory import create_client

            install_log_handler(debug=self.debug, quiet=self.quiet)
            options: dict[str, Any] = {}
            if self.max_ratio is not None:
                options["max_ratio"] = self.max_ratio
            if self.profile:
                options["profile"] = self.profile
            if self.region:
                options["region"] = self.region
            if self.original_compatible:
                options["original_compatible"] = True
            if self.keep_history:
                options["keep_history"] = True
            if self.connect_timeout is not None:
                options["connect_timeout"] = self.connect_timeout
            if self.read_timeout is not None:
                options["read_timeout"] = self.read_timeout
            self._client = create_client(
                endpoint_url=self.endpoint_url,
                log_level="DEBUG" if self.debug else "ERROR" if self.quiet else "WARNING",
                cache_dir=self.cache_dir,
                **options,
            )
        return self._client
