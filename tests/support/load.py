"""Load: M processes x N threads uploading, downloading and deleting in shared DeltaSpaces on moto's
server for a bounded time, then every file read back over a fresh client.

Each thread owns its names (so its model of what they hold is exact) but shares the DeltaSpaces, the
references and the cache folder with every other thread and process. ``pin`` first stores one file
per DeltaSpace that nobody deletes, so its reference always has a delta depending on it; without it a
delete may remove a reference that a concurrent upload is encoding against (issue 8, finding 1).

Used by ``test_load.py`` (a few seconds) and ``bench/load.py`` (by hand, figures).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deltaglider import DeltaGliderClient, create_client
from deltaglider.errors import DeltaGliderError, NotFoundError
from support.workload import Contents, Model, Report, Workload, digest


@dataclass(frozen=True)
class LoadConfig:
    endpoint_url: str
    spaces: list[str]
    workdir: str
    cache_dir: str
    processes: int = 2
    threads: int = 2
    seconds: float = 5.0
    file_size: int = 64 * 1024
    names_per_thread: int = 3
    seed: int = 0
    #: Where the final read-back goes (default ``endpoint_url``): the server itself when the workers
    #: go through a fault proxy.
    check_endpoint_url: str | None = None
    #: Through faults a failed download is expected; only wrong bytes count then.
    faulty: bool = False
    #: Every thread writes the same names (no deletes): the last writer must win and one form of
    #: each name must survive, whole or delta (issue 8, finding 2). The final read accepts any
    #: version anyone uploaded.
    shared_names: bool = False


@dataclass
class WorkerResult:
    ops: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    allowed: dict[str, set[str | None]] = field(default_factory=dict)
    history: dict[str, set[str]] = field(default_factory=dict)
    bytes_up: int = 0
    bytes_down: int = 0


def _client(config: LoadConfig) -> DeltaGliderClient:
    return create_client(endpoint_url=config.endpoint_url, cache_dir=config.cache_dir, log_level="ERROR")


class _Thread:
    """One thread's loop over its own names; ``model`` is exact because nobody else writes them."""

    def __init__(self, config: LoadConfig, client: DeltaGliderClient, worker: str, seed: int) -> None:
        self.config = config
        self.client = client
        self.rng = random.Random(seed)
        self.contents = Contents(random.Random(seed + 1), config.file_size, base_seed=config.seed)
        self.model = Model()
        self.result = WorkerResult()
        owner = "shared" if config.shared_names else worker
        self.names = [f"{owner}-{k}.zip" for k in range(config.names_per_thread)] + [f"{owner}.txt"]
        self.scratch = Path(config.workdir) / worker
        self.scratch.mkdir(parents=True, exist_ok=True)

    def run(self, deadline: float) -> WorkerResult:
        while time.monotonic() < deadline:
            space = self.rng.choice(self.config.spaces)
            name = self.rng.choice(self.names)
            roll = self.rng.random()
            present = [u for u, states in self.model.allowed.items() if states != {None}]
            if roll < 0.5 or not present:
                self.upload(space, name)
            elif roll < 0.85 or self.config.shared_names:
                self.download(self.rng.choice(present))
            else:
                self.delete(self.rng.choice(present))
        self.result.allowed = self.model.allowed
        self.result.history = self.model.history
        return self.result

    def upload(self, space: str, name: str) -> None:
        data = self.contents.make(space, name)
        folder = self.scratch / uuid.uuid4().hex
        folder.mkdir()
        (folder / name).write_bytes(data)
        try:
            self.client.upload(folder / name, space)
        except DeltaGliderError as exc:
            self.result.errors[f"upload:{type(exc).__name__}"] += 1
            self.model.uploaded(space + name, digest(data), ok=False)
        else:
            self.result.ops["upload"] += 1
            self.result.bytes_up += len(data)
            self.model.uploaded(space + name, digest(data), ok=True)
        shutil.rmtree(folder)

    def download(self, url: str) -> None:
        dest = self.scratch / f"dl-{uuid.uuid4().hex}"
        try:
            self.client.download(url, dest)
        except DeltaGliderError as exc:
            self.result.errors[f"download:{type(exc).__name__}"] += 1
            if not self.config.faulty:
                self.result.problems.append(
                    f"download {url} failed while stored: {type(exc).__name__}: {exc}"
                )
        else:
            self.result.ops["download"] += 1
            data = dest.read_bytes()
            self.result.bytes_down += len(data)
            # Shared names hold other threads' versions too: only the final read can judge them.
            if not self.config.shared_names and digest(data) not in self.model.allowed[url]:
                self.result.problems.append(f"download {url}: wrong bytes")
        dest.unlink(missing_ok=True)

    def delete(self, url: str) -> None:
        try:
            self.client.delete(url)
        except NotFoundError:
            self.result.errors["delete:NotFoundError"] += 1
            self.model.deleted(url, ok=False)
        except DeltaGliderError as exc:
            self.result.errors[f"delete:{type(exc).__name__}"] += 1
            self.model.deleted(url, ok=False)
        else:
            self.result.ops["delete"] += 1
            self.model.deleted(url, ok=True)


def _merge_models(into: WorkerResult, other: WorkerResult) -> None:
    """Own names: disjoint, copied. Shared names: any version anyone stored may be the survivor
    (absent only if nobody's upload succeeded)."""
    for url, states in other.allowed.items():
        if url not in into.allowed:
            into.allowed[url] = set(states)
            continue
        union = into.allowed[url] | states | into.history.get(url, set()) | other.history.get(url, set())
        if None not in into.allowed[url] or None not in states:
            union.discard(None)
        into.allowed[url] = union
    for url, versions in other.history.items():
        into.history.setdefault(url, set()).update(versions)


def _process_body(config: LoadConfig, index: int) -> WorkerResult:
    """One process: ``config.threads`` threads sharing one client (and the cache folder with all)."""
    client = _client(config)
    deadline = time.monotonic() + config.seconds
    results: list[WorkerResult] = []
    lock = threading.Lock()

    def run(thread: int) -> None:
        try:
            seed = config.seed * 1000 + index * 100 + thread
            outcome = _Thread(config, client, f"p{index}t{thread}", seed).run(deadline)
        except Exception as exc:  # a raw error escaping is itself a finding
            outcome = WorkerResult(problems=[f"p{index}t{thread} crashed: {type(exc).__name__}: {exc}"])
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(config.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = WorkerResult()
    for outcome in results:
        total.ops.update(outcome.ops)
        total.errors.update(outcome.errors)
        total.problems.extend(outcome.problems)
        _merge_models(total, outcome)
        total.bytes_up += outcome.bytes_up
        total.bytes_down += outcome.bytes_down
    return total


@dataclass
class LoadResult:
    seconds: float
    worker: WorkerResult
    check: Report

    @property
    def files_per_s(self) -> float:
        return (self.worker.ops["upload"] + self.worker.ops["download"]) / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "ops": dict(self.worker.ops),
            "errors": dict(self.worker.errors),
            "files_per_s": round(self.files_per_s, 1),
            "upload_MB_per_s": round(self.worker.bytes_up / self.seconds / 1e6, 2),
            "download_MB_per_s": round(self.worker.bytes_down / self.seconds / 1e6, 2),
            "run_problems": self.worker.problems[:20],
            "run_problem_count": len(self.worker.problems),
            "files_checked": self.check.files_checked,
            "check_problems": dict(self.check.problems),
            "violations": self.check.violations[:20],
        }


def pin_references(config: LoadConfig) -> list[str]:
    """Stores ``pin.zip`` (the spaces' base content) in every space; nobody deletes it."""
    client = create_client(endpoint_url=config.check_endpoint_url or config.endpoint_url, log_level="ERROR")
    contents = Contents(random.Random(0), config.file_size, base_seed=config.seed)
    pinned = []
    folder = Path(config.workdir) / "pin"
    folder.mkdir(parents=True, exist_ok=True)
    for space in config.spaces:
        (folder / "pin.zip").write_bytes(contents.bases.get(space) or _base(contents, space))
        client.upload(folder / "pin.zip", space)
        pinned.append(space + "pin.zip")
    return pinned


def _base(contents: Contents, space: str) -> bytes:
    contents.make(space, "x.txt")
    return contents.bases[space]


def run_load(config: LoadConfig, *, pinned: list[str] | None = None) -> LoadResult:
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=config.processes, mp_context=context) as pool:
        futures = [pool.submit(_process_body, config, index) for index in range(config.processes)]
        parts = [future.result() for future in futures]
    seconds = time.monotonic() - started
    worker = WorkerResult()
    for part in parts:
        worker.ops.update(part.ops)
        worker.errors.update(part.errors)
        worker.problems.extend(part.problems)
        _merge_models(worker, part)
        worker.bytes_up += part.bytes_up
        worker.bytes_down += part.bytes_down
    # The final read: a fresh client and a fresh cache, so nothing cached hides a broken store.
    check_client = create_client(
        endpoint_url=config.check_endpoint_url or config.endpoint_url,
        cache_backend="memory",
        log_level="ERROR",
    )
    checker = Workload(check_client, check_client, Path(config.workdir) / "check", config.spaces, seed=0)
    checker.model = Model(allowed=dict(worker.allowed), history=dict(worker.history))
    base = Contents(random.Random(0), config.file_size, base_seed=config.seed)
    for url in pinned or []:
        space = url.rsplit("/", 1)[0] + "/"
        checker.model.uploaded(url, digest(_base(base, space)), ok=True)
    checker.names = sorted({url.rsplit("/", 1)[1] for url in checker.model.allowed})
    checker.check()
    return LoadResult(seconds, worker, checker.report)


def default_workdir() -> str:
    return os.path.join(os.environ.get("TMPDIR", "/tmp"), f"dg-load-{uuid.uuid4().hex[:8]}")
