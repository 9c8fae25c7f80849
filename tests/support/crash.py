"""Crash safety: start ``crash_child.py``, SIGKILL it at a random moment, then check what it left.

After each kill: every file the journal says was stored reads back exact (the one in flight may hold
its old or its new content, or be absent if it was new), with a client sharing the killed process's
cache folder; a download destination exists only if its bytes are exact; further uploads to the same
DeltaSpaces work. Leftovers (temporary files in the store and the cache, scratch folders, ``.dg-part``
files, pending multipart uploads) are listed, and removed by ``client.cleanup`` where it exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from deltaglider import DeltaGliderClient, create_client
from support.moto_server import fake_aws_env
from support.workload import Model, Report, Workload, digest

CHILD = Path(__file__).with_name("crash_child.py")
NAMES = ["app-0.zip", "app-1.zip", "app-2.zip", "notes.txt"]


@dataclass
class Leftovers:
    store: list[str] = field(default_factory=list)
    cache: list[str] = field(default_factory=list)
    scratch: list[str] = field(default_factory=list)
    part_files: list[str] = field(default_factory=list)
    multipart: list[str] = field(default_factory=list)
    scratch_bytes: int = 0

    def counts(self) -> dict[str, int]:
        return {name: len(items) for name, items in vars(self).items() if isinstance(items, list)}


@dataclass
class CrashSite:
    """Where the child works: a local folder (``endpoint_url`` None, spaces ``file://``) or a bucket on
    moto's server (``s3_client`` to look for multipart uploads)."""

    root: Path
    spaces: list[str]
    endpoint_url: str | None = None
    bucket: str | None = None
    s3_client: Any = None
    store_dir: Path | None = None
    model: Model = field(default_factory=Model)
    rounds: int = 0
    kills: int = 0
    journal_lines: int = 0
    #: Operations the killed processes finished ("ok upload"...), and what each kill interrupted.
    child_ops: Counter[str] = field(default_factory=Counter)
    killed_during: Counter[str] = field(default_factory=Counter)

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    def client(self) -> DeltaGliderClient:
        return create_client(endpoint_url=self.endpoint_url, cache_dir=str(self.cache_dir), log_level="ERROR")


def _apply_journal(site: CrashSite, lines: list[str]) -> list[tuple[str, str]]:
    """Folds the journal into the model; returns the (url, dest) of every download begun."""
    downloads = []
    pending: list[str] | None = None
    for line in lines:
        words = line.split()
        if not words or words[0] == "ready":
            continue
        state, op, url = words[0], words[1], words[2]
        if state == "begin":
            pending = words
            if op == "download":
                downloads.append((url, words[3]))
            continue
        ok = state == "ok"
        site.child_ops[f"{state} {op}"] += 1
        if op == "upload" and pending is not None:
            site.model.uploaded(url, pending[3], ok=ok)
        elif op == "delete":
            site.model.deleted(url, ok=ok)
        pending = None
    site.killed_during[pending[1] if pending is not None else "between operations"] += 1
    if pending is not None:  # in flight when the kill came
        if pending[1] == "upload":
            site.model.uploaded(pending[2], pending[3], ok=False)
        elif pending[1] == "delete":
            site.model.deleted(pending[2], ok=False)
    return downloads


def _store_leftovers(store: Path) -> list[str]:
    """Files in a local store that are neither an object nor the sidecar of one (nor a lock)."""
    found = []
    for path in sorted(store.rglob("*")):
        if path.is_dir():
            continue
        if path.parent.name == ".dg-meta":
            obj = path.parent.parent / path.name.removesuffix(".json")
            if path.name.startswith(".") and path.name.endswith(".lock"):
                continue
            if path.name.endswith(".json") and not path.name.startswith(".") and obj.exists():
                continue
            found.append(str(path.relative_to(store)))
        elif ".dg-meta" in path.parts or path.name.startswith("."):
            found.append(str(path.relative_to(store)))
    return found


def leftovers(site: CrashSite) -> Leftovers:
    result = Leftovers()
    if site.store_dir is not None and site.store_dir.exists():
        result.store = _store_leftovers(site.store_dir)
    cache_tmp = site.cache_dir / "tmp"
    if cache_tmp.exists():
        result.cache = sorted(p.name for p in cache_tmp.iterdir() if not p.name.endswith(".lock"))
    if site.tmp_dir.exists():
        result.scratch = sorted(p.name for p in site.tmp_dir.iterdir() if p.name.startswith("deltaglider-"))
        result.scratch_bytes = sum(
            f.stat().st_size
            for name in result.scratch
            for f in (site.tmp_dir / name).rglob("*")
            if f.is_file()
        )
    if site.downloads.exists():
        result.part_files = sorted(p.name for p in site.downloads.glob(".*.dg-part"))
    if site.s3_client is not None and site.bucket is not None:
        uploads = site.s3_client.list_multipart_uploads(Bucket=site.bucket).get("Uploads", [])
        result.multipart = sorted(u["Key"] for u in uploads)
    return result


def run_child(site: CrashSite, seed: int, kill_after_s: float, file_size: int, **script: Any) -> list[str]:
    """One child run, killed ``kill_after_s`` after it is ready (unless it killed itself first, see
    ``die_in`` and ``first`` in crash_child); returns its journal lines."""
    for folder in (site.tmp_dir, site.downloads, site.root / "src"):
        folder.mkdir(parents=True, exist_ok=True)
    journal = site.root / f"journal-{site.rounds}.txt"
    config = site.root / f"child-{site.rounds}.json"
    known = sorted(url for url, states in site.model.allowed.items() if states != {None})
    config.write_text(
        json.dumps(
            {
                "endpoint_url": site.endpoint_url,
                "cache_dir": str(site.cache_dir),
                "seed": seed,
                "file_size": file_size,
                "spaces": site.spaces,
                "work": str(site.root / "src"),
                "downloads": str(site.downloads),
                "journal": str(journal),
                "known": known,
                **script,
            }
        )
    )
    env = fake_aws_env()
    env["TMPDIR"] = str(site.tmp_dir)  # the scratch folders land where they can be counted
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(site.root / f"child-{site.rounds}.err", "wb"),  # noqa: SIM115 - the child owns it
    )
    try:
        deadline = time.monotonic() + 60
        while not (journal.exists() and journal.read_text().startswith("ready")):
            if child.poll() is not None or time.monotonic() > deadline:
                err = (site.root / f"child-{site.rounds}.err").read_text()
                raise RuntimeError(f"crash child did not start: {err}")
            time.sleep(0.02)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=kill_after_s)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
        site.kills += child.returncode == -signal.SIGKILL
    site.rounds += 1
    return journal.read_text().splitlines()


def _check_downloads(site: CrashSite, begun: list[tuple[str, str]], report: Report) -> None:
    """A destination that exists must hold exact bytes of some version of its file."""
    for url, dest in begun:
        path = Path(dest)
        if path.exists():
            if digest(path.read_bytes()) not in site.model.history.get(url, set()):
                report.problem("corrupt_download", f"{url}: {path.name} holds bytes never uploaded there")
            path.unlink()


def _cleanup(client: DeltaGliderClient, url: str) -> bool:
    """``client.cleanup(url, older_than=...)`` when this version of the library has it."""
    cleanup = getattr(client, "cleanup", None)
    if cleanup is None:
        return False
    cleanup(url, older_than=timedelta(0))
    return True


@contextlib.contextmanager
def _tempdir(folder: Path) -> Iterator[None]:
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = saved


@dataclass
class CrashRound:
    report: Report
    before_cleanup: Leftovers
    after_cleanup: Leftovers | None


def crash_round(
    site: CrashSite, rng: random.Random, *, max_kill_s: float, file_size: int, **script: Any
) -> CrashRound:
    lines = run_child(site, rng.randrange(1 << 30), rng.uniform(0.0, max_kill_s), file_size, **script)
    site.journal_lines += len(lines)
    begun = _apply_journal(site, lines)
    found = leftovers(site)
    client = site.client()  # the killed process's cache folder, as the next run would use it
    workload = Workload(client, client, site.root / "check", site.spaces, seed=rng.randrange(1 << 30))
    workload.names = list(NAMES)
    workload.model = site.model
    _check_downloads(site, begun, workload.report)
    workload.check()
    # Later operations on the same store and cache: a new version of a file in each space.
    for space in site.spaces:
        failures = sum(workload.report.errors.values())
        workload.upload(space, rng.choice(NAMES))
        if sum(workload.report.errors.values()) > failures:
            workload.report.problem("store_unusable", f"an upload into {space} failed after the crash")
    workload.check()
    after = None
    # The download folder too: cleanup removes the .dg-part files of killed downloads anywhere.
    # Run as a later process on the killed one's machine would: with the same TMPDIR.
    with _tempdir(site.tmp_dir):
        cleaned = [_cleanup(client, url) for url in [*site.spaces, f"{site.downloads}/"]]
    if any(cleaned):
        after = leftovers(site)
    return CrashRound(workload.report, found, after)
