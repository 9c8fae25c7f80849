"""What the tests of the original's boto3-shaped calls share (tests/boto_api): a client on a store
with a raw view of what it holds, and families of similar files."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deltaglider import DeltaGliderClient

REGION = "us-east-1"
SIZE = 200_000


@dataclass
class Bench:
    """A client on a store, the bucket a test uses in it, and a raw view of what is stored."""

    kind: str
    client: DeltaGliderClient
    bucket: str
    cache: Path
    s3: Any = None  # a plain boto3 client on moto's server
    root: Path | None = None  # the folder store's folder

    def stored(self) -> dict[str, int]:
        """Every stored object's size by key, hidden ones included, as the store lists them."""
        if self.s3 is not None:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
            return {obj["Key"]: obj["Size"] for page in pages for obj in page.get("Contents", [])}
        assert self.root is not None
        folder = self.root / self.bucket
        return {
            p.relative_to(folder).as_posix(): p.stat().st_size
            for p in folder.rglob("*")
            if p.is_file() and ".dg-meta" not in p.parts
        }

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}"


def family(folder: Path, count: int, *, seed: int = 7, size: int = SIZE, stem: str = "app") -> list[Path]:
    """``<stem>-1.<n>.tar`` releases of one random blob, each with a few hundred bytes changed: every
    one a small delta of the first (a ``.tar`` by name, so the first starts a reference)."""
    rng = random.Random(seed)
    blob = rng.randbytes(size)
    paths = []
    for n in range(count):
        data = bytearray(blob)
        at = rng.randrange(size - 400)
        data[at : at + 300] = rng.randbytes(300)
        path = folder / f"{stem}-1.{n}.tar"
        path.write_bytes(bytes(data))
        paths.append(path)
    return paths
