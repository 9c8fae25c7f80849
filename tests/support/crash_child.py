"""The process that gets killed: uploads, downloads and deletes in a loop, journalling each step.

Run by ``support.crash`` as ``python crash_child.py CONFIG_JSON``. Before an operation it appends
``begin <op> <url> [<sha256>|<dest>]`` to the journal, after it ``ok ...`` or ``fail ...``, each line
fsynced, so whoever kills it knows what was in flight. It never stops by itself, unless the config's
``die_in`` names a codec call (``encode``, ``decode``) in which it SIGKILLs itself, or
``die_after_replace`` the ``os.replace`` after which it does: a crash at a chosen point, for tests
that must not depend on timing. ``first`` lists ``[op, url]`` to do first.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for support.workload

from deltaglider import create_client
from deltaglider.errors import DeltaGliderError
from support.workload import Contents, digest

NAMES = ("app-0.zip", "app-1.zip", "app-2.zip", "notes.txt")


def _note(journal: TextIO, *words: str) -> None:
    journal.write(" ".join(words) + "\n")
    journal.flush()
    os.fsync(journal.fileno())


def _die_in(method: str) -> None:
    from deltaglider.adapters.diff_xdelta3 import XDelta3Diff

    def die(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(XDelta3Diff, method, die)


def _die_after_replace(count: int) -> None:
    """SIGKILL right after the ``count``-th ``os.replace`` from now on: between the renames of the
    local store's commit (sidecar staged, data renamed, sidecar renamed)."""
    real = os.replace
    calls = 0

    def replace(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        real(*args, **kwargs)
        calls += 1
        if calls == count:
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace


def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())
    if config.get("die_in"):
        _die_in(config["die_in"])
    first: list[list[str]] = list(config.get("first", []))
    client = create_client(
        endpoint_url=config["endpoint_url"], cache_dir=config["cache_dir"], log_level="ERROR"
    )
    rng = random.Random(config["seed"])
    # One base per space for every round: later versions stay deltas against the first reference.
    contents = Contents(random.Random(config["seed"] + 1), config["file_size"], base_seed=0)
    spaces: list[str] = config["spaces"]
    work = Path(config["work"])
    downloads = Path(config["downloads"])
    stored: list[str] = list(config.get("known", []))
    with open(config["journal"], "a") as journal:
        _note(journal, "ready", str(os.getpid()))
        if config.get("die_after_replace"):
            _die_after_replace(config["die_after_replace"])
        for step in range(1_000_000):
            if first:
                op, url = first.pop(0)
            else:
                roll = rng.random()
                op = "upload" if roll < 0.6 or not stored else "download" if roll < 0.9 else "delete"
                url = rng.choice(spaces) + rng.choice(NAMES) if op == "upload" else rng.choice(stored)
            try:
                if op == "upload":
                    space, name = url.rsplit("/", 1)
                    data = contents.make(space + "/", name)
                    folder = work / f"{os.getpid()}-{step}"
                    folder.mkdir(parents=True)
                    (folder / name).write_bytes(data)
                    sha = digest(data)
                    _note(journal, "begin", "upload", url, sha)
                    client.upload(folder / name, space + "/")
                    _note(journal, "ok", "upload", url, sha)
                    stored.append(url)
                elif op == "download":
                    dest = downloads / f"{os.getpid()}-{step}-{url.rsplit('/', 1)[1]}"
                    _note(journal, "begin", "download", url, str(dest))
                    client.download(url, dest)
                    _note(journal, "ok", "download", url, str(dest))
                else:
                    _note(journal, "begin", "delete", url)
                    client.delete(url)
                    _note(journal, "ok", "delete", url)
            except DeltaGliderError as exc:
                _note(journal, "fail", op, url, type(exc).__name__)


if __name__ == "__main__":
    main(sys.argv[1])
