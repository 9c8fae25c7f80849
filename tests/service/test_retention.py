"""Retention and re-packing (issue 13): files go, bases stay exactly as long as a kept file needs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.examples import examples
from support.families import cold_get, drifting_family, stored_family, two_families
from support.hooked_storage import HookedStorage
from support.sdk import make_service, sha256

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.family import bases
from deltaglider.core.format.metadata import parse
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService

SPACE = DeltaSpace("b", "rel")


class DayClock:
    """Each reading a day after the previous one."""

    def __init__(self) -> None:
        self.now_ = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self.now_ += timedelta(days=1)
        return self.now_


def _stored(store: MemoryStorage) -> int:
    return sum(len(store.raw("b", key)[0]) for key in store.keys("b"))


def _needed_bases_only(store: MemoryStorage, service: DeltaService) -> None:
    """Every base left is one a kept file (or a kept file's snapshot) needs."""
    needed: set[str] = set()
    for key in store.keys("b"):
        meta = store.raw("b", key)[1]
        info = parse(meta, key)
        if info.ref_sha256:
            needed.add(info.ref_sha256)
    for name in bases.removal_order(service._ctx, "b", "rel"):
        key = next(k for k in store.keys("b") if k in (f"rel/{name}", f"rel/{name}.delta"))
        assert store.raw("b", key)[1]["dg-file-sha256"] in needed, key


def _family_store(tmp_path: Path, count: int = 12) -> tuple[MemoryStorage, DeltaService, list[Path]]:
    return stored_family(tmp_path, count, clock=DayClock())


def test_keep_last_removes_old_files_and_the_bases_they_alone_needed(tmp_path: Path) -> None:
    store, service, family = _family_store(tmp_path)
    before = _stored(store)
    bases_before = bases.removal_order(service._ctx, "b", "rel")

    planned = service.retain(SPACE, keep_last=2, dry_run=True)
    assert _stored(store) == before  # a dry run changes nothing
    result = service.retain(SPACE, keep_last=2)

    assert sorted(result.kept) == [p.name for p in family[-2:]]
    assert sorted(result.removed) == [p.name for p in family[:-2]]
    assert result.bases_removed and len(bases.removal_order(service._ctx, "b", "rel")) < len(bases_before)
    assert result.bytes_freed == before - _stored(store)
    assert (planned.removed, planned.bases_removed, planned.bytes_freed) == (
        result.removed,
        result.bases_removed,
        result.bytes_freed,
    )
    _needed_bases_only(store, service)
    for path in family[-2:]:
        assert cold_get(store, path.name, tmp_path / "out") <= 2
        assert sha256(tmp_path / "out") == sha256(path)


class SetClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


def test_keep_within_goes_by_the_recorded_date(tmp_path: Path) -> None:
    family = drifting_family(tmp_path, 6)
    store = MemoryStorage()
    clock = SetClock()
    service = make_service(store, clock=clock)
    for day, path in enumerate(family):
        clock.at = datetime(2026, 1, 1 + day, tzinfo=UTC)
        service.put(path, SPACE)
    clock.at = datetime(2026, 1, 6, 12, tzinfo=UTC)  # half a day after the last upload
    result = service.retain(SPACE, keep_within=timedelta(days=3))
    assert sorted(result.kept) == [p.name for p in family[-3:]]  # 2.5, 1.5 and 0.5 days old
    _needed_bases_only(store, service)


def test_either_rule_keeps_a_file(tmp_path: Path) -> None:
    _, service, family = _family_store(tmp_path, 6)
    result = service.retain(SPACE, keep_last=4, keep_within=timedelta(days=1, hours=12))
    assert sorted(result.kept) == [p.name for p in family[-4:]]


def test_nothing_to_keep_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="what to keep"):
        make_service(MemoryStorage()).retain(SPACE)


def test_a_base_that_an_upload_chose_meanwhile_stays_readable(tmp_path: Path) -> None:
    """Retention decided a snapshot was unused; between that and its removal, an upload stored a
    delta against it. The upload saw the removal announced and kept the snapshot's content under its
    own base key (core.protocol): the new file rebuilds."""
    family = drifting_family(tmp_path, 12)
    inner = MemoryStorage()
    hooked = HookedStorage(inner)
    service = make_service(hooked, clock=DayClock())
    for path in family:
        service.put(path, SPACE)
    snapshot = next(k for k in inner.keys("b") if k.endswith(".bin.delta") and "reference-" in k)
    content = next(p for p in family if sha256(p).startswith(snapshot.split("reference-")[1][:16]))
    late = tmp_path / "late.iso"
    late.write_bytes(content.read_bytes())
    writer = make_service(inner, clock=DayClock())
    hooked.before("delete_if_match", snapshot, lambda: writer.put(late, SPACE))

    result = service.retain(SPACE, keep_last=1)

    assert snapshot in result.bases_removed
    assert f"rel/reference-{sha256(late)[:16]}.bin" in inner.keys("b")
    cold_get(inner, "late.iso", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == late.read_bytes()


def test_repack_turns_a_single_reference_folder_into_bases(tmp_path: Path) -> None:
    family = drifting_family(tmp_path, 12, step=0.1)
    store = MemoryStorage()
    old = make_service(store, original_compatible=True, clock=DayClock())
    for path in family:
        old.put(path, SPACE)
    before = _stored(store)
    created = {p.name: store.raw("b", _key(store, p.name))[1]["dg-created-at"] for p in family}

    result = make_service(store, clock=DayClock()).repack(SPACE)

    assert not result.failed
    assert result.stored_before == before
    assert result.stored_after == _stored(store) < 0.75 * before
    for path in family:
        assert cold_get(store, path.name, tmp_path / "out") <= 2
        assert sha256(tmp_path / "out") == sha256(path)
        assert store.raw("b", _key(store, path.name))[1]["dg-created-at"] == created[path.name]
    _needed_bases_only(store, make_service(store))


def _key(store: MemoryStorage, name: str) -> str:
    return next(k for k in store.keys("b") if k in (f"rel/{name}", f"rel/{name}.delta"))


def test_repack_is_refused_in_the_originals_format() -> None:
    with pytest.raises(ValueError, match="original"):
        make_service(MemoryStorage(), original_compatible=True).repack(SPACE)


_HISTORY = st.lists(
    st.tuples(st.sampled_from(["up", "up", "up", "del", "keep"]), st.integers(0, 1), st.integers(0, 5)),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=_HISTORY, seed=st.integers(0, 1000))
def test_random_histories_with_retention_keep_every_kept_file(
    tmp_path_factory: Any, history: Any, seed: int
) -> None:
    folder = tmp_path_factory.mktemp("retain")
    families = two_families(folder, seed)
    store = MemoryStorage()
    service = make_service(store, clock=DayClock())
    kept: dict[str, bytes] = {}
    for op, fam, n in history:
        path = families[fam][n]
        name = f"f{fam}-{path.name}"
        if op == "up":
            service.put(path, SPACE, name=name)
            kept[name] = path.read_bytes()
        elif op == "del" and name in kept:
            service.delete(ObjectKey("b", f"rel/{name}"))
            del kept[name]
        elif op == "keep":
            result = service.retain(SPACE, keep_last=n % 4)
            for gone in result.removed:
                kept.pop(gone, None)
    assert sorted(e.name for e in service.list(SPACE)) == sorted(kept)
    service.retain(SPACE, keep_last=len(kept))  # keeps every file, drops the bases none needs
    for name, data in kept.items():
        assert cold_get(store, name, folder / "out") <= 2
        assert (folder / "out").read_bytes() == data
    _needed_bases_only(store, service)


def test_retention_heads_each_file_once(tmp_path: Path) -> None:
    """A listing carries no metadata: each file's date and base come from one HEAD, not one for the
    listing's sizes and another for retention."""
    store, service, family = _family_store(tmp_path, 6)
    store.calls.clear()

    service.retain(SPACE, keep_last=len(family))

    heads = [key for op, _, key in store.calls if op == "head" and "/reference" not in key]
    assert sorted(heads) == sorted(_key(store, p.name) for p in family)
