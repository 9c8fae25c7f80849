"""Issue 25: "the history survives kill -9 at any point of an overwrite: the old version is safely kept
before the new one replaces it".

Two ways. In process, deterministically: the overwrite's store dies (an exception no handler of the
library catches, as a kill would stop it) just before its N-th store call, for every N the overwrite
makes; then a fresh client (an empty cache) must find every earlier version listed and exact, and the
new one too once its write landed; a later overwrite must work and list each version once. And with a
real SIGKILL (``slow``): a child process overwriting one name in a loop, killed at random moments.
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
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pytest
from support.history import (
    BUCKET,
    SPACE,
    client,
    key_of,
    open_store,
    read_history,
    release,
    serials,
)
from support.sdk import TickingClock

import deltaglider
from deltaglider.adapters.clock_utc import UtcClock
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.errors import NotFoundError

NAME = "a.iso"
NAME_KEYS = {f"{SPACE.prefix}/{NAME}", f"{SPACE.prefix}/{NAME}.delta"}


class Killed(BaseException):
    """The process died: not an ``Exception``, so that no handler of the library goes on after it."""


@dataclass
class DyingStorage:
    """A store whose process dies just before its ``die_at``-th call (counted from 0; None: never):
    that call and every later one (a listing's HEADs run in threads) raise :class:`Killed`."""

    inner: Any
    die_at: int | None = None
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    dead: bool = False
    #: Whether a write to one of the name's keys returned: the new version landed.
    landed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, bucket: str, key: str) -> str:
        return str(self.inner.url(bucket, key))

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.inner, method)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            key = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("key")
            with self._lock:
                self.dead = self.dead or len(self.calls) == self.die_at
                if self.dead:
                    raise Killed(f"killed before {method} {key}")
                self.calls.append((method, key))
            result = target(*args, **kwargs)
            if method == "list":
                result = list(result)
            if method.startswith("put_file") and key in NAME_KEYS and result is not False:
                self.landed = True
            return result

        return call


#: The store calls that change what the store holds.
WRITES = frozenset({"put_file", "put_file_if_absent", "put_file_if_match", "delete", "delete_if_match"})

#: How the name is written: (the form of its versions before, the form of the overwrite), "delta" or
#: "whole" (deltas off); "delete": a delete that keeps history, instead of an overwrite.
CASES = {
    "delta-over-delta": ("delta", "delta"),
    "whole-over-delta": ("delta", "whole"),
    "delta-over-whole": ("whole", "delta"),
    "delete-of-delta": ("delta", "delete"),
}


@pytest.fixture(params=["memory", "folder", pytest.param("s3", marks=pytest.mark.slow)])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Scene:
    store: Any
    clock: TickingClock
    folder: Path
    before: list[int]  # the serials of the name's versions before the overwrite, newest first


def _scene(kind: str, folder: Path, monkeypatch: pytest.MonkeyPatch, stack: ExitStack, was: str) -> Scene:
    """A folder whose base is another name's, and ``a.iso`` written twice in the form ``was``: one
    version current, one kept."""
    store = stack.enter_context(open_store(kind, folder, monkeypatch))
    clock = TickingClock()
    client(store, clock).put(release(folder, "first.iso", 1, 0.0), SPACE)
    for serial in (2, 3):
        client(store, clock, whole=was == "whole").put(release(folder, NAME, serial), SPACE)
    return Scene(store, clock, folder, [3, 2])


def _copy(scene: Scene, kind: str, folder: Path, stack: ExitStack) -> Scene:
    """``scene`` again, in a new store of ``kind`` (memory or folder) holding a copy of every object:
    cheaper than uploading its versions again (the same clock, so that later stamps pass them)."""
    store = stack.enter_context(open_store(kind, folder, pytest.MonkeyPatch()))
    with tempfile.TemporaryDirectory() as scratch:
        for obj in scene.store.list(BUCKET, "", recursive=True):
            if obj.is_prefix:
                continue
            local = Path(scratch) / "object"
            got = scene.store.get_file(BUCKET, obj.key, local)
            store.put_file(BUCKET, obj.key, local, dict(got.metadata))
    return Scene(store, scene.clock, folder, scene.before)


def _act(scene: Scene, storage: Any, how: str, serial: int) -> None:
    if how == "delete":
        client(storage, scene.clock).delete(key_of(NAME))
    else:
        client(storage, scene.clock, whole=how == "whole").put(release(scene.folder, NAME, serial), SPACE)


def _current(scene: Scene) -> int | None:
    out = scene.folder / "current" / NAME
    out.parent.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)
    try:
        client(scene.store, scene.clock).get(key_of(NAME), out)
    except NotFoundError:
        return None
    return int.from_bytes(out.read_bytes()[-8:], "big")


def _check_after_death(scene: Scene, dying: DyingStorage, how: str, at: int) -> None:
    where = f"killed before call {at} ({dying.calls[-3:]} made last)"
    history = read_history(scene.store, scene.clock, NAME, scene.folder / "check")
    found = serials(history)
    new = [] if how == "delete" else [4]
    assert set(scene.before) <= set(found), f"{where}: an earlier version is lost: {found}"
    assert set(found) <= {*scene.before, *new}, f"{where}: versions never written: {found}"
    if dying.landed and new:
        assert found[0] == 4 and history[0].info.is_current, f"{where}: the new version landed: {found}"
    readable: set[int | None] = {scene.before[0], *new} | ({None} if how == "delete" else set())
    assert _current(scene) in readable, f"{where}: the name reads {_current(scene)}"
    # A later overwrite works, and each version is listed once.
    client(scene.store, scene.clock).put(release(scene.folder, NAME, 5), SPACE)
    after = serials(read_history(scene.store, scene.clock, NAME, scene.folder / "later"))
    assert after[0] == 5 and sorted(after[1:], reverse=True) == sorted(set(found), reverse=True), (
        f"{where}: after a later overwrite: {after}"
    )
    assert _current(scene) == 5


@pytest.mark.parametrize("case", CASES)
def test_an_overwrite_killed_before_any_of_its_store_calls_loses_no_version(
    store_kind: str, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    was, how = CASES[case]
    with ExitStack() as stack:
        scene = _scene(store_kind, tmp_path / "clean", monkeypatch, stack, was)
        clean = DyingStorage(scene.store)
        _act(scene, clean, how, 4)
        total = len(clean.calls)
        last_write = max(i for i, (method, _) in enumerate(clean.calls) if method in WRITES)
    assert total > 0
    with ExitStack() as stack:
        seeded = store_kind != "s3"  # (on S3 each death starts from a store seeded again)
        template = _scene(store_kind, tmp_path / "seed", monkeypatch, stack, was) if seeded else None
        for at in range(total):
            _die_at(
                store_kind,
                template,
                tmp_path / f"die-{at}",
                monkeypatch=monkeypatch,
                was=was,
                how=how,
                at=at,
                last_write=last_write,
            )


def _die_at(
    kind: str,
    template: Scene | None,
    folder: Path,
    *,
    monkeypatch: pytest.MonkeyPatch,
    was: str,
    how: str,
    at: int,
    last_write: int,
) -> None:
    """One death of the overwrite, before its call ``at``, in a copy of the seeded ``template`` (on S3,
    in a store seeded again), and the checks after it."""
    with ExitStack() as stack:
        if template is None:
            scene = _scene(kind, folder, monkeypatch, stack, was)
        else:
            scene = _copy(template, kind, folder, stack)
        dying = DyingStorage(scene.store, at)
        with contextlib.suppress(Killed):  # (a death in a listing's thread may go unseen)
            _act(scene, dying, how, 4)
        # It made the clean run's calls up to the one it died at; only the HEADs that a listing
        # makes in threads after its last write may be cancelled, never reached.
        assert dying.dead or at > last_write, f"never reached call {at}: {dying.calls}"
        _check_after_death(scene, dying, how, at)


# -- a real kill -9 ----------------------------------------------------------------------------------------

#: Kills of the child, and how long after it is ready each may come at most (it overwrites the name
#: many times a second, so a kill lands at a random point of one overwrite or another).
KILLS = 4
MAX_KILL_S = 1.0


def _child(config_path: str) -> None:
    """The process that gets killed: overwrites ``a.iso`` in a folder store, with history kept, one
    serial after another (every third stored whole), noting ``begin N`` and ``ok N`` in its journal
    (each line fsynced) around each."""
    config = json.loads(Path(config_path).read_text())
    store = LocalStorage(Path(config["store"]))
    files = Path(config["files"])
    with open(config["journal"], "a") as journal:
        _note(journal, "ready")
        for serial in range(config["first"], config["first"] + 1_000_000):
            path = release(files, NAME, serial)
            _note(journal, f"begin {serial}")
            client(store, UtcClock(), whole=serial % 3 == 0).put(path, SPACE)
            _note(journal, f"ok {serial}")


def _note(journal: TextIO, line: str) -> None:
    journal.write(line + "\n")
    journal.flush()
    os.fsync(journal.fileno())


def _run_killed(root: Path, first: int, kill_after_s: float, turn: int) -> list[str]:
    """One child run from serial ``first``, SIGKILLed ``kill_after_s`` after it is ready; its journal."""
    journal, config = root / f"journal-{turn}.txt", root / f"child-{turn}.json"
    config.write_text(
        json.dumps(
            {"store": str(root / "store"), "files": str(root), "journal": str(journal), "first": first}
        )
    )
    # The child imports this very deltaglider (a source tree, or the installed wheel), and tests/.
    package = Path(deltaglider.__file__).resolve().parents[1]
    tests = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package), str(tests)])}
    with open(root / f"child-{turn}.err", "wb") as err:
        child = subprocess.Popen([sys.executable, __file__, str(config)], env=env, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while not (journal.exists() and journal.read_text().startswith("ready")):
            assert child.poll() is None and time.monotonic() < deadline, (
                root / f"child-{turn}.err"
            ).read_text()
            time.sleep(0.01)
        time.sleep(kill_after_s)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, (root / f"child-{turn}.err").read_text()
    return journal.read_text().splitlines()[1:]


@pytest.mark.slow
def test_the_history_survives_kill_9_of_overwrites(tmp_path: Path) -> None:
    """A child overwriting one name again and again is SIGKILLed at random moments; after each kill a
    fresh client lists every acknowledged version (and perhaps the one in flight), each exact, the
    newest current, and a later overwrite works, listing each version once."""
    (tmp_path / "store" / BUCKET).mkdir(parents=True)
    store = LocalStorage(tmp_path / "store")
    rng = random.Random(25)
    acked: set[int] = set()
    in_flight: set[int] = set()
    first = 1
    for turn in range(KILLS):
        lines = _run_killed(tmp_path, first, rng.uniform(0.05, MAX_KILL_S), turn)
        begun = [int(line.split()[1]) for line in lines if line.startswith("begin")]
        done = {int(line.split()[1]) for line in lines if line.startswith("ok")}
        acked |= done
        in_flight |= set(begun) - done
        assert done, f"turn {turn}: killed before its first overwrite ended; raise MAX_KILL_S"
        found = serials(read_history(store, UtcClock(), NAME, tmp_path / f"check-{turn}"))
        assert acked <= set(found), f"turn {turn}: acknowledged versions lost: {sorted(acked - set(found))}"
        assert set(found) <= acked | in_flight, f"turn {turn}: versions never written: {found}"
        assert found[0] == max(found), f"turn {turn}: the newest version is not current: {found[:3]}"
        first = max(begun) + 1
    assert in_flight, "no kill landed in an overwrite"
    client(store, UtcClock()).put(release(tmp_path, NAME, first), SPACE)
    after = serials(read_history(store, UtcClock(), NAME, tmp_path / "later"))
    assert after[0] == first and len(after) == len(set(after))


if __name__ == "__main__":
    _child(sys.argv[1])
