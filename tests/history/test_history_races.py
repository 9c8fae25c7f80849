"""The races of a name's history (issue 25), each forced with a hook in the store (not hoped for), on
the memory store, a folder store and S3 (moto in process).

"Two writers of one name keep both versions in the order of their write stamps; neither is lost":
each test lets one client's flow reach a chosen store call, runs another client's flow to completion
there, lets the first go on, and then reads the name's whole history back with a fresh client
(``support.history.read_history``): every version acknowledged and not removed is listed once, newest
first, and downloads byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.history import (
    SPACE,
    client,
    content,
    contents_of,
    key_of,
    open_store,
    read_history,
    release,
    serials,
)
from support.hooked_storage import HookedStorage
from support.sdk import TickingClock

from deltaglider.errors import NotFoundError

NAME = "a.iso"
DELTA = f"{SPACE.prefix}/{NAME}.delta"
WHOLE = f"{SPACE.prefix}/{NAME}"
HISTORY = f"{SPACE.prefix}/.deltaglider/history/"


#: moto costs a race several times what the other stores do: by default S3 runs the races marked
#: ``ON_S3_TOO``; ``pytest -m slow`` runs every race on S3.
@pytest.fixture(params=["memory", "folder", pytest.param("s3", marks=pytest.mark.slow)])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with open_store(request.param, tmp_path, monkeypatch) as opened:
        yield opened


ON_S3_TOO = pytest.mark.parametrize("store", ["memory", "folder", "s3"], indirect=True)


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


#: The store calls that write an object: a hook "before the write" fires before whichever comes first,
#: so that a planted bug that writes another way still meets the race.
WRITES = ("put_file", "put_file_if_match", "put_file_if_absent")


def before_write(hooked: HookedStorage, key: str, action: Callable[[], object]) -> list[str]:
    """Runs ``action`` once, just before the first write to ``key``; the list returned names the call
    it ran before (empty: the race never took place)."""
    fired: list[str] = []

    def once(method: str) -> Callable[[], None]:
        def run() -> None:
            if not fired:
                fired.append(method)
                action()

        return run

    for method in WRITES:
        hooked.before(method, key, once(method))
    return fired


def serials_of(*files: Path | bytes) -> list[int]:
    """The serials of the releases ``files`` (paths or bytes), as :func:`serials` reads them."""
    return [int.from_bytes((f if isinstance(f, bytes) else f.read_bytes())[-8:], "big") for f in files]


def _upload(store: Any, clock: TickingClock, file: Path, *, whole: bool = False) -> None:
    client(store, clock, whole=whole).put(file, SPACE)


def _seed(store: Any, clock: TickingClock, tmp_path: Path) -> bytes:
    """A folder whose base is another name's, and ``a.iso`` stored as a delta: its first version."""
    seeder = client(store, clock)
    seeder.put(release(tmp_path, "first.iso", 1, 0.0), SPACE)
    seeder.put(release(tmp_path, NAME, 2), SPACE)
    return content(2)


def _current(store: Any, clock: TickingClock, tmp_path: Path) -> bytes | None:
    """What a fresh client downloads for the name (no version asked)."""
    out = tmp_path / "current" / NAME
    out.parent.mkdir(exist_ok=True)
    out.unlink(missing_ok=True)
    try:
        client(store, clock).get(key_of(NAME), out)
    except NotFoundError:  # gone: None (the history still says what it was)
        return None
    return out.read_bytes()


# -- (a) two writers of one name in the same form --------------------------------------------------------


@ON_S3_TOO
def test_a_write_landing_between_anothers_keep_and_put_is_kept_too(
    store: Any, clock: TickingClock, tmp_path: Path
) -> None:
    """Writer A keeps the version the name holds, and just before its write lands, writer B writes the
    name (a delta too). A must keep B's version before it replaces it: three versions, in the order
    they landed (B's, then A's, whose stamp passes B's), the newest current."""
    first = _seed(store, clock, tmp_path)
    hooked = HookedStorage(store)
    late, early = release(tmp_path, NAME, 3), release(tmp_path, NAME, 4)
    fired = before_write(hooked, DELTA, lambda: client(store, clock).put(early, SPACE))

    summary = client(hooked, clock).put(late, SPACE)

    assert fired and summary.operation == "PUT_DELTA"
    history = read_history(store, clock, NAME, tmp_path)
    assert serials(history) == serials_of(late, early, first)
    assert contents_of(history) == [late.read_bytes(), early.read_bytes(), first]
    assert [read.info.is_current for read in history] == [True, False, False]
    assert _current(store, clock, tmp_path) == late.read_bytes()


# -- (b) two writers of one name in different forms ------------------------------------------------------


@pytest.mark.parametrize("slow_whole", [True, False], ids=["whole-late", "delta-late"])
@ON_S3_TOO
def test_writers_of_one_name_in_two_forms_keep_both_versions(
    store: Any, clock: TickingClock, tmp_path: Path, slow_whole: bool
) -> None:
    """Writer A (stored whole, or as a delta) has its stamp and is about to write its form; writer B
    writes the other form to the end. B's stamp is the later: B's version is current, and A's, which
    landed after it and was superseded, is kept in the history, as is the first version."""
    first = _seed(store, clock, tmp_path)
    hooked = HookedStorage(store)
    a, b = release(tmp_path, NAME, 3), release(tmp_path, NAME, 4)
    if slow_whole:  # A writes the whole form, where nothing is: B's delta lands just before
        fired = before_write(hooked, WHOLE, lambda: client(store, clock).put(b, SPACE))
    else:  # A writes the delta over the first version: B's whole file lands just before
        fired = before_write(hooked, DELTA, lambda: client(store, clock, whole=True).put(b, SPACE))

    client(hooked, clock, whole=slow_whole).put(a, SPACE)

    assert fired
    history = read_history(store, clock, NAME, tmp_path)
    assert serials(history) == serials_of(b, a, first)
    assert contents_of(history) == [b.read_bytes(), a.read_bytes(), first]
    assert history[0].info.is_current and history[0].info.is_delta is slow_whole
    assert _current(store, clock, tmp_path) == b.read_bytes()


# -- (c) a delete that keeps history, racing an overwrite ----------------------------------------------


@pytest.mark.parametrize("late", ["delete", "overwrite"])
@ON_S3_TOO
def test_a_delete_racing_an_overwrite_loses_no_version(
    store: Any, clock: TickingClock, tmp_path: Path, late: str
) -> None:
    """``delete``: the delete has kept the version and is about to remove it when an overwrite
    lands; it must keep the overwrite's version too before it removes it (the name ends deleted,
    both versions in its history). ``overwrite``: the overwrite has kept the version and is about to
    replace it when the delete runs to its end; the overwrite then writes where nothing is (the
    name ends holding it, the first version in its history)."""
    first = _seed(store, clock, tmp_path)
    hooked = HookedStorage(store)
    newer = release(tmp_path, NAME, 3)
    if late == "delete":
        hooked.before("delete_if_match", DELTA, lambda: _upload(store, clock, newer))
        client(hooked, clock).delete(key_of(NAME))
        current = None
        assert ("delete_if_match", DELTA) in hooked.calls  # the race took place
    else:
        fired = before_write(hooked, DELTA, lambda: client(store, clock).delete(key_of(NAME)))
        client(hooked, clock).put(newer, SPACE)
        current = newer.read_bytes()
        assert fired
    expected = [newer.read_bytes(), first]
    history = read_history(store, clock, NAME, tmp_path)
    assert serials(history) == serials_of(*expected)
    assert contents_of(history) == expected
    assert [read.info.is_current for read in history] == [current is not None, False]
    assert _current(store, clock, tmp_path) == current


def test_a_delete_keeps_the_other_form_written_while_it_removed_the_name(
    store: Any, clock: TickingClock, tmp_path: Path
) -> None:
    """A delete that keeps history has kept the name's delta and removed it, when an upload stored
    whole (the other form) runs to its end: the delete, removing the name entire, removes that whole
    file too, and must keep its version first (it was acknowledged)."""
    first = _seed(store, clock, tmp_path)
    newer = release(tmp_path, NAME, 3)
    hooked = HookedStorage(store)
    hooked.after("delete_if_match", DELTA, lambda: _upload(store, clock, newer, whole=True))

    client(hooked, clock).delete(key_of(NAME))

    assert ("delete_if_match", WHOLE) in hooked.calls  # the race took place: it removed the whole file
    history = read_history(store, clock, NAME, tmp_path)
    assert serials(history) == serials_of(newer, first)
    assert _current(store, clock, tmp_path) is None


# -- (d) retention by versions, racing an overwrite ----------------------------------------------------


@pytest.mark.parametrize("at", ["listed", "removing"])
@ON_S3_TOO
def test_a_version_kept_after_retention_listed_stays(
    store: Any, clock: TickingClock, tmp_path: Path, at: str
) -> None:
    """Retention keeps one version of each name (the current one) and drops the rest of the history;
    an overwrite lands after it listed the history (``listed``), or just before it removes the first
    kept version it judged (``removing``). The version the overwrite replaced was current when
    retention judged: kept after its listing, it is not retention's to remove, and stays."""
    _seed(store, clock, tmp_path)
    second = release(tmp_path, NAME, 3)
    client(store, clock).put(second, SPACE)  # the first version is now kept in the history
    newest = release(tmp_path, NAME, 4)
    hooked = HookedStorage(store)
    raced: list[str] = []

    def overwrite() -> None:
        raced.append(at)
        client(store, clock).put(newest, SPACE)

    if at == "listed":
        hooked.after("list", HISTORY, overwrite)
    else:
        hooked.before("delete_if_match", None, overwrite)

    result = client(hooked, clock).retain(SPACE, keep_versions=1)

    assert raced  # the race took place
    assert len(result.versions_removed) == 1  # the first version, which it judged
    history = read_history(store, clock, NAME, tmp_path)
    assert serials(history) == serials_of(newest, second)
    assert contents_of(history) == [newest.read_bytes(), second.read_bytes()]
    # The next pass judges it, and drops it.
    client(store, clock).retain(SPACE, keep_versions=1)
    assert serials(read_history(store, clock, NAME, tmp_path)) == serials_of(newest)


def test_a_version_retention_removed_is_not_kept_again_by_an_upload_under_way(
    store: Any, clock: TickingClock, tmp_path: Path
) -> None:
    """An upload stored whole replaces the name's delta: it has kept the delta's version and written
    its whole form, and has yet to remove the delta, when retention by versions runs to its end.
    The version still at the name (the older of its two forms) is no version retention may report
    removed: the upload keeps it again before it removes the delta, so it would be listed (and
    stored) after retention said it was gone."""
    first = _seed(store, clock, tmp_path)
    second = release(tmp_path, NAME, 3)
    client(store, clock).put(second, SPACE)  # the first version is kept in the history
    newest = release(tmp_path, NAME, 4)
    hooked = HookedStorage(store)
    results: list[list[str]] = []

    def retain() -> None:
        results.append(client(store, clock).retain(SPACE, keep_versions=1).versions_removed)

    hooked.after("put_file_if_absent", WHOLE, retain)

    client(hooked, clock, whole=True).put(newest, SPACE)

    assert results  # the race took place
    history = read_history(store, clock, NAME, tmp_path)
    listed = {f"{NAME}@{read.info.version_id}" for read in history}
    assert not listed & set(results[0]), f"removed by retention, listed again: {listed & set(results[0])}"
    assert serials(history)[0] == serials_of(newest)[0]
    assert set(serials(history)) <= set(serials_of(newest, second, first))


def test_a_version_retention_removed_is_not_kept_again_from_an_old_read(
    store: Any, clock: TickingClock, tmp_path: Path
) -> None:
    """An upload has read the name's version to keep it, when a delete (keeping it) and then a
    retention that keeps no version run to their ends: the version left the name, kept by the
    delete, and retention removed it. The upload must not keep it again from what it read before."""
    _seed(store, clock, tmp_path)
    newest = release(tmp_path, NAME, 3)
    hooked = HookedStorage(store)
    results: list[list[str]] = []

    def delete_then_retain() -> None:
        client(store, clock).delete(key_of(NAME))
        results.append(client(store, clock).retain(SPACE, keep_versions=0).versions_removed)

    hooked.after("get_file", DELTA, delete_then_retain)

    client(hooked, clock).put(newest, SPACE)

    assert results and results[0]  # the race took place, and retention removed the version
    history = read_history(store, clock, NAME, tmp_path)
    listed = {f"{NAME}@{read.info.version_id}" for read in history}
    assert not listed & set(results[0]), f"removed by retention, listed again: {listed & set(results[0])}"
    assert serials(history) == serials_of(newest)


def test_a_delta_whose_base_went_for_good_is_no_version_of_its_name(
    store: Any, clock: TickingClock, tmp_path: Path
) -> None:
    """An upload has written its delta when another client removes the folder's files and its
    reference, and (just before the upload keeps its base again) stores an unrelated file, which
    becomes the new reference: the upload's base is gone for good, and it stores its file whole
    instead. Its own delta never held a version: it is not kept in the name's history (it would be
    listed, and not rebuild)."""
    seeder = client(store, clock)
    seeder.put(release(tmp_path, "first.iso", 1, 0.0), SPACE)
    upload = release(tmp_path, NAME, 2)
    other = client(store, clock, keep_history=False)
    hooked = HookedStorage(store)

    def remove_all() -> None:
        other.delete(key_of("first.iso"))
        other.delete(key_of("reference.bin"), force=True)

    hooked.after("put_file_if_absent", DELTA, remove_all)
    hooked.before(
        "put_file_if_absent", f"{SPACE.prefix}/reference.bin", lambda: _upload_unrelated(other, tmp_path)
    )

    summary = client(hooked, clock).put(upload, SPACE)

    assert summary.operation == "PUT"  # stored whole: the race took place
    history = read_history(store, clock, NAME, tmp_path)
    assert serials(history) == serials_of(upload)


def _upload_unrelated(other: Any, tmp_path: Path) -> None:
    other.put(release(tmp_path, "z.iso", 99, None), SPACE)


def test_an_upload_superseded_while_it_settled_does_not_bring_back_what_retention_removed(
    store: Any, clock: TickingClock, tmp_path: Path
) -> None:
    """An upload stored whole has written its form and found no other form, when a newer upload (a
    delta) replaces it (keeping its version, removing it as stale) and a retention that keeps only
    the current version removes it from the history. The first upload, finding its object gone,
    must see that a newer version superseded it, not write its own again: that write would be kept
    in the history once more, a version retention reported removed."""
    client(store, clock).put(release(tmp_path, "first.iso", 1, 0.0), SPACE)
    client(store, clock, whole=True).put(release(tmp_path, NAME, 2), SPACE)  # no delta form
    older, newer = release(tmp_path, NAME, 3), release(tmp_path, NAME, 4)
    hooked = HookedStorage(store)
    results: list[list[str]] = []

    def overwrite_and_retain() -> None:
        client(store, clock).put(newer, SPACE)
        results.append(client(store, clock).retain(SPACE, keep_versions=1).versions_removed)

    hooked.after("head", DELTA, overwrite_and_retain)

    client(hooked, clock, whole=True).put(older, SPACE)

    assert results and len(results[0]) == 2  # the race took place: the first and the older upload's
    history = read_history(store, clock, NAME, tmp_path)
    listed = {f"{NAME}@{read.info.version_id}" for read in history}
    assert not listed & set(results[0]), f"removed by retention, listed again: {listed & set(results[0])}"
    assert serials(history) == serials_of(newer)


# -- (e) an upload that keeps history, racing re-packing of the name ---------------------------------


@pytest.mark.parametrize("late", ["repack", "upload"])
@ON_S3_TOO
def test_an_upload_racing_repack_of_its_name_keeps_both_versions(
    store: Any, clock: TickingClock, tmp_path: Path, late: str
) -> None:
    """``repack``: re-packing has read the name's version (stored whole, so that re-packing makes it
    a delta) and is about to rewrite it when an upload that keeps history lands: re-packing yields,
    and the name holds the upload, its first version kept. ``upload``: the upload has kept the
    version and is about to write when re-packing rewrites that version (the same version, another
    object): the upload writes over the rewrite, and the version stays listed once."""
    seeder = client(store, clock)
    seeder.put(release(tmp_path, "first.iso", 1, 0.0), SPACE)
    old = release(tmp_path, NAME, 2)
    client(store, clock, whole=True).put(old, SPACE)
    newer = release(tmp_path, NAME, 3)
    hooked = HookedStorage(store)
    if late == "repack":
        hooked.after("get_file", WHOLE, lambda: _upload(store, clock, newer))
        result = client(hooked, clock).repack(SPACE)
        assert ("get_file", WHOLE) in hooked.calls and result.skipped == [NAME]
    else:
        repacked = []
        fired = before_write(hooked, DELTA, lambda: repacked.append(client(store, clock).repack(SPACE)))
        client(hooked, clock).put(newer, SPACE)
        assert fired and NAME in repacked[0].files
    history = read_history(store, clock, NAME, tmp_path)
    assert serials(history) == serials_of(newer, old)
    assert contents_of(history) == [newer.read_bytes(), old.read_bytes()]
    assert _current(store, clock, tmp_path) == newer.read_bytes()


@ON_S3_TOO
def test_an_upload_landing_after_a_delete_is_the_newest_version(
    store: Any, clock: TickingClock, tmp_path: Path
) -> None:
    """Writer A has its stamp and is about to write when writer B uploads the name and a delete
    (keeping history) moves B's version into the history: A then writes where nothing is, after B's
    version, so its stamp must pass B's and it is the newest, current one."""
    first = _seed(store, clock, tmp_path)
    hooked = HookedStorage(store)
    a, b = release(tmp_path, NAME, 3), release(tmp_path, NAME, 4)

    def b_then_delete() -> None:
        client(store, clock).put(b, SPACE)
        client(store, clock).delete(key_of(NAME))

    fired = before_write(hooked, DELTA, b_then_delete)

    client(hooked, clock).put(a, SPACE)

    assert fired
    history = read_history(store, clock, NAME, tmp_path)
    assert contents_of(history) == [a.read_bytes(), b.read_bytes(), first]
    assert [read.info.is_current for read in history] == [True, False, False]
