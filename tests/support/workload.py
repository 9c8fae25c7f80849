"""A seeded random mix of uploads, downloads and deletes through a faulty client, checked against a
model of what each name may hold, then read back over a clean connection.

The model keeps, per stored name, the set of contents it may legitimately have (``None``: absent):
a successful upload narrows it to the new content, a failed one adds the new content to what was
possible (S3 may have applied the write before the failure reached us), a successful delete narrows
it to absent, a failed one adds absent. Whatever a download or the final check sees must be in that
set; anything else is counted by what went wrong (lost, corrupt, stale, resurrected...).

Shared by ``test_s3_faults.py`` (short and slow runs) and ``bench/faults.py`` (figures).
"""

from __future__ import annotations

import hashlib
import random
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deltaglider import DeltaGliderClient
from deltaglider.errors import DeltaGliderError, NotFoundError

#: What a download destination holds before a download over an existing file.
_SENTINEL = b"the user's own file, not to be touched by a failed download\n"

#: How many violations are kept verbatim in a report (all are counted).
_KEEP = 50


@dataclass
class Report:
    ops: Counter[str] = field(default_factory=Counter)
    #: "<op>:<error class>" for every operation that raised.
    errors: Counter[str] = field(default_factory=Counter)
    reported_stored: int = 0
    files_checked: int = 0
    #: Counts by kind: lost, corrupt, stale, resurrected, unreadable, raw_error, written_on_failure,
    #: part_file_left, unlisted, listed_absent.
    problems: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    pending_multipart: int = 0
    pending_multipart_after_cleanup: int = 0

    def problem(self, kind: str, detail: str) -> None:
        self.problems[kind] += 1
        if len(self.violations) < _KEEP:
            self.violations.append(f"{kind}: {detail}")

    def merge(self, other: Report) -> None:
        self.ops.update(other.ops)
        self.errors.update(other.errors)
        self.reported_stored += other.reported_stored
        self.files_checked += other.files_checked
        self.problems.update(other.problems)
        self.pending_multipart += other.pending_multipart
        self.pending_multipart_after_cleanup += other.pending_multipart_after_cleanup
        for line in other.violations:
            if len(self.violations) < _KEEP:
                self.violations.append(line)

    @property
    def lost_or_corrupt(self) -> int:
        return sum(self.problems.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ops": dict(self.ops),
            "errors": dict(self.errors),
            "reported_stored": self.reported_stored,
            "files_checked": self.files_checked,
            "problems": dict(self.problems),
            "pending_multipart": self.pending_multipart,
            "pending_multipart_after_cleanup": self.pending_multipart_after_cleanup,
            "violations": self.violations,
        }


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Contents:
    """Deterministic file contents: per DeltaSpace a random base, each version a few spans of it
    rewritten (so later versions are small deltas), and now and then an unrelated blob (stored whole
    for max_ratio)."""

    rng: random.Random
    size: int
    #: Bases depend on this and the space only, so separate processes make related versions.
    base_seed: int = 0
    bases: dict[str, bytes] = field(default_factory=dict)
    by_digest: dict[str, bytes] = field(default_factory=dict)

    def make(self, space: str, name: str) -> bytes:
        if space not in self.bases:
            self.bases[space] = random.Random(f"{self.base_seed}:{space}").randbytes(self.size)
        base = self.bases[space]
        if name.endswith(".zip") and self.rng.random() < 0.15:
            data = self.rng.randbytes(self.size)
        else:
            buf = bytearray(base)
            for _ in range(self.rng.randint(1, 4)):
                start = self.rng.randrange(len(buf))
                span = self.rng.randint(1, 512)
                buf[start : start + span] = self.rng.randbytes(span)
            data = bytes(buf)
        self.by_digest[digest(data)] = data
        return data


@dataclass
class Model:
    #: url -> the contents (digests) it may hold; None stands for "absent".
    allowed: dict[str, set[str | None]] = field(default_factory=dict)
    #: url -> every content ever uploaded there (to tell "stale" from "corrupt").
    history: dict[str, set[str]] = field(default_factory=dict)

    def states(self, url: str) -> set[str | None]:
        return self.allowed.setdefault(url, {None})

    def uploaded(self, url: str, content: str, *, ok: bool) -> None:
        self.history.setdefault(url, set()).add(content)
        if ok:
            self.allowed[url] = {content}
        else:
            self.states(url).add(content)

    def deleted(self, url: str, *, ok: bool) -> None:
        if ok:
            self.allowed[url] = {None}
        else:
            self.states(url).add(None)


def _is_ours(exc: BaseException) -> bool:
    return isinstance(exc, DeltaGliderError)


def _part_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.dg-part"))


class Workload:
    """Drives ``client`` (through the faults) and checks with ``check_client`` (no faults, its own
    cache). ``spaces`` are folder URLs (``s3://bucket/a/``)."""

    def __init__(
        self,
        client: DeltaGliderClient,
        check_client: DeltaGliderClient,
        workdir: Path,
        spaces: list[str],
        *,
        seed: int,
        names_per_space: int = 4,
        file_size: int = 48 * 1024,
    ) -> None:
        self.client = client
        self.check_client = check_client
        self.workdir = workdir
        self.spaces = spaces
        self.rng = random.Random(seed)
        self.contents = Contents(random.Random(seed + 1), file_size)
        self.model = Model()
        self.report = Report()
        self.names = [f"app-{i}.zip" for i in range(names_per_space)] + ["notes.txt"]
        self.downloads = workdir / "downloads"
        self.downloads.mkdir(parents=True, exist_ok=True)

    # -- the operations ------------------------------------------------------------------------

    def step(self) -> None:
        space = self.rng.choice(self.spaces)
        name = self.rng.choice(self.names)
        roll = self.rng.random()
        if roll < 0.55:
            self.upload(space, name)
            return
        # Mostly names that may hold something: a download of nothing tests little.
        present = sorted(url for url, states in self.model.allowed.items() if states != {None})
        url = self.rng.choice(present) if present and self.rng.random() < 0.8 else space + name
        if roll < 0.85:
            self.download(url)
        else:
            self.delete(url)

    def run(self, steps: int) -> Report:
        for _ in range(steps):
            self.step()
        return self.report

    def _failed(self, op: str, exc: BaseException, url: str) -> None:
        self.report.errors[f"{op}:{type(exc).__name__}"] += 1
        if not _is_ours(exc):
            self.report.problem(
                "raw_error", f"{op} {url}: {type(exc).__module__}.{type(exc).__name__}: {exc}"
            )

    def upload(self, space: str, name: str, data: bytes | None = None) -> None:
        """Uploads a new version of ``name`` (``data``, else the next made-up content)."""
        if data is None:
            data = self.contents.make(space, name)
        content = digest(data)
        folder = self.workdir / "src" / uuid.uuid4().hex
        folder.mkdir(parents=True)
        path = folder / name
        path.write_bytes(data)
        url = space + name
        self.report.ops["upload"] += 1
        try:
            self.client.upload(path, space)
        except Exception as exc:
            self._failed("upload", exc, url)
            self.model.uploaded(url, content, ok=False)
        else:
            self.report.reported_stored += 1
            self.model.uploaded(url, content, ok=True)
        finally:
            shutil.rmtree(folder)

    def download(self, url: str, client: DeltaGliderClient | None = None) -> None:
        self.report.ops["download"] += 1
        dest = self.downloads / f"{uuid.uuid4().hex}-{url.rsplit('/', 1)[1]}"
        # Half the time over an existing file, which a failed download must leave as it was.
        existing = _SENTINEL if self.rng.random() < 0.5 else None
        if existing is not None:
            dest.write_bytes(existing)
        allowed = self.model.states(url)
        try:
            (client or self.client).download(url, dest)
        except Exception as exc:
            self._failed("download", exc, url)
            now = dest.read_bytes() if dest.exists() else None
            if now != existing:
                self.report.problem(
                    "written_on_failure", f"{url}: {dest.name} changed by a failed download ({exc!r})"
                )
        else:
            got = digest(dest.read_bytes())
            if got not in allowed:
                self._wrong_content(url, got, "download")
        finally:
            dest.unlink(missing_ok=True)
        for part in _part_files(self.downloads):
            self.report.problem("part_file_left", f"{url}: {part.name}")
            part.unlink()

    def delete(self, url: str) -> None:
        self.report.ops["delete"] += 1
        try:
            self.client.delete(url)
        except NotFoundError:
            # Nothing there (or nothing we can see): absent is what a delete wanted.
            self.report.errors["delete:NotFoundError"] += 1
            self.model.deleted(url, ok=False)
        except Exception as exc:
            self._failed("delete", exc, url)
            self.model.deleted(url, ok=False)
        else:
            self.model.deleted(url, ok=True)

    def _wrong_content(self, url: str, got: str, where: str) -> None:
        if got in self.model.history.get(url, set()):
            self.report.problem("stale", f"{where} {url}: an older version came back")
        else:
            self.report.problem("corrupt", f"{where} {url}: bytes that were never uploaded there")

    # -- the final check, over a clean connection ----------------------------------------------

    def check(self) -> Report:
        """Every name read back with ``check_client``; every listing compared with the model."""
        report = self.report
        out = self.workdir / "check"
        out.mkdir(exist_ok=True)
        for url, allowed in sorted(self.model.allowed.items()):
            report.files_checked += 1
            dest = out / uuid.uuid4().hex
            try:
                self.check_client.download(url, dest)
            except NotFoundError:
                if None not in allowed:
                    report.problem("lost", f"{url}: not found, though its last upload succeeded")
            except DeltaGliderError as exc:
                report.problem("unreadable", f"{url}: {type(exc).__name__}: {exc}")
            else:
                got = digest(dest.read_bytes())
                if got not in allowed:
                    if allowed == {None}:
                        report.problem("resurrected", f"{url}: readable after a successful delete")
                    else:
                        self._wrong_content(url, got, "final read")
            finally:
                dest.unlink(missing_ok=True)
        self._check_listings()
        return report

    def _check_listings(self) -> None:
        for space in self.spaces:
            try:
                listed = {entry.name.rsplit("/", 1)[-1] for entry in self.check_client.list(space)}
            except DeltaGliderError as exc:
                self.report.problem("unreadable", f"list {space}: {exc}")
                continue
            for name in self.names:
                allowed = self.model.allowed.get(space + name, {None})
                if name in listed and allowed == {None}:
                    self.report.problem("listed_absent", f"{space}{name}: listed after a successful delete")
                if name not in listed and None not in allowed:
                    self.report.problem("unlisted", f"{space}{name}: stored but not listed")
