"""SHA-256 with hashlib, streaming files in chunks."""

from __future__ import annotations

import hashlib
from pathlib import Path


class Sha256Hasher:
    def sha256_file(self, path: Path) -> str:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()

    def sha256_bytes(self, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()
