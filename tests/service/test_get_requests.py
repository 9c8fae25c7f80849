"""A download is one GET in the common case: the stored form the name makes likely is fetched first,
its metadata coming with it, and no HEAD goes before. Races with an upload that flips the name's
form still end with the new form's bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.hooked_storage import HookedStorage
from support.sdk import make_service, sha256

from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.format.locate import likely_keys
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.errors import NotFoundError
from deltaglider.ports.storage import StoragePort

SPACE = DeltaSpace("b", "rel")


def _noise(tmp_path: Path, name: str) -> Path:
    """A file named like a release that cannot be a small delta: stored whole."""
    path = tmp_path / "noise" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(os.urandom(200_000))
    return path


def test_likely_keys() -> None:
    for compat in (True, False):
        assert likely_keys("p/app.zip", original_compatible=compat) == ["p/app.zip.delta", "p/app.zip"]
        assert likely_keys("p/notes.txt", original_compatible=compat) == ["p/notes.txt", "p/notes.txt.delta"]
        reference = likely_keys("p/reference.bin", original_compatible=compat)
        assert reference == ["p/reference.bin.delta", "p/reference.bin"]
        assert likely_keys("p/app.tar.xz", original_compatible=compat) == [
            "p/app.tar.xz",
            "p/app.tar.xz.delta",
        ]
    # gzip content is stored whole for the original's sake, and as a delta of its content otherwise.
    assert likely_keys("p/app.tar.gz", original_compatible=True) == ["p/app.tar.gz", "p/app.tar.gz.delta"]
    assert likely_keys("p/app.tar.gz", original_compatible=False) == ["p/app.tar.gz.delta", "p/app.tar.gz"]
    # A wheel is a zip by content: a delta when content decides, whole in the original's format.
    assert likely_keys("p/x-1.0-py3-none-any.whl", original_compatible=False)[0].endswith(".whl.delta")
    assert likely_keys("p/x-1.0-py3-none-any.whl", original_compatible=True)[0].endswith(".whl")


def test_a_delta_with_its_reference_cached_is_one_get(releases: list[Path], tmp_path: Path) -> None:
    store = MemoryStorage()
    # In the original's format, where gzip content is always stored whole (as its name says).
    service = make_service(store, original_compatible=True)
    for path in releases[:2]:
        service.put(path, SPACE)
    notes = tmp_path / "notes.txt"
    notes.write_text("stored whole\n")
    service.put(notes, SPACE)
    gz = tmp_path / "data.tar.gz"
    gz.write_bytes(b"\x1f\x8b" + os.urandom(1000))
    service.put(gz, SPACE)

    for name, source in ((releases[1].name, releases[1]), ("notes.txt", notes), ("data.tar.gz", gz)):
        store.calls.clear()
        got = service.get(ObjectKey("b", f"rel/{name}"), tmp_path / "out")
        assert sha256(tmp_path / "out") == sha256(source)
        assert [op for op, _, _ in store.calls] == ["get"], (name, store.calls)
        assert got.reconstructed == (name == releases[1].name)


def test_the_unlikely_form_costs_one_more_get(releases: list[Path], tmp_path: Path) -> None:
    store = MemoryStorage()
    service = make_service(store)
    service.put(releases[0], SPACE)
    noise = _noise(tmp_path, "app-9.zip")  # a delta candidate, refused as a delta: stored whole
    service.put(noise, SPACE, max_ratio=0.0)
    store.calls.clear()

    service.get(ObjectKey("b", "rel/app-9.zip"), tmp_path / "out")

    assert [(op, key) for op, _, key in store.calls] == [
        ("get", "rel/app-9.zip.delta"),
        ("get", "rel/app-9.zip"),
    ]
    assert sha256(tmp_path / "out") == sha256(noise)


def test_a_missing_name_is_not_found_and_writes_nothing(tmp_path: Path) -> None:
    service = make_service(MemoryStorage())
    with pytest.raises(NotFoundError, match="no object at"):
        service.get(ObjectKey("b", "rel/app.zip"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StoragePort:
    if request.param == "memory":
        return MemoryStorage()
    root = tmp_path / "store"
    root.mkdir()
    return LocalStorage(root)


def test_a_name_flipped_to_whole_just_before_the_get(
    store: StoragePort, releases: list[Path], tmp_path: Path
) -> None:
    hooked = HookedStorage(store)
    reader, writer = make_service(hooked), make_service(store)
    writer.put(releases[0], SPACE)
    writer.put(releases[1], SPACE)
    noise = _noise(tmp_path, releases[1].name)
    # The reader is about to GET the delta when the writer stores the name whole (removing the delta).
    hooked.before(
        "get_file", f"rel/{releases[1].name}.delta", lambda: writer.put(noise, SPACE, max_ratio=0.0)
    )

    got = reader.get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "got.zip")

    assert not got.reconstructed
    assert sha256(tmp_path / "got.zip") == sha256(noise)


def test_a_name_flipped_to_a_delta_after_both_were_missed(
    store: StoragePort, releases: list[Path], tmp_path: Path
) -> None:
    hooked = HookedStorage(store)
    reader, writer = make_service(hooked), make_service(store)
    writer.put(releases[0], SPACE)
    noise = _noise(tmp_path, releases[1].name)
    writer.put(noise, SPACE, max_ratio=0.0)
    # The reader misses the delta; before it reaches the whole form, the writer stores a delta
    # there and removes the whole form: the second pass finds the delta.
    flip = lambda: writer.put(releases[1], SPACE)  # noqa: E731
    hooked.before("get_file", f"rel/{releases[1].name}", flip)

    got = reader.get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "got.zip")

    assert got.reconstructed
    assert sha256(tmp_path / "got.zip") == sha256(releases[1])
