"""The public API as a typed application uses it; test_typing.py checks this file with ``mypy --strict``
against the installed package (it is never run). Every name here is one the README documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from deltaglider import (
    DecodeError,
    DeleteResult,
    DeltaGliderClient,
    DeltaGliderError,
    IntegrityError,
    ListEntry,
    NotFoundError,
    StatsSummary,
    UploadSummary,
    __version__,
    codec,
    create_client,
)

VERSION: str = __version__


def make_client(endpoint: str | None) -> DeltaGliderClient:
    return create_client(endpoint_url=endpoint, log_level="WARNING", cache_dir="/tmp/dg-cache", max_ratio=0.4)


def store(client: DeltaGliderClient, path: Path, folder: str) -> tuple[str, float, bool]:
    summary: UploadSummary = client.upload(path, folder, max_ratio=0.3)
    saved: float = summary.savings_percent
    return summary.operation, saved, summary.is_delta


def fetch(client: DeltaGliderClient, url: str, dest: Path) -> bool:
    seen: list[int] = []
    try:
        client.download(url, dest, progress=seen.append)
    except NotFoundError:
        return False
    except IntegrityError as exc:
        raise RuntimeError(f"corrupt: {url}") from exc
    return client.verify(url)


def sizes(client: DeltaGliderClient, folder: str) -> Iterator[tuple[str, int | None, int]]:
    entry: ListEntry
    for entry in client.list(folder, recursive=True):
        yield entry.name, entry.original_size, entry.stored_size


def totals(client: DeltaGliderClient, folder: str) -> tuple[int, float]:
    stats: StatsSummary = client.stats(folder)
    return stats.file_count, stats.savings_percent


def remove(client: DeltaGliderClient, url: str) -> list[str]:
    result: DeleteResult = client.delete(url, force=False)
    return result.deleted


def round_trip(old: bytes, new: bytes) -> bytes:
    delta: bytes = codec.encode(old, new, level=6, secondary=None)
    try:
        return codec.decode(memoryview(old), delta, expected_size=len(new))
    except DecodeError as exc:
        message: str = exc.args[0]
        raise DeltaGliderError(message) from exc


def delta_file(old: Path, new: Path, out: Path) -> int:
    return codec.encode_file(old, new, out)
