"""SHA-256 with hashlib, streaming files in chunks."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from deltaglider.ports.storage import ProgressCallback

_CHUNK: Final = 1 << 20


class Sha256Hasher:
    def sha256_file(self, path: Path) -> str:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()

    def sha256_bytes(self, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def copy_file(self, src: Path, dest: Path, progress: ProgressCallback | None = None) -> str:
        digest = hashlib.sha256()
        buf = bytearray(_CHUNK)
        view = memoryview(buf)
        with open(src, "rb", buffering=0) as fin, open(dest, "wb", buffering=0) as fout:
            while n := fin.readinto(buf):
                chunk = view[:n]
                digest.update(chunk)
                while chunk:
                    chunk = chunk[fout.write(chunk) :]
                if progress is not None:
                    progress(n)
        return digest.hexdigest()
