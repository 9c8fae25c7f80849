"""An upload of a container makes the delta of its decoded content only where it can win: not while
the last tries of its kind in the DeltaSpace chose the plain delta (until a retry is due, or its base
changed), and not for an archive whose streams no zlib setting reproduces."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.artifacts import release_zips, wheel_like_zips
from support.sdk import make_service, sha256
from transforms.foreign_deflate import literal_deflate, zip_of
from transforms.helpers import sample_text, without_reconstructor

from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.family import bases, choices
from deltaglider.core.family.choices import Choices
from deltaglider.core.format.metadata import delta_metadata, reference_metadata, whole_metadata
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.put import archives
from deltaglider.core.service import DeltaService
from deltaglider.ports.diff import EncodePlan

SPACE = DeltaSpace("b", "rel")


class _CountingEncodes(XDelta3Diff):
    def __init__(self) -> None:
        super().__init__()
        self.encodes = 0

    def encode(self, source: Path, target: Path, out: Path, plan: EncodePlan | None = None) -> int:
        self.encodes += 1
        return super().encode(source, target, out, plan)


@pytest.fixture
def tries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every upload that made the decoded delta (entered the decoded side)."""
    made: list[str] = []
    real = archives.decoded_side

    def spy(ctx: Any, reference: Path, copy: Any, **kwargs: Any) -> Any:
        made.append(copy.path.name)
        return real(ctx, reference, copy, **kwargs)

    monkeypatch.setattr(archives, "decoded_side", spy)
    return made


def _upload_each(service: DeltaService, files: list[Path], tries: list[str]) -> list[bool]:
    """Uploads the files in order; for each, whether it made the decoded delta."""
    tried = []
    for path in files:
        before = len(tries)
        service.put(path, SPACE)
        tried.append(len(tries) > before)
    return tried


def test_a_family_where_decoding_loses_makes_the_plain_delta_alone(tmp_path: Path, tries: list[str]) -> None:
    """Releases whose large member is stored: decoding gains nothing, and once a try showed that,
    the uploads after it encode once, the decoded stream never made."""
    diff = _CountingEncodes()
    service = make_service(MemoryStorage(), diff=diff)
    files = release_zips(tmp_path, "bin", 5, size=300_000)
    service.put(files[0], SPACE)
    diff.encodes = 0
    first = service.put(files[1], SPACE)
    assert (first.transform, diff.encodes, len(tries)) == (None, 2, 1)  # the plain delta and the guess

    for path in files[2:]:
        diff.encodes = 0
        summary = service.put(path, SPACE)
        assert (summary.operation, summary.transform, diff.encodes) == ("PUT_DELTA", None, 1), path.name
    assert len(tries) == 1
    for path in files[1:]:
        service.get(ObjectKey("b", f"rel/{path.name}"), tmp_path / "out")
        assert (tmp_path / "out").read_bytes() == path.read_bytes()


def test_a_family_where_decoding_wins_tries_at_every_upload(tmp_path: Path, tries: list[str]) -> None:
    service = make_service(MemoryStorage())
    files = wheel_like_zips(tmp_path, "app", 4)
    service.put(files[0], SPACE)
    assert all(service.put(path, SPACE).transform == "zip" for path in files[1:])
    assert len(tries) == 3


def test_the_decoded_delta_is_tried_again_after_skips(
    tmp_path: Path, tries: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(choices, "RETRY_EVERY", 2)
    service = make_service(MemoryStorage())
    files = release_zips(tmp_path, "bin", 8, size=200_000)

    tried = _upload_each(service, files, tries)

    # The first file becomes the reference; then a try, two skips, a try...
    assert tried == [False, True, False, False, True, False, False, True]


def test_another_base_tries_again(tmp_path: Path, tries: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The bases' fingerprints chose another base than the last try was made against: the family
    moved, and what decoding gives there is not known yet."""
    service = make_service(MemoryStorage())
    files = release_zips(tmp_path, "bin", 6, size=200_000)
    assert _upload_each(service, files[:3], tries) == [False, True, False]
    # Every delta now drifts past the limit: the next upload becomes a base, made from the plain
    # delta alone (its base has not changed yet), and the one after it is encoded against that base.
    monkeypatch.setattr(bases, "DRIFT", 0.0)
    assert _upload_each(service, files[3:5], tries) == [False, True]


def test_a_new_service_starts_from_what_its_base_recorded(
    tmp_path: Path, tries: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process knows only what the base its upload is encoded against recorded."""
    store = MemoryStorage()
    files = release_zips(tmp_path, "bin", 12, size=200_000)
    make_service(store).put(files[0], SPACE)
    body, meta = store.raw("b", "rel/reference.bin")
    store.set_raw("b", "rel/reference.bin", body, {**meta, "dg-choices": "zip=plain"})

    tried = [_upload_each(make_service(store), [path], tries)[0] for path in files[1:]]

    # Each new service starts at a point of the retry count drawn from the file: most skip, about
    # one in RETRY_EVERY + 1 tries.
    drawn = [int(sha256(path)[:8], 16) % (choices.RETRY_EVERY + 1) for path in files[1:]]
    assert tried == [point == choices.RETRY_EVERY for point in drawn]
    assert tried.count(False) > 0


def test_a_record_that_says_decoded_or_nothing_tries(tmp_path: Path, tries: list[str]) -> None:
    store = MemoryStorage()
    files = release_zips(tmp_path, "bin", 3, size=200_000)
    make_service(store).put(files[0], SPACE)
    body, meta = store.raw("b", "rel/reference.bin")
    for record in ("zip=decoded", "gzip=plain", "zip=maybe", ""):
        store.set_raw("b", "rel/reference.bin", body, {**meta, "dg-choices": record})
        assert _upload_each(make_service(store), [files[1]], tries) == [True], record


def test_the_memo_records_what_a_base_made_now_says() -> None:
    memo = Choices()
    assert memo.known("s") == {}
    memo.chose("s", "zip", "plain", base_sha256="a" * 64)
    memo.chose("s", "gzip", "decoded", base_sha256="a" * 64)
    memo.chose("t", "xz", "plain", base_sha256="a" * 64)
    assert choices.to_text(memo.known("s")) == "gzip=decoded,zip=plain"
    assert choices.parse("gzip=decoded,zip=plain") == {"gzip": "decoded", "zip": "plain"}
    assert choices.to_text({}) is None
    assert choices.parse("zip=plain," + "x" * 300) == {}


def _foreign_zips(folder: Path) -> list[Path]:
    """Two releases of a zip whose members were deflated by a deflater that is not zlib."""
    paths = []
    for release in range(2):
        text = sample_text(150_000, seed=b"doc")
        text = text[:70_000] + f"release {release}".encode() + text[70_010:]
        small = f"version = {release}\n".encode()
        members = [
            ("pkg/doc.txt", text, literal_deflate(text)),
            ("pkg/VERSION", small, literal_deflate(small)),
        ]
        path = folder / f"foreign-1.{release}.zip"
        path.write_bytes(zip_of(members))
        paths.append(path)
    return paths


def test_an_archive_that_cannot_be_decoded_costs_one_encode(
    tmp_path: Path, tries: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    without_reconstructor(monkeypatch)  # which rebuilds any deflate stream small enough for it
    diff = _CountingEncodes()
    service = make_service(MemoryStorage(), diff=diff)
    first, second = _foreign_zips(tmp_path)
    searched: list[int] = []
    real = archives.encode_container
    monkeypatch.setattr(archives, "encode_container", lambda *a, **k: searched.append(1) or real(*a, **k))
    service.put(first, SPACE)
    diff.encodes = 0

    summary = service.put(second, SPACE)

    assert summary.transform is None
    assert (diff.encodes, tries, searched) == (1, [], [])
    service.get(ObjectKey("b", f"rel/{second.name}"), tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == second.read_bytes()


def test_a_base_records_the_choices_in_its_metadata() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    common = {"tool": "t", "sha256": "a" * 64, "created_at": when}
    assert reference_metadata(source_name="x", choices="zip=plain", **common)["dg-choices"] == "zip=plain"
    assert "dg-choices" not in reference_metadata(source_name="x", **common)
    whole = {"original_name": "x", "size": 1, "write_stamp": "s", **common}
    assert whole_metadata(fingerprint="fp", choices="zip=plain", **whole)["dg-choices"] == "zip=plain"
    assert "dg-choices" not in whole_metadata(choices="zip=plain", **whole)  # no base: nothing to read it
    delta = {**whole, "ref_key": "rel/reference.bin", "ref_sha256": "b" * 64, "delta_size": 1}
    snapshot = delta_metadata(snapshot_fingerprint="fp", choices="gzip=decoded", **delta)
    assert snapshot["dg-choices"] == "gzip=decoded"
    assert "dg-choices" not in delta_metadata(choices="gzip=decoded", **delta)


def test_what_a_base_made_after_the_uploads_would_record(tmp_path: Path) -> None:
    service = make_service(MemoryStorage())
    for path in release_zips(tmp_path, "bin", 3, size=200_000):
        service.put(path, SPACE)
    ctx = service._ctx
    assert choices.to_text(ctx.choices.known(ctx.storage.url("b", "rel/"))) == "zip=plain"
