"""Two writers creating the same DeltaSpace at once: both files must come back (the original lost one)."""

from __future__ import annotations

import threading
from pathlib import Path

from support.sdk import make_service

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey, PutSummary


def race_first_uploads(storage: MemoryStorage, files: list[Path], space: DeltaSpace) -> list[PutSummary]:
    barrier = threading.Barrier(len(files))
    results: list[PutSummary | BaseException] = [RuntimeError("not run")] * len(files)

    def upload(i: int) -> None:
        service = make_service(storage)  # one client per thread, as the spec advises
        barrier.wait()
        try:
            results[i] = service.put(files[i], space)
        except BaseException as exc:  # pragma: no cover - reported below
            results[i] = exc

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(files))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return [r for r in results if isinstance(r, PutSummary)]


def test_concurrent_first_uploads_are_all_recoverable(releases: list[Path], tmp_path: Path) -> None:
    for round_ in range(5):
        storage = MemoryStorage()
        space = DeltaSpace("b", f"race{round_}")
        summaries = race_first_uploads(storage, releases, space)
        assert sum(s.key.endswith("reference.bin") for s in summaries) == 1
        assert sum(s.operation == "PUT_DELTA" for s in summaries) == len(releases) - 1
        for path in releases:
            out = tmp_path / "out.zip"
            make_service(storage).get(ObjectKey("b", f"{space.prefix}/{path.name}"), out)
            assert out.read_bytes() == path.read_bytes()
