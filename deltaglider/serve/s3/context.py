"""What every S3 handler works with: the server's parts (``S3Server``) and the request being answered
(``Call``)."""

from __future__ import annotations

import asyncio
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request

from deltaglider.serve.rebuilds import Rebuilds
from deltaglider.serve.settings import ServeSettings
from deltaglider.serve.sigv4 import Verified
from deltaglider.serve.store import Store

if TYPE_CHECKING:
    from deltaglider.serve.s3.multipart import Uploads


@dataclass
class S3Server:
    """The store, the settings, the shared rebuilds and multipart uploads, and the scratch folder."""

    store: Store
    settings: ServeSettings
    scratch: Path
    rebuilds: Rebuilds
    uploads: Uploads
    #: Uploads being stored through the SDK at once (each encodes a delta: CPU and disk).
    writes: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))


@dataclass(frozen=True)
class Call:
    """One request: its bucket and key (decoded, checked by the handler that needs them), its query
    (first value of each name), and its verified signature (None: anonymous)."""

    request: Request
    bucket: str
    key: str
    query: dict[str, str]
    verified: Verified | None

    @staticmethod
    def query_of(request: Request) -> dict[str, str]:
        pairs = urllib.parse.parse_qsl(
            request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
        )
        query: dict[str, str] = {}
        for name, value in pairs:
            query.setdefault(name, value)
        return query
