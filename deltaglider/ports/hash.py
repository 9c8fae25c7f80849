"""The hash port: SHA-256 as lowercase hex."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class HashPort(Protocol):
    def sha256_file(self, path: Path) -> str: ...

    def sha256_bytes(self, data: bytes) -> str: ...
