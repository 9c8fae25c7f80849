"""The races of the protocol's findings, each forced with a hook in the store (not hoped for), on the
memory store, a folder store and S3 (moto in process).

Each test lets one client's flow reach a chosen store call, runs another client's flow to completion
there, lets the first go on, and then reads every acknowledged file back with a fresh client (an empty
cache): the rules of :mod:`deltaglider.core.protocol` say what it must find.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from support.families import drifting_family
from support.hooked_storage import HookedStorage
from support.moto_server import serialize_conditional_writes, use_fake_aws_env
from support.sdk import make_service, sha256

from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.adapters.storage_s3 import S3Storage
from deltaglider.core import protocol
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService
from deltaglider.errors import NotFoundError
from deltaglider.ports.storage import StoragePort

BUCKET = "dg-races"
SPACE = DeltaSpace(BUCKET, "rel")
SIZE = 48_000


class Clock:
    """Shared by a test's clients: each reading a millisecond after the last, as write stamps need."""

    def __init__(self) -> None:
        self._ticks = itertools.count(1)

    def now(self) -> datetime:
        return datetime(2026, 4, 1, tzinfo=UTC) + timedelta(milliseconds=next(self._ticks))


#: S3 (moto in process) costs a race several times what the other stores do: by default the races run
#: on the memory and folder stores, and on S3 those marked ``ON_S3_TOO``, one of each flow's (retain,
#: sync --delete, delete, repack, upload); ``pytest -m slow`` runs every race on S3.
@pytest.fixture(params=["memory", "folder", pytest.param("s3", marks=pytest.mark.slow)])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StoragePort]:
    if request.param == "memory":
        yield MemoryStorage()
    elif request.param == "folder":
        (tmp_path / "store" / BUCKET).mkdir(parents=True)
        yield LocalStorage(tmp_path / "store")
    else:
        use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))
        serialize_conditional_writes(monkeypatch.setattr)  # atomic conditional writes, as on S3
        with mock_aws():
            boto = boto3.client("s3", region_name="us-east-1")
            boto.create_bucket(Bucket=BUCKET)
            yield S3Storage(boto)


ON_S3_TOO = pytest.mark.parametrize("store", ["memory", "folder", "s3"], indirect=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client(storage: StoragePort | HookedStorage, clock: Clock) -> DeltaService:
    """A client of its own (its own cache), as another process would be."""
    return make_service(storage, clock=clock)


def read(store: StoragePort, clock: Clock, name: str, tmp_path: Path) -> bytes | None:
    """What a fresh client (an empty cache) downloads for ``name``; None when the name is not stored
    (a stored name whose base is gone is an error, not None)."""
    out = tmp_path / "read" / name
    out.parent.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)
    reader = client(store, clock)
    try:
        reader.head(ObjectKey(BUCKET, f"{SPACE.prefix}/{name}"))
    except NotFoundError:
        return None
    reader.get(ObjectKey(BUCKET, f"{SPACE.prefix}/{name}"), out)
    return out.read_bytes()


def keys(store: StoragePort) -> list[str]:
    return sorted(obj.key for obj in store.list(BUCKET, "", recursive=True) if not obj.is_prefix)


def release(tmp_path: Path, name: str, drift: float, serial: int) -> Path:
    """``name`` holding a release of one family: its first bytes with ``drift`` of them changed, and a
    serial at the end so that no two releases are the same file."""
    data = bytearray(random.Random(7).randbytes(SIZE))
    rng = random.Random(serial)
    for _ in range(int(SIZE * drift)):
        data[rng.randrange(SIZE)] = rng.randrange(256)
    path = tmp_path / "files" / str(serial) / name
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes(data) + serial.to_bytes(8, "big"))
    os.utime(path, (1_700_000_000 + serial, 1_700_000_000 + serial))  # later serials are newer files
    return path


# -- a snapshot made against a full reference that was removed meanwhile ------------------------------


def _remove_every_file_and_base(service: DeltaService, how: str, names: list[str]) -> None:
    if how == "retain":
        result = service.retain(SPACE, keep_last=0)
        assert "rel/reference.bin" in result.bases_removed
    elif how == "sync-delete":  # as ``sync --delete`` removes files, then the bases no file needs
        for name in names:
            assert service.remove_seen(ObjectKey(BUCKET, f"rel/{name}")) is not None
        assert "rel/reference.bin" in service.collect_bases(SPACE).bases_removed
    else:
        for name in names:
            service.delete(ObjectKey(BUCKET, f"rel/{name}"))
        assert service.delete(ObjectKey(BUCKET, "rel/reference.bin")).deleted == ["rel/reference.bin"]


@pytest.mark.parametrize("how", ["retain", "sync-delete", "delete"])
@ON_S3_TOO
def test_a_snapshot_made_against_a_reference_removed_while_it_was_stored_downloads(
    store: StoragePort, clock: Clock, tmp_path: Path, how: str
) -> None:
    """The upload drifted past DRIFT and is becoming a snapshot of ``reference.bin``; just before the
    snapshot is written, another client removes every file and the reference (it has no dependent yet).
    The upload must keep the full reference it encoded against: its file downloads byte for byte."""
    family = drifting_family(tmp_path, 4)
    hooked = HookedStorage(store)
    uploader, remover = client(hooked, clock), client(store, clock)
    uploader.put(family[0], SPACE)
    snapshot = f"rel/reference-{sha256(family[3])[:16]}.bin.delta"
    hooked.before(
        "put_file_if_absent", snapshot, lambda: _remove_every_file_and_base(remover, how, [family[0].name])
    )

    summary = uploader.put(family[3], SPACE)

    assert hooked.calls.count(("put_file_if_absent", snapshot)) == 1  # the race took place
    assert summary.operation == "PUT_DELTA" and "snapshot" in summary.reason
    assert read(store, clock, family[3].name, tmp_path) == family[3].read_bytes()


# -- re-packing against a user's upload or delete of the name it rewrites ------------------------------

#: How the name is stored before re-packing: as a delta, which re-packing rewrites in place (the same
#: key), or whole (deltas off), which it turns into a delta (the name changes form).
FORMS = {"same-form": ("rel/a.iso.delta", None), "new-form": ("rel/a.iso", 0.0)}


def _stored_for_repack(store: StoragePort, clock: Clock, tmp_path: Path, form: str) -> tuple[str, Path]:
    """A folder of a reference and ``a.iso``, in the form ``form`` names: the judged key and the file."""
    key, ratio = FORMS[form]
    service = client(store, clock)
    service.put(release(tmp_path, "first.iso", 0.0, 1), SPACE)
    old = release(tmp_path, "a.iso", 0.01, 2)
    service.put(old, SPACE, ratio)
    assert key in keys(store)
    return key, old


@pytest.mark.parametrize("form", FORMS)
@ON_S3_TOO
def test_repack_leaves_an_upload_made_while_it_re_encoded_the_name(
    store: StoragePort, clock: Clock, tmp_path: Path, form: str
) -> None:
    judged, _ = _stored_for_repack(store, clock, tmp_path, form)
    newer = release(tmp_path, "a.iso", 0.02, 3)  # a delta: the form re-packing writes, the same key
    hooked = HookedStorage(store)
    hooked.after("get_file", judged, lambda: client(store, clock).put(newer, SPACE))

    result = client(hooked, clock).repack(SPACE)

    assert hooked.calls.count(("get_file", judged)) == 1
    assert result.skipped == ["a.iso"]
    assert read(store, clock, "a.iso", tmp_path) == newer.read_bytes()
    assert [k for k in keys(store) if k.startswith("rel/a.iso")] == ["rel/a.iso.delta"]


@pytest.mark.parametrize("form", FORMS)
def test_repack_does_not_bring_back_a_file_deleted_while_it_re_encoded_it(
    store: StoragePort, clock: Clock, tmp_path: Path, form: str
) -> None:
    judged, _ = _stored_for_repack(store, clock, tmp_path, form)
    hooked = HookedStorage(store)
    hooked.after("get_file", judged, lambda: client(store, clock).delete(ObjectKey(BUCKET, "rel/a.iso")))

    result = client(hooked, clock).repack(SPACE)

    assert hooked.calls.count(("get_file", judged)) == 1
    assert result.skipped == ["a.iso"]
    assert read(store, clock, "a.iso", tmp_path) is None
    assert not [k for k in keys(store) if k.startswith("rel/a.iso")]


def test_a_file_deleted_just_before_repack_writes_its_new_form_never_reads_again(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """Re-packing turns ``a.iso`` (whole) into a delta; the user's delete removes the whole file just
    before the delta is written. The delete is not over until the rewrite has ended and the name's
    other form is looked at again (core.protocol): once it returns, the file never reads again. (It
    read again, with its old bytes, after the delete had returned.)"""
    _stored_for_repack(store, clock, tmp_path, "new-form")
    hooked = HookedStorage(store)
    deleting = threading.Thread(target=lambda: client(store, clock).delete(ObjectKey(BUCKET, "rel/a.iso")))

    def delete_the_whole_file() -> None:
        deleting.start()
        deadline = time.monotonic() + 10
        while store.head(BUCKET, "rel/a.iso") is not None and time.monotonic() < deadline:
            time.sleep(0.01)

    hooked.before("put_file_if_absent", "rel/a.iso.delta", delete_the_whole_file)
    returned_before_the_write: list[bool] = []
    hooked.after(
        "put_file_if_absent",
        "rel/a.iso.delta",
        lambda: returned_before_the_write.append(not deleting.is_alive()),
    )

    result = client(hooked, clock).repack(SPACE)
    deleting.join(60)

    assert returned_before_the_write == [False]  # the delete waited for the rewrite
    assert result.skipped == ["a.iso"]
    assert read(store, clock, "a.iso", tmp_path) is None
    assert not [k for k in keys(store) if k.startswith("rel/a.iso")]


def test_an_upload_that_began_before_a_repack_rewrote_its_name_wins_over_it(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """The user's upload took its write stamp, then re-packing turned the name's whole form into a
    delta, then the upload wrote its whole file: the upload is the later write of the name, so the
    re-packed (older) form goes, not the user's file."""
    _stored_for_repack(store, clock, tmp_path, "new-form")
    newer = release(tmp_path, "a.iso", 0.5, 3)
    hooked = HookedStorage(store)

    def repack() -> None:
        assert client(store, clock).repack(SPACE).skipped == []
        assert [k for k in keys(store) if k.startswith("rel/a.iso")] == ["rel/a.iso.delta"]

    hooked.before("put_file", "rel/a.iso", repack)

    client(hooked, clock).put(newer, SPACE, 0.0)

    assert hooked.calls.count(("put_file", "rel/a.iso")) == 1
    assert read(store, clock, "a.iso", tmp_path) == newer.read_bytes()
    assert [k for k in keys(store) if k.startswith("rel/a.iso")] == ["rel/a.iso"]


def test_an_upload_made_while_repack_changes_the_names_form_is_acknowledged_only_once_it_reads(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """Re-packing checked that ``a.iso`` (whole) is still the version it judged, and is about to write
    the name's delta form; the user's upload of ``a.iso`` lands just then. The upload is not over until
    the rewrite has ended and taken its delta back: once it returns, the name reads the user's bytes.
    (The protocol model found it: the upload returned, then the rewrite wrote the old bytes as a
    delta, which a download finds first.)"""
    _stored_for_repack(store, clock, tmp_path, "new-form")
    judged = store.head(BUCKET, "rel/a.iso")
    assert judged is not None
    newer = release(tmp_path, "a.iso", 0.5, 3)
    hooked = HookedStorage(store)
    uploading = threading.Thread(target=lambda: client(store, clock).put(newer, SPACE, 0.0))

    def upload_the_whole_file() -> None:
        uploading.start()
        deadline = time.monotonic() + 10
        while (now := store.head(BUCKET, "rel/a.iso")) and now.etag == judged.etag:
            assert time.monotonic() < deadline
            time.sleep(0.01)

    reads_once_acknowledged: list[bool] = []

    def check() -> None:
        if not uploading.is_alive():
            reads_once_acknowledged.append(read(store, clock, "a.iso", tmp_path) == newer.read_bytes())

    hooked.before("put_file_if_absent", "rel/a.iso.delta", upload_the_whole_file)
    hooked.after("put_file_if_absent", "rel/a.iso.delta", check)

    result = client(hooked, clock).repack(SPACE)
    uploading.join(60)

    assert hooked.calls.count(("put_file_if_absent", "rel/a.iso.delta")) == 1
    assert all(reads_once_acknowledged)
    assert result.skipped == ["a.iso"]
    assert read(store, clock, "a.iso", tmp_path) == newer.read_bytes()
    assert [k for k in keys(store) if k.startswith("rel/a.iso")] == ["rel/a.iso"]


def test_an_upload_whose_version_repack_moved_to_the_other_form_keeps_it(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """The user's upload wrote ``a.iso`` whole; before it looked at the name's other form, re-packing
    judged that very version and moved it to ``a.iso.delta`` (keeping its stamp). The upload finds its
    own version there and leaves it: the name reads the user's bytes throughout, in one form. (The
    upload removed the delta as a stale form of equal stamp, leaving the name with nothing until it
    wrote its file again; the protocol model found it.)"""
    _stored_for_repack(store, clock, tmp_path, "new-form")
    newer = release(tmp_path, "a.iso", 0.02, 3)
    hooked = HookedStorage(store)
    repacked: list[list[str]] = []
    hooked.after("put_file", "rel/a.iso", lambda: repacked.append(client(store, clock).repack(SPACE).skipped))
    reads: list[bytes | None] = []

    def read_once_repacked() -> None:
        if repacked:
            reads.append(read(store, clock, "a.iso", tmp_path))

    hooked.before("head", "rel/a.iso.delta", read_once_repacked, times=10)
    hooked.before("delete_if_match", "rel/a.iso.delta", read_once_repacked)

    client(hooked, clock).put(newer, SPACE, 0.0)

    assert repacked == [[]]  # it moved the upload's version
    assert reads and set(reads) == {newer.read_bytes()}
    assert ("delete_if_match", "rel/a.iso.delta") not in hooked.calls
    assert read(store, clock, "a.iso", tmp_path) == newer.read_bytes()
    assert [k for k in keys(store) if k.startswith("rel/a.iso")] == ["rel/a.iso.delta"]


def test_an_upload_removes_the_older_form_even_when_repack_rewrote_it_meanwhile(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """The user's upload wrote ``a.iso`` whole and looked at the name's older delta form; re-packing
    then rewrote that delta in place (a new version, the old stamp). The upload's removal of the
    version it saw fails, so it looks again and removes the rewritten one: the name reads the user's
    bytes once the upload returns. (The upload returned with the old delta still there, which a
    download finds first; the protocol model found it.)"""
    _stored_for_repack(store, clock, tmp_path, "same-form")
    newer = release(tmp_path, "a.iso", 0.5, 3)
    hooked = HookedStorage(store)
    written: list[bool] = []
    repacked: list[list[str]] = []

    def repack_once_written() -> None:
        if written and not repacked:
            repacked.append(client(store, clock).repack(SPACE).skipped)

    hooked.after("put_file", "rel/a.iso", lambda: written.append(True))
    hooked.after("head", "rel/a.iso.delta", repack_once_written, times=10)

    client(hooked, clock).put(newer, SPACE, 0.0)

    assert repacked == [[]]
    assert read(store, clock, "a.iso", tmp_path) == newer.read_bytes()
    assert [k for k in keys(store) if k.startswith("rel/a.iso")] == ["rel/a.iso"]


@ON_S3_TOO
def test_an_upload_whose_object_was_replaced_by_an_older_version_writes_it_again(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """The user's upload wrote ``a.iso.delta``; before it looked at the name's older whole form,
    another flow removed that version (the protocol's removal of a judged version, as a retention
    pass does), and re-packing then moved the older whole file to ``a.iso.delta``, with its older
    stamp. The object at the upload's key is not the upload's: it writes its file again, and the name
    reads the user's bytes once it returns. (It was acknowledged with the old bytes in its place;
    the protocol model's long run found it.)"""
    _stored_for_repack(store, clock, tmp_path, "new-form")
    newer = release(tmp_path, "a.iso", 0.02, 3)  # a delta
    other = client(store, clock)
    repacked: list[list[str]] = []

    def remove_it_then_repack() -> None:
        if repacked:
            return
        mine = store.head(BUCKET, "rel/a.iso.delta")
        assert mine is not None
        assert protocol.remove_version(other._ctx, BUCKET, mine, alone=True) == ["rel/a.iso.delta"]
        repacked.append(other.repack(SPACE).skipped)
        assert [k for k in keys(store) if k.startswith("rel/a.iso")] == ["rel/a.iso.delta"]

    hooked = HookedStorage(store)
    hooked.after("put_file", "rel/a.iso.delta", remove_it_then_repack)

    client(hooked, clock).put(newer, SPACE)

    assert repacked == [[]]  # re-packing moved the older version into the upload's key
    assert hooked.calls.count(("put_file", "rel/a.iso.delta")) == 2
    assert read(store, clock, "a.iso", tmp_path) == newer.read_bytes()
    assert [k for k in keys(store) if k.startswith("rel/a.iso")] == ["rel/a.iso.delta"]


def test_a_first_upload_whose_rivals_reference_vanished_chooses_again(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """Two first uploads to an empty folder: the other one's reference got there first, and was
    removed (its file deleted, then the reference) before this upload read it. The upload chooses
    again and becomes the reference itself. (It failed with a StorageError.)"""
    rival = release(tmp_path, "first.iso", 0.0, 1)
    mine = release(tmp_path, "a.iso", 0.01, 2)
    other = client(store, clock)

    def remove_the_rivals_reference() -> None:
        other.delete(ObjectKey(BUCKET, "rel/first.iso"))
        other.delete(ObjectKey(BUCKET, "rel/reference.bin"))

    hooked = HookedStorage(store)
    hooked.before("put_file_if_absent", "rel/reference.bin", lambda: other.put(rival, SPACE))
    hooked.after("put_file_if_absent", "rel/reference.bin", remove_the_rivals_reference)

    client(hooked, clock).put(mine, SPACE)

    assert hooked.calls.count(("put_file_if_absent", "rel/reference.bin")) == 2
    assert read(store, clock, "a.iso", tmp_path) == mine.read_bytes()
    assert read(store, clock, "first.iso", tmp_path) is None


def test_an_upload_that_writes_its_object_again_keeps_its_base_again(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """The first upload of a folder stored the reference and its delta; before it was acknowledged,
    a retention pass removed that delta (the version it judged) and the reference no file needed any
    more. The upload writes its object again, and keeps its base again before it returns: the file
    reads. (It wrote the delta again and returned with its base gone; the protocol model found it.)"""
    mine = release(tmp_path, "a.iso", 0.0, 1)
    other = client(store, clock)

    written: list[bool] = []
    retained: list[bool] = []

    def retain_nothing() -> None:
        if written and not retained:
            retained.append(True)
            other.retain(SPACE, keep_last=0)
            assert keys(store) == []

    hooked = HookedStorage(store)
    hooked.after("put_file", "rel/a.iso.delta", lambda: written.append(True))
    # Before the upload looks at its name once written (one listing of the name's prefix: both forms,
    # their markers); it looked at it the same way before it wrote.
    hooked.before("list", "rel/a.iso", retain_nothing, times=2)

    client(hooked, clock).put(mine, SPACE)

    assert hooked.calls.count(("put_file", "rel/a.iso.delta")) == 2
    assert read(store, clock, "a.iso", tmp_path) == mine.read_bytes()


def _unused_reference(store: StoragePort, clock: Clock, tmp_path: Path) -> None:
    """``a.iso`` stored whole beside a reference no file depends on any more."""
    _stored_for_repack(store, clock, tmp_path, "new-form")
    client(store, clock).delete(ObjectKey(BUCKET, "rel/first.iso"))
    assert "rel/reference.bin" in keys(store)


def test_repack_removes_the_form_it_replaces_only_once_the_new_form_reads(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """Re-packing turns ``a.iso`` (whole) into a delta against ``reference.bin``, which a collection
    of unused bases removes just before the delta is written. The whole file goes only after the
    rewrite kept its base again: ``a.iso``, acknowledged long ago, reads at every moment. (It did not
    read between the removal of its whole form and the re-check of the base.)"""
    _unused_reference(store, clock, tmp_path)
    old = read(store, clock, "a.iso", tmp_path)
    hooked = HookedStorage(store)
    hooked.before("put_file_if_absent", "rel/a.iso.delta", lambda: client(store, clock).collect_bases(SPACE))
    reads: list[bytes | None] = []
    hooked.after("delete_if_match", "rel/a.iso", lambda: reads.append(read(store, clock, "a.iso", tmp_path)))

    result = client(hooked, clock).repack(SPACE)

    assert "rel/a.iso" not in keys(store)  # re-packed: the collection above ran, and the rewrite won
    assert result.skipped == []
    assert reads == [old]
    assert read(store, clock, "a.iso", tmp_path) == old


def test_an_upload_removes_the_names_other_form_only_once_it_reads(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """A user's upload stores ``a.iso`` (whole before) as a delta against ``reference.bin``, which a
    collection of unused bases removes just before the delta is written. The old whole form goes only
    after the upload kept the base again, so that a crash between the two never leaves the name
    unreadable. (The whole form went first.)"""
    _unused_reference(store, clock, tmp_path)
    newer = release(tmp_path, "a.iso", 0.005, 3)
    hooked = HookedStorage(store)
    hooked.before("put_file", "rel/a.iso.delta", lambda: client(store, clock).collect_bases(SPACE))
    reads: list[bytes | None] = []
    hooked.after("delete_if_match", "rel/a.iso", lambda: reads.append(read(store, clock, "a.iso", tmp_path)))

    summary = client(hooked, clock).put(newer, SPACE)

    assert summary.operation == "PUT_DELTA"
    assert hooked.calls.count(("put_file", "rel/a.iso.delta")) == 1
    assert reads == [newer.read_bytes()]
    assert read(store, clock, "a.iso", tmp_path) == newer.read_bytes()


# -- retention against a re-upload of a name it judged --------------------------------------------------


def before_removal(hooked: HookedStorage, key: str, action: Callable[[], object]) -> None:
    """Runs ``action`` once, just before the first removal of ``key`` (by version or by key)."""
    pending = [action]

    def once() -> None:
        while pending:
            pending.pop()()

    hooked.before("delete_if_match", key, once)
    hooked.before("delete", key, once)


@pytest.mark.parametrize("form", FORMS)
def test_retain_keeps_a_name_uploaded_again_after_it_listed_the_folder(
    store: StoragePort, clock: Clock, tmp_path: Path, form: str
) -> None:
    """Retention judged ``a.iso`` the oldest file and is about to remove it when the user uploads it
    again (now the newest file): it removes only the version it judged, so the re-upload stays."""
    judged, _ = _stored_for_repack(store, clock, tmp_path, form)
    client(store, clock).put(release(tmp_path, "b.iso", 0.01, 3), SPACE)
    again = release(tmp_path, "a.iso", 0.02, 4)
    hooked = HookedStorage(store)
    before_removal(hooked, judged, lambda: client(store, clock).put(again, SPACE, FORMS[form][1]))

    result = client(hooked, clock).retain(SPACE, keep_last=1)

    assert {("delete_if_match", judged), ("delete", judged)} & set(hooked.calls)  # the race took place
    assert read(store, clock, "a.iso", tmp_path) == again.read_bytes()
    assert judged in keys(store)  # stored again in the form judged: the very key retention removes
    assert "a.iso" in result.kept and "a.iso" not in result.removed


# -- a reference replaced by another file while an upload encoded against it ---------------------------


def test_a_delta_made_against_a_reference_replaced_meanwhile_downloads(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """While the upload encodes against ``reference.bin``, another client removes every file and the
    reference and uploads an unrelated first file: ``reference.bin`` is there again, with other bytes.
    The upload must see that it is not the content it encoded against and keep that content."""
    first = release(tmp_path, "first.iso", 0.0, 1)
    hooked = HookedStorage(store)
    uploader, other = client(hooked, clock), client(store, clock)
    uploader.put(first, SPACE)
    unrelated = tmp_path / "unrelated.iso"
    unrelated.write_bytes(random.Random(99).randbytes(SIZE))

    def replace_the_reference() -> None:
        other.delete(ObjectKey(BUCKET, "rel/first.iso"))
        other.delete(ObjectKey(BUCKET, "rel/reference.bin"))
        assert other.put(unrelated, SPACE).key == "rel/reference.bin"

    hooked.before("put_file", "rel/a.iso.delta", replace_the_reference)
    upload = release(tmp_path, "a.iso", 0.01, 2)

    assert uploader.put(upload, SPACE).operation == "PUT_DELTA"

    assert hooked.calls.count(("put_file", "rel/a.iso.delta")) == 1
    assert read(store, clock, "a.iso", tmp_path) == upload.read_bytes()
    assert read(store, clock, "unrelated.iso", tmp_path) == unrelated.read_bytes()


@pytest.mark.parametrize("known", [False, True], ids=["bases-listed", "bases-known"])
@ON_S3_TOO
def test_a_delta_written_while_its_reference_is_being_removed_keeps_it(
    store: StoragePort, clock: Clock, tmp_path: Path, known: bool
) -> None:
    """A remover announced the removal of ``reference.bin`` and found no delta depending on it; before
    it removes it, an upload writes a delta against it. The upload's re-check (one listing of the
    reference's key: the reference, the very version it read, and the marker beside it) must see the
    marker and keep the content elsewhere before it returns: its file reads once the removal ended.
    ``known``: the uploader remembers the folder's bases from an upload just before (no HEAD, no
    listing of the folder)."""
    first, second = release(tmp_path, "first.iso", 0.0, 1), release(tmp_path, "second.iso", 0.01, 2)
    uploader = client(store, clock)
    uploader.put(first, SPACE)
    if known:
        uploader.put(second, SPACE)
        uploader.delete(ObjectKey(BUCKET, "rel/second.iso"))
    client(store, clock).delete(ObjectKey(BUCKET, "rel/first.iso"))  # reference.bin serves no file now
    upload = release(tmp_path, "a.iso", 0.01, 3)
    hooked = HookedStorage(store)
    uploads: list[str] = []
    hooked.before(
        "delete_if_match", "rel/reference.bin", lambda: uploads.append(uploader.put(upload, SPACE).operation)
    )

    assert "rel/reference.bin" in client(hooked, clock).collect_bases(SPACE).bases_removed

    assert uploads == ["PUT_DELTA"]  # the race took place
    assert read(store, clock, "a.iso", tmp_path) == upload.read_bytes()


# -- a snapshot base removed while an upload encoded a delta against it ---------------------------------


def test_a_delta_made_against_a_snapshot_removed_meanwhile_and_the_uploads_after_it_download(
    store: StoragePort, clock: Clock, tmp_path: Path
) -> None:
    """``app-04`` is encoded against the snapshot ``app-03`` became; meanwhile retention keeps only
    ``app-01`` (a delta of ``reference.bin``) and removes the snapshot, which nothing stored needs yet.
    The upload keeps the snapshot's content, rebuilt in full, where a rebuild looks for it; the next
    upload, which picks that base, downloads too."""
    family = drifting_family(tmp_path, 6)
    for age, path in zip(
        (0, 3, 10, 4, 5), (family[0], family[3], family[1], family[4], family[5]), strict=True
    ):
        os.utime(path, (1_700_000_000 + age, 1_700_000_000 + age))  # app-01 the newest of the first three
    hooked = HookedStorage(store)
    uploader, other = client(hooked, clock), client(store, clock)
    for path in family[0], family[3], family[1]:
        uploader.put(path, SPACE)
    snapshot = f"rel/reference-{sha256(family[3])[:16]}.bin.delta"
    assert snapshot in keys(store)

    def retain_app_01() -> None:
        result = other.retain(SPACE, keep_last=1)
        assert result.kept == ["app-01.iso"] and result.bases_removed == [snapshot]

    hooked.before("put_file", "rel/app-04.iso.delta", retain_app_01)

    assert uploader.put(family[4], SPACE).reason == f"delta against {snapshot}"
    later = client(store, clock).put(family[5], SPACE)

    assert hooked.calls.count(("put_file", "rel/app-04.iso.delta")) == 1
    assert later.operation == "PUT_DELTA" and sha256(family[3])[:16] in later.reason
    for path in family[1], family[4], family[5]:
        assert read(store, clock, path.name, tmp_path) == path.read_bytes(), path.name


# -- a user's whole file that later uploads used as a base -------------------------------------------


def _whole_base(store: StoragePort, clock: Clock, tmp_path: Path) -> tuple[Path, Path]:
    """A folder whose ``other.bin``, far from its reference, is stored whole as a base (its
    fingerprint recorded), and ``near.bin``, a file close to it: not stored yet."""
    service = client(store, clock)
    service.put(drifting_family(tmp_path, 1)[0], SPACE)
    other = tmp_path / "other.bin"
    other.write_bytes(random.Random(9).randbytes(1 << 20))
    assert service.put(other, SPACE).key == "rel/other.bin"
    near = tmp_path / "near.bin"
    data = bytearray(other.read_bytes())
    data[1000:1100] = bytes(100)
    near.write_bytes(bytes(data))
    return other, near


def _replace_or_delete(service: DeltaService, how: str, tmp_path: Path) -> bytes | None:
    """Deletes ``other.bin`` or uploads other bytes over it; what it reads afterwards."""
    if how == "delete":
        service.delete(ObjectKey(BUCKET, "rel/other.bin"))
        return None
    newer = tmp_path / "newer" / "other.bin"
    newer.parent.mkdir()
    newer.write_bytes(random.Random(10).randbytes(1 << 20))
    service.put(newer, SPACE)
    return newer.read_bytes()


@pytest.mark.parametrize("how", ["delete", "overwrite"])
def test_deleting_or_overwriting_a_whole_file_that_deltas_were_made_against_keeps_them_readable(
    store: StoragePort, clock: Clock, tmp_path: Path, how: str
) -> None:
    other, near = _whole_base(store, clock, tmp_path)
    service = client(store, clock)
    assert service.put(near, SPACE).reason == "delta against rel/other.bin"

    now = _replace_or_delete(service, how, tmp_path)

    assert read(store, clock, "other.bin", tmp_path) == now
    assert read(store, clock, "near.bin", tmp_path) == near.read_bytes()
    assert f"rel/reference-{sha256(other)[:16]}.bin" in keys(store)  # kept under its content's key


@pytest.mark.parametrize("how", ["delete", "overwrite"])
def test_a_delta_made_against_a_whole_file_deleted_or_overwritten_meanwhile_downloads(
    store: StoragePort, clock: Clock, tmp_path: Path, how: str
) -> None:
    """The user's file is deleted (or replaced) while an upload encodes against it, before any delta
    depends on it: the upload keeps its content under the content's base key, never under the
    user's name (a deleted file does not come back)."""
    _, near = _whole_base(store, clock, tmp_path)
    hooked = HookedStorage(store)
    now: list[bytes | None] = []
    hooked.before(
        "put_file",
        "rel/near.bin.delta",
        lambda: now.append(_replace_or_delete(client(store, clock), how, tmp_path)),
    )

    assert client(hooked, clock).put(near, SPACE).reason == "delta against rel/other.bin"

    assert now and read(store, clock, "other.bin", tmp_path) == now[0]
    assert read(store, clock, "near.bin", tmp_path) == near.read_bytes()
