"""The composition root: ``create_client`` builds the settings, the boto3 client and the adapters.

``deltaglider.client`` holds the facade; this module only wires. boto3 is imported when S3 is first
used, never here at import time or while building a client (``import deltaglider`` stays cheap, and a
client used only with local folders never needs credentials).

The S3 client made here suits S3-compatible stores as well as AWS: botocore >= 1.36 computes and
validates CRC32 checksums on every request by default, sending them in aws-chunked trailers that
Hetzner, Cloudflare R2 and others reject; it is told to do so only where an operation requires it
(``when_required``), while every upload still carries the checksum the store verifies (``checksum``,
``Content-MD5`` by default; see ``adapters.storage_s3``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from deltaglider import config
from deltaglider.adapters.clock_utc import UtcClock
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_guard import GuardedMetrics
from deltaglider.adapters.metrics_logging import LoggingMetrics
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_lazy import LazyStorage
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_options import OptionsStorage, check_options
from deltaglider.client import DeltaGliderClient
from deltaglider.config import Settings
from deltaglider.core.service import DeltaService
from deltaglider.errors import StorageError
from deltaglider.ports.cache import CachePort
from deltaglider.ports.logger import LoggerPort
from deltaglider.ports.metrics import MetricsPort
from deltaglider.ports.storage import StoragePort
from deltaglider.urls import parse_url

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig

__all__ = ["S3Options", "Settings", "create_client"]

_ADDRESSING_STYLES = ("auto", "path", "virtual")

#: Credentials: never shown, in a repr or in an error message.
_SECRET_FIELDS: Final = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token"})

#: What ``create_client(**kwargs)`` passes on to boto3's ``Session.client`` (the original's own
#: ``**kwargs``): the parameters of that call that no keyword of ours names. ``config`` is
#: ``boto_config``.
BOTO3_CLIENT_KEYWORDS: Final = ("api_version", "use_ssl", "verify", "aws_account_id")


@dataclass(frozen=True)
class S3Options:
    """How the S3 client is built and what every object written gets. See ``create_client``."""

    s3_client: Any = None
    session: Any = None
    profile: str | None = None
    region: str | None = None
    boto_config: Any = None
    addressing_style: str | None = None
    max_attempts: int | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None
    checksum: str | None = config.DEFAULT_CHECKSUM
    sse: str | None = None
    sse_kms_key_id: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    client_kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checksum", config.check_checksum(self.checksum))
        config.check_sse(self.sse, self.sse_kms_key_id)
        self._check_credentials()
        unknown = sorted(set(self.client_kwargs) - set(BOTO3_CLIENT_KEYWORDS))
        if unknown:
            raise TypeError(
                f"client_kwargs takes boto3 client arguments ({', '.join(BOTO3_CLIENT_KEYWORDS)}), "
                f"not {', '.join(unknown)}"
            )
        object.__setattr__(self, "client_kwargs", dict(self.client_kwargs))
        builds = {
            "session": self.session,
            "profile": self.profile,
            "region": self.region,
            "boto_config": self.boto_config,
            "addressing_style": self.addressing_style,
            "max_attempts": self.max_attempts,
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            **self.client_kwargs,
        }
        given = sorted(name for name, value in builds.items() if value is not None)
        if self.s3_client is not None and given:
            raise TypeError(f"s3_client is a ready client: {', '.join(given)} cannot apply to it")
        if self.session is not None and self.profile is not None:
            raise TypeError("profile selects a session: pass session or profile, not both")
        if self.addressing_style is not None and self.addressing_style not in _ADDRESSING_STYLES:
            raise ValueError(
                f"addressing_style must be one of {', '.join(_ADDRESSING_STYLES)}, "
                f"not {self.addressing_style!r}"
            )
        if self.max_attempts is not None and (isinstance(self.max_attempts, bool) or self.max_attempts < 1):
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts!r}")
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf
            ):
                raise ValueError(f"{name} must be a number of seconds (0 for no limit), not {value!r}")

    def _check_credentials(self) -> None:
        """Keys make the session: they cannot also come from elsewhere, and come as a pair."""
        keys = [name for name in sorted(_SECRET_FIELDS) if getattr(self, name) is not None]
        if not keys:
            return
        holders = [name for name in ("s3_client", "session", "profile") if getattr(self, name) is not None]
        if holders:
            raise ValueError(
                f"{' and '.join(keys)} cannot apply to the {holders[0]} given, which brings its own "
                "credentials: pass one or the other"
            )
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ValueError("aws_access_key_id and aws_secret_access_key go together: pass both")
        if self.aws_access_key_id is None:
            raise ValueError(
                "aws_session_token belongs to temporary credentials: pass it with their "
                "aws_access_key_id and aws_secret_access_key"
            )

    def botocore_config(self) -> Any:
        """Our defaults, under the caller's ``boto_config``, under the explicit options."""
        from botocore.config import Config

        config = Config(
            request_checksum_calculation="when_required", response_checksum_validation="when_required"
        )
        if self.boto_config is not None:
            config = config.merge(self.boto_config)
        explicit: dict[str, Any] = {}
        if self.max_attempts is not None:
            explicit["retries"] = {"total_max_attempts": self.max_attempts, "mode": "standard"}
        # 0 is no limit, as in the AWS CLI: botocore (urllib3) says that with None.
        if self.connect_timeout is not None:
            explicit["connect_timeout"] = self.connect_timeout or None
        if self.read_timeout is not None:
            explicit["read_timeout"] = self.read_timeout or None
        if self.addressing_style is not None:
            explicit["s3"] = {**(config.s3 or {}), "addressing_style": self.addressing_style}
        return config.merge(Config(**explicit)) if explicit else config

    def client(self, endpoint_url: str | None) -> Any:
        if self.s3_client is not None:
            return self.s3_client
        import boto3

        # boto3 itself reads AWS_ENDPOINT_URL(_S3), AWS_PROFILE, AWS_DEFAULT_REGION and, unless
        # given here, the credentials.
        session = self.session or boto3.session.Session(
            profile_name=self.profile,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
        )
        return session.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=self.region,
            config=self.botocore_config(),
            **self.client_kwargs,
        )


def _build_cache(settings: config.Settings, logger: LoggerPort, hasher: Sha256Hasher) -> CachePort:
    if settings.cache_backend == "memory":
        from deltaglider.adapters.cache_memory import MemoryCache

        return MemoryCache(max_bytes=settings.cache_max_bytes, hasher=hasher)
    from deltaglider.adapters.cache_fs import FsCache, resolve_cache_dir

    root = resolve_cache_dir(settings.cache_dir, logger)
    return FsCache(root, max_bytes=settings.cache_max_bytes, hasher=hasher, logger=logger)


def _build_metrics(settings: config.Settings, s3: S3Options) -> MetricsPort:
    """The adapter ``settings.metrics`` names (``DG_METRICS``). CloudWatch uses the S3 client's
    session, profile and region, if given, and boto3's defaults otherwise."""
    chosen = settings.metrics
    if chosen is None:
        return LoggingMetrics() if settings.log_level == "DEBUG" else NoopMetrics()
    if chosen == "logging":
        return LoggingMetrics(level=logging.INFO)
    if chosen == "cloudwatch":
        from deltaglider.adapters.metrics_cloudwatch import CloudWatchMetrics

        return CloudWatchMetrics(
            settings.metrics_namespace, session=s3.session, profile=s3.profile, region=s3.region
        )
    if chosen == "prometheus":
        try:
            from deltaglider.adapters import metrics_prometheus
        except ImportError as exc:
            raise ImportError(
                "metrics=prometheus (DG_METRICS) needs the prometheus_client package: "
                "pip install 'deltaglider-native[prometheus]'"
            ) from exc
        if settings.prometheus_textfile is None and settings.prometheus_pushgateway is None:
            return metrics_prometheus.PrometheusMetrics()
        return metrics_prometheus.ExportedPrometheusMetrics(
            textfile=settings.prometheus_textfile,
            pushgateway=settings.prometheus_pushgateway,
            job=settings.prometheus_job,
        )
    return NoopMetrics()


def _s3_storage(endpoint_url: str | None, options: S3Options, transfer: TransferConfig | None) -> StoragePort:
    try:
        from deltaglider.adapters.storage_s3 import S3Storage  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise StorageError(f"S3 support is not available in this installation: {exc}") from exc
    from botocore.exceptions import BotoCoreError

    try:
        s3_client = options.client(endpoint_url)
    except BotoCoreError as exc:
        # An unknown profile, a malformed config file...: botocore's message says which.
        raise StorageError(f"cannot set up the S3 client: {exc}") from exc
    storage: StoragePort = S3Storage(
        s3_client,
        transfer_config=transfer,
        checksum=options.checksum,
        sse=options.sse,
        sse_kms_key_id=options.sse_kms_key_id,
    )
    return storage


def _combined(name: str, given: Any, shortcut: dict[str, Any], normalised: Any, defaults: Any) -> Any:
    """``given`` (a ``Settings`` or ``S3Options``) with the flat keywords in ``shortcut`` applied.

    ``normalised`` is the same class built from ``shortcut`` alone, so that ``"error"`` and
    ``"ERROR"``, or ``"1MiB"`` and ``1048576``, compare equal. A field the object leaves at its default
    takes the keyword; a field it sets to another value than the keyword is a mistake worth naming
    rather than a choice to guess.
    """
    for key in shortcut:
        ours, theirs = getattr(normalised, key), getattr(given, key)
        if theirs != getattr(defaults, key) and theirs != ours:
            if key in _SECRET_FIELDS:
                raise ValueError(f"{key} is given twice, with two values: {name}({key}=...) and {key}=...")
            raise ValueError(f"{key} is given twice: {name}({key}={theirs!r}) and {key}={ours!r}; pass one")
    return dataclasses.replace(given, **{key: getattr(normalised, key) for key in shortcut})


def _original_keywords(
    region: str | None, region_name: str | None, boto_config: Any, boto3_kwargs: dict[str, Any]
) -> tuple[str | None, Any]:
    """``region`` and ``boto_config`` with the original's spellings (``region_name``, and boto3's
    ``config`` among the ``**kwargs``) folded in; ``boto3_kwargs`` keeps what boto3 alone takes."""
    if region_name is not None:
        if region is not None and region != region_name:
            raise ValueError(f"region={region!r} and region_name={region_name!r} name two regions; pass one")
        region = region_name
    if "config" in boto3_kwargs:
        given = boto3_kwargs.pop("config")
        if boto_config is not None and given is not boto_config:
            raise ValueError("boto_config and config are both given: pass the botocore Config once")
        boto_config = given
    unknown = sorted(set(boto3_kwargs) - set(BOTO3_CLIENT_KEYWORDS))
    if unknown:
        raise TypeError(f"create_client() got an unexpected keyword argument {unknown[0]!r}")
    return region, boto_config


def create_client(
    endpoint_url: str | None = None,
    log_level: str | None = None,
    cache_dir: str | None = None,
    *,
    s3: S3Options | None = None,
    settings: Settings | None = None,
    transfer: TransferConfig | None = None,
    tool_version: str | None = None,
    max_ratio: float | None = None,
    cache_backend: str | None = None,
    cache_max_bytes: int | str | None = None,
    s3_client: Any = None,
    session: Any = None,
    profile: str | None = None,
    region: str | None = None,
    boto_config: Any = None,
    addressing_style: str | None = None,
    max_attempts: int | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    checksum: str | None = config.DEFAULT_CHECKSUM,
    sse: str | None = None,
    sse_kms_key_id: str | None = None,
    storage_class: str | None = None,
    tags: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
    original_compatible: bool | None = None,
    keep_history: bool | None = None,
    metrics: str | MetricsPort | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    aws_session_token: str | None = None,
    region_name: str | None = None,
    **boto3_kwargs: Any,
) -> DeltaGliderClient:
    """A client with sensible defaults.

    Three objects configure it, each optional: ``settings`` (a ``Settings``: log level, cache, ratio,
    compatibility), ``s3`` (an ``S3Options``: how the S3 client is built and what every object written
    gets) and ``transfer`` (a boto3 ``TransferConfig``: ``multipart_threshold``,
    ``multipart_chunksize`` and ``max_concurrency`` size multipart uploads and ranged downloads; S3
    only, boto3's defaults when not given). The keywords below are a shortcut for the fields of
    ``settings`` and ``s3``. With an object, a keyword given fills that field; a keyword and an object
    giving the same field different values raise ``ValueError``. A keyword left at its default is not
    given. A ``settings`` object is used as it is: the ``DG_*`` variables fill only settings resolved
    here without one (``config.resolve`` makes a ``Settings`` from them).

    ``log_level`` (default ``INFO``) and ``cache_dir`` (default ``/tmp/.deltaglider/cache``) fall back
    to ``DG_LOG_LEVEL`` / ``DG_CACHE_DIR`` when not given; ``max_ratio`` (0.5, ``DG_MAX_RATIO``),
    ``cache_backend`` (``filesystem`` or ``memory``, ``DG_CACHE_BACKEND``), ``cache_max_bytes``
    (``DG_CACHE_MAX_BYTES``) likewise. An ``endpoint_url`` of ``file:///some/folder`` serves
    ``s3://bucket/...`` URLs from ``/some/folder/bucket/...`` instead of S3.

    The S3 client: ``endpoint_url`` (else ``AWS_ENDPOINT_URL``, which boto3 reads), ``profile``,
    ``region``, ``addressing_style`` (``path`` for most S3-compatible stores), ``max_attempts``
    (total, retries included), ``connect_timeout``/``read_timeout`` (seconds, botocore's 60 unless
    given; 0 for no limit); or a boto3
    ``session``, a botocore ``boto_config`` (merged under the options above), or a ready
    ``s3_client`` (used as it is).

    Every object written: ``checksum`` (``md5`` — ``Content-MD5``, verified by every S3-compatible
    store — or ``crc32``, ``sha1``, ``sha256``; None for none), ``sse`` (``AES256``,
    ``aws:kms`` with ``sse_kms_key_id``), ``storage_class`` (never applied to a reference if it is
    an archive class), ``tags`` and user ``metadata`` on every upload (an upload's own add to them).

    ``original_compatible`` (``DG_ORIGINAL_COMPATIBLE``; default off) writes only what the original
    DeltaGlider 6.2.0 reads: no archive-aware deltas (zip and gzip content stored as the delta of its
    decoded form), and only the original's extensions and uncompressed content go down the delta path.
    Either way, everything the original wrote is read.

    ``keep_history`` (``DG_KEEP_HISTORY``; default off): an upload over a name, or a delete of it,
    keeps the version it replaces in the name's history (``list_versions``, ``download(...,
    version=...)``), each old version costing what it cost before: its delta, or the file stored
    whole. Not with ``original_compatible``.

    The original DeltaGlider's keywords work too: ``aws_access_key_id``, ``aws_secret_access_key``
    and ``aws_session_token`` (credentials for this client only, instead of those boto3 finds; not
    with a ``session``, ``profile`` or ``s3_client``, which bring their own), ``region_name`` (the same
    as ``region``), and any other keyword of boto3's ``Session.client`` (``verify``, ``use_ssl``,
    ``api_version``, ``aws_account_id``; ``config`` is ``boto_config``), passed on to it. A
    keyword of the original and ours naming one thing twice, with two values, is a ``ValueError``.

    ``metrics`` (``DG_METRICS``): ``noop``, ``logging`` (INFO lines, logger ``deltaglider.metrics``),
    ``cloudwatch`` (namespace ``DG_METRICS_NAMESPACE``, default ``DeltaGlider``) or ``prometheus``
    (the ``prometheus`` extra: ``prometheus_client.REGISTRY``, or a file ``DG_PROMETHEUS_TEXTFILE``
    and/or a Pushgateway ``DG_PROMETHEUS_PUSHGATEWAY`` written at exit); or an adapter of one's own
    (a ``MetricsPort``, such as ``PrometheusMetrics(registry)``). Unset, metrics are DEBUG log lines
    at log level DEBUG. A failing adapter is logged and never fails an upload or a download.
    """
    given = _given_keywords(locals())
    region, boto_config = _original_keywords(region, region_name, boto_config, boto3_kwargs)
    # As ``config.resolve`` reads them: None, and an empty name, are "not given".
    flat_settings: dict[str, Any] = {
        name: value
        for name, value in (
            ("log_level", log_level),
            ("cache_dir", os.fspath(cache_dir) if cache_dir is not None else None),
            ("cache_backend", cache_backend.lower() if cache_backend is not None else None),
            ("cache_max_bytes", cache_max_bytes),
            ("max_ratio", max_ratio),
            ("tool_version", tool_version),
            ("original_compatible", original_compatible),
            ("keep_history", keep_history),
            ("metrics", metrics if isinstance(metrics, str) else None),
        )
        if value is not None and value != ""
    }
    if settings is None:
        settings = config.resolve(**flat_settings)
    else:
        settings = _combined("Settings", settings, flat_settings, Settings(**flat_settings), Settings())
    flat_s3: dict[str, Any] = {
        name: value
        for name, value in (
            ("s3_client", s3_client),
            ("session", session),
            ("profile", profile),
            ("region", region),
            ("boto_config", boto_config),
            ("addressing_style", addressing_style),
            ("max_attempts", max_attempts),
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("sse", sse),
            ("sse_kms_key_id", sse_kms_key_id),
            ("aws_access_key_id", aws_access_key_id),
            ("aws_secret_access_key", aws_secret_access_key),
            ("aws_session_token", aws_session_token),
        )
        if value is not None
    }
    if boto3_kwargs:
        flat_s3["client_kwargs"] = boto3_kwargs
    if checksum != config.DEFAULT_CHECKSUM:
        flat_s3["checksum"] = checksum
    if s3 is None:
        s3 = S3Options(**flat_s3)
    else:
        # Built from the keywords alone only to normalise them: the combination is checked below.
        s3 = _combined("S3Options", s3, flat_s3, S3Options(**flat_s3), S3Options())
    if transfer is not None and not hasattr(transfer, "multipart_threshold"):
        raise TypeError(f"transfer must be a boto3.s3.transfer.TransferConfig, not {type(transfer).__name__}")
    options = check_options(tags=tags, metadata=metadata, storage_class=storage_class)
    logger = StdLogger(level=settings.log_level)
    hasher = Sha256Hasher()
    storage: StoragePort
    if endpoint_url is not None and endpoint_url.lower().startswith("file://"):
        root = parse_url(endpoint_url.rstrip("/") + "/")
        storage = LocalStorage(str(root))
    else:
        s3_options = s3
        storage = LazyStorage(lambda: _s3_storage(endpoint_url, s3_options, transfer))
    service = DeltaService(
        storage=OptionsStorage(storage, options),
        diff=XDelta3Diff(),
        hasher=hasher,
        cache=_build_cache(settings, logger, hasher),
        clock=UtcClock(),
        logger=logger,
        metrics=GuardedMetrics(
            _build_metrics(settings, s3) if metrics is None or isinstance(metrics, str) else metrics, logger
        ),
        tool_version=settings.tool_version,
        max_ratio=settings.max_ratio,
        original_compatible=settings.original_compatible,
        keep_history=settings.keep_history,
    )
    client = DeltaGliderClient(service, endpoint_url, put_options=options)
    client._made_with = given
    return client


def _given_keywords(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of a ``create_client`` call that are not its defaults: what another process
    needs to build the same client (``deltaglider.bulk.spec``)."""
    import inspect

    given: dict[str, Any] = {}
    for name, parameter in inspect.signature(create_client).parameters.items():
        value = arguments[name]
        if parameter.kind is parameter.VAR_KEYWORD:
            given.update(value)
        elif value is not parameter.default and not (
            parameter.default is not None and value == parameter.default
        ):
            given[name] = value
    return given
