"""Sample files for the examples when they are run without real ones: small "releases" of one build,
each a few edits away from the previous one, as consecutive builds of a project are."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deltaglider import DeltaGliderClient


def store_argument(value: str | None) -> str:
    """The store the example writes to: the one given, else a new temporary folder (a local store)."""
    if value:
        return value if value.endswith("/") else value + "/"
    return tempfile.mkdtemp(prefix="dg-example-store-") + "/"


def releases(
    folder: Path, pattern: str, versions: list[str], *, size: int = 200_000, seed: int = 7
) -> list[Path]:
    """One file per version (``pattern`` holds ``{version}``); each differs from the last by a few
    small insertions and overwrites, so they are stored as deltas of a few hundred bytes."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    data = bytearray(rng.randbytes(size))
    files = []
    for version in versions:
        for _ in range(3):
            at = rng.randrange(len(data))
            data[at:at] = rng.randbytes(rng.randrange(1, 64))
            at = rng.randrange(len(data) - 64)
            data[at : at + 16] = rng.randbytes(16)
        path = folder / pattern.format(version=version)
        path.write_bytes(bytes(data))
        files.append(path)
    return files


def fill_if_empty(client: DeltaGliderClient, folder_url: str, pattern: str, versions: list[str]) -> bool:
    """Publishes sample releases into ``folder_url`` when it holds no file yet, so that an example has
    something to work on when run on its own. True if it did."""
    if any(not entry.is_prefix for entry in client.list(folder_url)):
        return False
    with tempfile.TemporaryDirectory(prefix="dg-example-") as work:
        for path in releases(Path(work), pattern, versions):
            client.upload(path, folder_url)
    return True
