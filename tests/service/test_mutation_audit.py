"""Behaviours that a mutation audit found no test for: each test here fails when the code it names is
changed the way the audit changed it (a reserved metadata spelling let through, the folder store
committing without its lock, retention's keep_within boundary, which of two equal bases wins, and
deleting a reference in use without force)."""

from __future__ import annotations

import hashlib
import os
import random
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.sdk import FIXED_NOW, TOOL, make_service, sha256
from support.storage_io import get_bytes, put_bytes

import deltaglider
from deltaglider import create_client
from deltaglider.adapters import storage_local_files
from deltaglider.adapters.storage_local import TAGS_KEY, LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.cli import run as run_cli
from deltaglider.core.family.fingerprint import fingerprint
from deltaglider.core.format.metadata import aliases, reference_metadata
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.errors import MetadataError, ReferenceInUseError

SPACE = DeltaSpace("b", "rel")


# -- user metadata in any spelling of deltaglider's own keys ---------------------------------------------


def _fields_read() -> set[str]:
    """Every field of the schema the package reads (``read_field(..., "x")``), from its source: a field
    added later is covered here without being listed."""
    package = Path(deltaglider.__file__).parent
    call = re.compile(r"(?:read_field|_int_field)\([^()]*?,\s*\"([a-z0-9_]+)\"")
    return {name for path in package.rglob("*.py") for name in call.findall(path.read_text(encoding="utf-8"))}


def _spellings(field: str) -> list[str]:
    """The spellings the reader accepts, each also in upper case and in title case."""
    return [variant for key in aliases(field) for variant in (key, key.upper(), key.title())]


def test_the_fields_found_in_the_source_include_those_that_change_how_an_object_reads() -> None:
    # A sanity check of the scan: the keys that turn a delta into a whole file are among them.
    assert {"compression", "note", "file_sha256", "ref_key", "transform"} <= _fields_read()


@pytest.mark.parametrize("field", sorted(_fields_read()))
def test_every_spelling_of_a_field_deltaglider_reads_is_refused_as_user_metadata(
    field: str, tmp_path: Path
) -> None:
    client = create_client(endpoint_url=f"file://{tmp_path}/root", log_level="ERROR")
    src = tmp_path / "f.bin"
    src.write_bytes(b"x" * 100)
    for key in _spellings(field):
        with pytest.raises(MetadataError, match="reserved"):
            client.upload(src, "s3://b/x/", metadata={key: "none"})
    assert not (tmp_path / "root").exists()  # nothing stored


@pytest.mark.parametrize("key", [TAGS_KEY, storage_local_files.VERSION_KEY])
def test_metadata_keys_the_folder_store_keeps_for_itself_are_refused(key: str, tmp_path: Path) -> None:
    """Its sidecar holds the tags and the version token under these keys: a user's value there would be
    dropped without a word on a folder store, and kept on S3."""
    client = create_client(endpoint_url=f"file://{tmp_path}/root", log_level="ERROR")
    src = tmp_path / "f.txt"
    src.write_text("hello")
    for spelling in (key, key.upper()):
        with pytest.raises(MetadataError, match="reserved"):
            client.upload(src, "s3://b/x/", metadata={spelling: "mine"})


def test_a_delta_with_user_metadata_reads_back(releases: list[Path], tmp_path: Path) -> None:
    """The keys that are not deltaglider's still travel, and the file still rebuilds."""
    client = create_client(endpoint_url=f"file://{tmp_path}/root", log_level="ERROR")
    client.upload(releases[0], "s3://b/x/")
    summary = client.upload(releases[1], "s3://b/x/", metadata={"Build": "42", "notes": "n"})
    assert summary.is_delta
    head = LocalStorage(tmp_path / "root").head("b", summary.key)
    assert head is not None and (head.metadata["build"], head.metadata["notes"]) == ("42", "n")
    client.download(f"s3://b/x/{releases[1].name}", tmp_path / "out")
    assert sha256(tmp_path / "out") == sha256(releases[1])


# -- the folder store's commit under its exclusive lock --------------------------------------------------


def test_two_rewrites_of_one_version_on_a_folder_store_have_one_winner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers replace the same version of a key at once (``put_file_if_match``). The first is
    held inside its commit, right after it checked the version, while the second tries: under the
    folder's exclusive lock the second waits and then finds another version; exactly one wins, and the
    object and its metadata are the winner's."""
    store = LocalStorage(tmp_path / "store")
    put_bytes(store, "b", "k", b"v0", {"who": "v0"})
    judged = store.head("b", "k")
    assert judged is not None and judged.etag is not None
    etag = judged.etag
    won: dict[str, bool] = {}

    def rewrite(who: str) -> None:
        src = tmp_path / who
        src.write_bytes(who.encode())
        won[who] = store.put_file_if_match("b", "k", src, {"who": who}, etag=etag)

    second = threading.Thread(target=rewrite, args=("second",))
    second_committing = threading.Event()
    inside = threading.local()
    commit, version_of = storage_local_files.commit, storage_local_files.version_of

    def committing(*args: Any, **kwargs: Any) -> bool:
        if threading.current_thread() is second:
            second_committing.set()
        inside.now = True
        try:
            return commit(*args, **kwargs)
        finally:
            inside.now = False

    def checked(st: Any, meta: Any) -> str:
        version = version_of(st, meta)
        if getattr(inside, "now", False) and threading.current_thread() is not second and not second.ident:
            second.start()
            # Locked out, the second writer never reaches its commit while this one is in its own.
            if second_committing.wait(0.5):
                second.join(10)
        return version

    monkeypatch.setattr(storage_local_files, "commit", committing)
    monkeypatch.setattr(storage_local_files, "version_of", checked)
    rewrite("first")
    second.join(10)

    assert sorted(won.values()) == [False, True], won
    winner = next(who for who, ok in won.items() if ok)
    head = store.head("b", "k")
    assert head is not None and head.metadata["who"] == winner
    assert get_bytes(store, "b", "k") == winner.encode()


# -- retention's keep_within boundary ---------------------------------------------------------------------


class SetClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def _small(tmp_path: Path, name: str, seed: int) -> Path:
    path = tmp_path / name
    path.write_bytes(random.Random(seed).randbytes(20_000))
    return path


def test_keep_within_keeps_a_file_stored_exactly_that_long_ago(tmp_path: Path) -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    clock = SetClock(start)
    service = make_service(MemoryStorage(), clock=clock)
    service.put(_small(tmp_path, "older.iso", 1), SPACE)
    clock.at = start + timedelta(microseconds=1)
    service.put(_small(tmp_path, "edge.iso", 2), SPACE)
    clock.at = start + timedelta(microseconds=1) + timedelta(days=3)

    result = service.retain(SPACE, keep_within=timedelta(days=3))

    assert result.kept == ["edge.iso"]  # stored exactly 3 days ago: within
    assert result.removed == ["older.iso"]  # a microsecond more: not


# -- which of two equally promising bases an upload uses ------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fingerprint_of(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "fingerprinted"
    path.write_bytes(data)
    return fingerprint(path).to_text()


def _plant_base(store: LocalStorage, key: str, data: bytes, stamp: str | None, *, age: int) -> None:
    """A full base as an upload stores it, its data file dated ``age`` seconds into a fixed day."""
    put_bytes(
        store,
        "b",
        key,
        data,
        reference_metadata(
            tool=TOOL, source_name="x.iso", sha256=_sha(data), created_at=FIXED_NOW, fingerprint=stamp
        ),
    )
    when = 1_700_000_000 + age
    os.utime(store.root / "b" / key, (when, when))


@pytest.mark.parametrize("newer", [0, 1])
def test_of_two_bases_that_promise_the_same_delta_the_newer_is_used(tmp_path: Path, newer: int) -> None:
    """Two further bases record the same fingerprint; the one stored last (by the listing's date) is
    the one the upload is encoded against, whichever its key."""
    store = LocalStorage(tmp_path / "store")
    content = random.Random(3).randbytes(100_000)
    stamp = _fingerprint_of(tmp_path, content)
    _plant_base(store, "rel/reference.bin", random.Random(4).randbytes(100_000), None, age=0)
    keys = []
    for index, changed_at in enumerate((0, 50_000)):
        data = content[:changed_at] + bytes(100) + content[changed_at + 100 :]
        key = f"rel/reference-{_sha(data)[:16]}.bin"
        _plant_base(store, key, data, stamp, age=10 + (index == newer))
        keys.append(key)
    target = tmp_path / "t.iso"
    target.write_bytes(content[:90_000] + bytes(100) + content[90_100:])

    summary = make_service(store).put(target, SPACE)

    assert summary.reason == f"delta against {keys[newer]}"


# -- deleting a reference that deltas depend on -----------------------------------------------------------


@pytest.fixture
def folder_in_use(releases: list[Path], tmp_path: Path) -> tuple[str, list[str]]:
    """A folder store's URL whose reference.bin three deltas depend on (the first file's own name is
    one), and every file it holds."""
    client = create_client(endpoint_url=f"file://{tmp_path}/root", log_level="ERROR")
    for path in releases[:3]:
        client.upload(path, "s3://b/rel/")
    return "s3://b/rel/", _stored(tmp_path / "root")


def _stored(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".dg-meta" not in p.parts
    )


def test_the_client_refuses_to_delete_a_reference_in_use_unless_forced(
    folder_in_use: tuple[str, list[str]], tmp_path: Path
) -> None:
    folder, before = folder_in_use
    client = create_client(endpoint_url=f"file://{tmp_path}/root", log_level="ERROR")
    with pytest.raises(ReferenceInUseError, match="force=True"):
        client.delete(folder + "reference.bin")
    assert _stored(tmp_path / "root") == before
    assert client.delete(folder + "reference.bin", force=True).warnings  # forced: it goes, with a warning
    assert "b/rel/reference.bin" not in _stored(tmp_path / "root")


def test_the_service_refuses_to_delete_a_reference_in_use(
    folder_in_use: tuple[str, list[str]], tmp_path: Path
) -> None:
    _, before = folder_in_use
    service = make_service(LocalStorage(tmp_path / "root"))
    with pytest.raises(ReferenceInUseError):
        service.delete(ObjectKey("b", "rel/reference.bin"))
    assert _stored(tmp_path / "root") == before


def test_rm_refuses_to_delete_a_reference_in_use(
    folder_in_use: tuple[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, before = folder_in_use
    monkeypatch.setenv("DG_CACHE_DIR", str(tmp_path / "cache"))
    assert run_cli(["rm", f"file://{tmp_path}/root/b/rel/reference.bin"]) != 0
    assert "reference of 3 delta(s)" in capsys.readouterr().err
    assert _stored(tmp_path / "root") == before
