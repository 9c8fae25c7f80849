"""What the operator chose for a server: where it listens, the key pair it accepts, whether anonymous
reads are allowed, and the limits that bound its resources."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8333
ACCESS_KEY_ENV: Final = "DG_SERVE_ACCESS_KEY"
SECRET_KEY_ENV: Final = "DG_SERVE_SECRET_KEY"

MIB: Final = 1024 * 1024
GIB: Final = 1024 * MIB


class SettingsError(ValueError):
    """A choice the server cannot run with (a key without its secret, a limit out of range)."""


@dataclass(frozen=True)
class ServeSettings:
    """A server's configuration. ``access_key``/``secret_key``: the one key pair whose Signature V4
    requests are accepted (None: no signed request is, so only anonymous reads can work).
    ``anonymous_read``: unsigned GET, HEAD and listings are allowed (writes never are)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    anonymous_read: bool = False
    #: Rebuilds (downloads through the SDK) running at once; more wait their turn.
    max_rebuilds: int = 4
    #: Rebuilt files kept for later readers, in bytes (0: a file is dropped once its last reader ends).
    cache_bytes: int = 2 * GIB
    #: The largest body of a PutObject or UploadPart (S3's own limit).
    max_object_bytes: int = 5 * GIB
    #: The smallest part of a multipart upload but the last (S3's own limit).
    min_part_bytes: int = 5 * MIB
    #: Parts of one multipart upload (S3's own limit).
    max_parts: int = 10_000
    #: The largest XML request body (DeleteObjects, CompleteMultipartUpload).
    max_xml_bytes: int = 4 * MIB
    #: How far a signed request's clock may be from ours, in seconds (S3 allows 15 minutes).
    max_clock_skew: int = 15 * 60
    #: Where uploads are spooled and files rebuilt: a fresh folder is made inside it (None: the
    #: system's temporary folder).
    scratch_dir: Path | None = None
    #: Bytes read or written at a time while streaming a body.
    chunk_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        if (self.access_key is None) != (self.secret_key is None):
            raise SettingsError("an access key and a secret key go together: give both or neither")
        if self.access_key is not None and not (self.access_key and self.secret_key):
            raise SettingsError("the access key and the secret key cannot be empty")
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port must be 0 to 65535, not {self.port}")
        for name in ("max_rebuilds", "max_object_bytes", "max_parts", "max_xml_bytes", "chunk_bytes"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("cache_bytes", "min_part_bytes", "max_clock_skew"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} cannot be negative, not {getattr(self, name)}")

    @property
    def signed_access(self) -> bool:
        """Whether a key pair is configured (signed requests can be accepted)."""
        return self.access_key is not None


def keys_from(
    access_key: str | None, secret_key: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The key pair given as options, else from ``DG_SERVE_ACCESS_KEY``/``DG_SERVE_SECRET_KEY``
    (each option taking precedence over its variable)."""
    env = os.environ if environ is None else environ
    return (
        access_key if access_key is not None else env.get(ACCESS_KEY_ENV) or None,
        secret_key if secret_key is not None else env.get(SECRET_KEY_ENV) or None,
    )
