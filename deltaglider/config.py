"""Settings: defaults, ``DG_*`` environment variables, and the order they resolve in.

A setting comes from the call's argument, else the client's (``create_client(...)``), else the
environment, else the default below. ``None`` always means "not given here". A ``Settings`` object
passed to ``create_client(settings=...)`` is taken whole, without the environment; ``resolve`` makes
one from the environment.

| setting          | environment           | default                     |
|------------------|-----------------------|-----------------------------|
| log_level        | DG_LOG_LEVEL          | INFO                        |
| cache_dir        | DG_CACHE_DIR          | /tmp/.deltaglider/cache     |
| cache_backend    | DG_CACHE_BACKEND      | filesystem (or ``memory``)  |
| cache_max_bytes  | DG_CACHE_MAX_BYTES    | 256 MiB (fits Lambda's 512 MB /tmp beside the work files) |
|                  | DG_CACHE_MEMORY_SIZE_MB (the original's, in MiB: the memory backend's fallback) | |
| max_ratio        | DG_MAX_RATIO          | 0.5                         |
| tool_version     | (none)                | deltaglider/<version>       |
| metrics          | DG_METRICS            | none chosen: DEBUG log lines at log level DEBUG, else nothing |
| metrics_namespace | DG_METRICS_NAMESPACE | DeltaGlider (CloudWatch's namespace) |
| prometheus_textfile | DG_PROMETHEUS_TEXTFILE | (none) a file written at exit, node_exporter's format |
| prometheus_pushgateway | DG_PROMETHEUS_PUSHGATEWAY | (none) host:port pushed to at exit |
| prometheus_job   | DG_PROMETHEUS_JOB     | deltaglider (the Pushgateway's job) |

The S3 options of ``create_client`` (checksum, encryption...) are checked here too, without boto3.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from deltaglider._version import __version__

DEFAULT_LOG_LEVEL: Final = "INFO"
DEFAULT_CACHE_DIR: Final = "/tmp/.deltaglider/cache"
DEFAULT_CACHE_BACKEND: Final = "filesystem"
DEFAULT_CACHE_MAX_BYTES: Final = 256 * 1024 * 1024
DEFAULT_MAX_RATIO: Final = 0.5
DEFAULT_TOOL_VERSION: Final = f"deltaglider/{__version__}"
#: Threads of a batch (many uploads or downloads, a tree copied, synced or verified), the SDK's and the
#: command line's alike.
DEFAULT_WORKERS: Final = 8

#: Where metrics go: nowhere, log lines (INFO, logger ``deltaglider.metrics``), CloudWatch, Prometheus.
METRICS_BACKENDS: Final = ("noop", "logging", "cloudwatch", "prometheus")
#: The original DeltaGlider's CloudWatch namespace, so that its dashboards and alarms keep working.
DEFAULT_METRICS_NAMESPACE: Final = "DeltaGlider"
DEFAULT_PROMETHEUS_JOB: Final = "deltaglider"

#: The upload checksums S3 verifies: ``md5`` travels as ``Content-MD5`` (the one every S3-compatible
#: store checks), the others as ``ChecksumAlgorithm`` (``x-amz-checksum-*``).
CHECKSUMS: Final = ("md5", "crc32", "sha1", "sha256")
DEFAULT_CHECKSUM: Final = "md5"
#: Server-side encryption modes S3 knows (``aws:kms:dsse`` is dual-layer KMS).
SSE_MODES: Final = ("AES256", "aws:kms", "aws:kms:dsse")

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
CACHE_BACKENDS: Final = ("filesystem", "memory")
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def check_max_ratio(value: object) -> float:
    """A delta/file ratio: a finite number from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"max_ratio must be a number from 0 to 1, not {value!r}")
    ratio = float(value)
    if not math.isfinite(ratio) or not 0.0 <= ratio <= 1.0:
        raise ValueError(f"max_ratio must be a number from 0 to 1, not {value!r}")
    return ratio


def check_checksum(value: str | None) -> str | None:
    """An upload checksum name, lowercased, or None (no checksum: only for stores refusing them all)."""
    if value is None:
        return None
    name = str(value).strip().lower()
    if name not in CHECKSUMS:
        raise ValueError(f"checksum must be one of {', '.join(CHECKSUMS)} or None, not {value!r}")
    return name


def check_sse(sse: str | None, kms_key_id: str | None) -> None:
    if sse is not None and sse not in SSE_MODES:
        raise ValueError(f"sse must be one of {', '.join(SSE_MODES)} or None, not {sse!r}")
    if kms_key_id is not None and not (sse or "").startswith("aws:kms"):
        raise ValueError("sse_kms_key_id needs sse='aws:kms'")


def check_log_level(value: str) -> str:
    level = str(value).strip().upper()
    if level == "WARN":
        level = "WARNING"
    if level not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return level


def check_metrics(value: str) -> str:
    name = str(value).strip().lower()
    if name not in METRICS_BACKENDS:
        raise ValueError(f"metrics must be one of {', '.join(METRICS_BACKENDS)}, not {value!r}")
    return name


def parse_size(value: str | int) -> int:
    """Bytes from an int or a string like ``400MB``, ``1GiB``, ``1048576`` (binary units)."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE_RE.match(str(value))
        if match is None:
            raise ValueError(f"not a size: {value!r} (try 268435456, 256MB or 1GiB)")
        size = int(match.group(1)) * _UNITS[(match.group(2) or "")[:1].lower()]
    if size < 0:
        raise ValueError(f"a size cannot be negative: {value!r}")
    return size


def _env_float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class Settings:
    """The client's settings, checked and normalised (a level's name in capitals, a size in bytes)."""

    log_level: str = DEFAULT_LOG_LEVEL
    cache_dir: str = DEFAULT_CACHE_DIR
    cache_backend: str = DEFAULT_CACHE_BACKEND
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES
    max_ratio: float = DEFAULT_MAX_RATIO
    tool_version: str = DEFAULT_TOOL_VERSION
    original_compatible: bool = False
    #: Overwrites and deletes keep the version they replace (core.history); not with the above.
    keep_history: bool = False
    metrics: str | None = None  # None: not chosen (see the table above)
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    prometheus_textfile: str | None = None
    prometheus_pushgateway: str | None = None
    prometheus_job: str = DEFAULT_PROMETHEUS_JOB

    def __post_init__(self) -> None:
        object.__setattr__(self, "log_level", check_log_level(self.log_level))
        object.__setattr__(self, "max_ratio", check_max_ratio(self.max_ratio))
        object.__setattr__(self, "cache_max_bytes", parse_size(self.cache_max_bytes))
        if self.cache_backend not in CACHE_BACKENDS:
            raise ValueError(
                f"cache_backend must be one of {', '.join(CACHE_BACKENDS)}, not {self.cache_backend!r}"
            )
        if not self.cache_dir:
            raise ValueError("cache_dir must not be empty")
        if not self.tool_version:
            raise ValueError("tool_version must not be empty")
        if self.metrics is not None:
            object.__setattr__(self, "metrics", check_metrics(self.metrics))
        if not self.metrics_namespace:
            raise ValueError("metrics_namespace must not be empty")
        if not self.prometheus_job:
            raise ValueError("prometheus_job must not be empty")
        if self.keep_history and self.original_compatible:
            raise ValueError(
                "keep_history needs the default mode: in original_compatible mode history is off "
                "(the original would neither keep nor read it)"
            )


def resolve(
    *,
    log_level: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cache_backend: str | None = None,
    cache_max_bytes: int | str | None = None,
    max_ratio: float | None = None,
    tool_version: str | None = None,
    original_compatible: bool | None = None,
    keep_history: bool | None = None,
    metrics: str | None = None,
    metrics_namespace: str | None = None,
    prometheus_textfile: str | os.PathLike[str] | None = None,
    prometheus_pushgateway: str | None = None,
    prometheus_job: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """The client's settings: each given argument, else its ``DG_*`` variable, else the default."""
    env = os.environ if env is None else env
    env_ratio = _env_float(env, "DG_MAX_RATIO")
    backend = (cache_backend or env.get("DG_CACHE_BACKEND", "").strip() or DEFAULT_CACHE_BACKEND).lower()
    env_cache_size = env.get("DG_CACHE_MAX_BYTES", "").strip() or (
        _original_memory_cache_size(env) if backend == "memory" else None
    )
    return Settings(
        log_level=log_level or env.get("DG_LOG_LEVEL", "").strip() or DEFAULT_LOG_LEVEL,
        cache_dir=os.fspath(cache_dir)
        if cache_dir
        else env.get("DG_CACHE_DIR", "").strip() or DEFAULT_CACHE_DIR,
        cache_backend=backend,
        cache_max_bytes=parse_size(
            cache_max_bytes if cache_max_bytes is not None else env_cache_size or DEFAULT_CACHE_MAX_BYTES
        ),
        max_ratio=max_ratio
        if max_ratio is not None
        else env_ratio
        if env_ratio is not None
        else DEFAULT_MAX_RATIO,
        tool_version=tool_version or DEFAULT_TOOL_VERSION,
        original_compatible=original_compatible
        if original_compatible is not None
        else env_flag(env, "DG_ORIGINAL_COMPATIBLE"),
        keep_history=keep_history if keep_history is not None else env_flag(env, "DG_KEEP_HISTORY"),
        metrics=metrics or env.get("DG_METRICS", "").strip() or None,
        metrics_namespace=metrics_namespace
        or env.get("DG_METRICS_NAMESPACE", "").strip()
        or DEFAULT_METRICS_NAMESPACE,
        prometheus_textfile=os.fspath(prometheus_textfile)
        if prometheus_textfile
        else env.get("DG_PROMETHEUS_TEXTFILE", "").strip() or None,
        prometheus_pushgateway=prometheus_pushgateway
        or env.get("DG_PROMETHEUS_PUSHGATEWAY", "").strip()
        or None,
        prometheus_job=prometheus_job or env.get("DG_PROMETHEUS_JOB", "").strip() or DEFAULT_PROMETHEUS_JOB,
    )


def _original_memory_cache_size(env: Mapping[str, str]) -> int | None:
    """The original DeltaGlider's ``DG_CACHE_MEMORY_SIZE_MB`` (whole megabytes, read as MiB as it
    does) in bytes, or None when unset."""
    raw = env.get("DG_CACHE_MEMORY_SIZE_MB", "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(f"DG_CACHE_MEMORY_SIZE_MB={raw!r} is not a whole number of megabytes")
    return int(raw) * _UNITS["m"]


_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("", "0", "false", "no", "off")


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """A yes/no variable; a value that is neither is an error rather than a guess."""
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0 (or true/false, yes/no, on/off), not {env[name]!r}")
