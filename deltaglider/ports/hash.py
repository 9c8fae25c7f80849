"""The hash port: SHA-256 as lowercase hex."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from deltaglider.ports.storage import ProgressCallback


class HashPort(Protocol):
    def sha256_file(self, path: Path) -> str: ...

    def sha256_bytes(self, data: bytes) -> str: ...

    def copy_file(self, src: Path, dest: Path, progress: ProgressCallback | None = None) -> str:
        """Copies ``src`` to ``dest`` (created or truncated), reading it once in bounded chunks, and
        returns the SHA-256 of the bytes copied; ``progress`` gets each chunk's size as it is copied."""
        ...
