from __future__ import annotations

import gzip
import random
import zipfile
from pathlib import Path

import pytest
from support.artifacts import unrelated_file
from support.sdk import TOOL, make_service, sha256

from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.errors import CodecError, InvalidURLError, NotFoundError
from deltaglider.ports.diff import EncodePlan

SPACE = DeltaSpace("b", "rel")


def test_first_file_becomes_reference_with_a_zero_diff_delta(
    storage: MemoryStorage, releases: list[Path]
) -> None:
    service = make_service(storage)
    summary = service.put(releases[0], SPACE)
    assert summary.operation == "PUT"
    assert summary.key == "rel/reference.bin"
    assert storage.keys("b") == ["rel/app-1.0.zip.delta", "rel/reference.bin"]
    ref, ref_meta = storage.raw("b", "rel/reference.bin")
    assert ref == releases[0].read_bytes()
    assert ref_meta["dg-file-sha256"] == sha256(releases[0])
    assert ref_meta["dg-source-name"] == "app-1.0.zip"
    delta, delta_meta = storage.raw("b", "rel/app-1.0.zip.delta")
    assert delta_meta["dg-note"] == "zero-diff (reference identical)"
    assert delta_meta["dg-ref-key"] == "rel/reference.bin"
    assert delta_meta["dg-ref-sha256"] == sha256(releases[0])
    assert delta_meta["dg-tool"] == TOOL
    assert len(delta) < 200
    assert summary.stored_size == releases[0].stat().st_size + len(delta)


def test_later_files_are_deltas(storage: MemoryStorage, releases: list[Path]) -> None:
    service = make_service(storage)
    service.put(releases[0], SPACE)
    summary = service.put(releases[1], SPACE)
    assert summary.operation == "PUT_DELTA"
    assert summary.key == "rel/app-1.1.zip.delta"
    data, meta = storage.raw("b", summary.key)
    assert summary.stored_size == summary.delta_size == len(data) == int(meta["dg-delta-size"])
    assert summary.delta_ratio is not None and summary.delta_ratio < 0.1
    assert meta["dg-file-size"] == str(releases[1].stat().st_size)
    assert "dg-note" not in meta
    assert "dg-compression" not in meta


def test_non_candidates_are_stored_whole_with_their_sha(storage: MemoryStorage, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n" * 1000)
    summary = make_service(storage, original_compatible=True).put(notes, SPACE)  # the original's rule
    assert (summary.operation, summary.key) == ("PUT", "rel/notes.txt")
    assert "not a delta candidate" in summary.reason
    _, meta = storage.raw("b", "rel/notes.txt")
    assert meta["dg-compression"] == "none"
    assert meta["dg-file-sha256"] == sha256(notes)
    assert "rel/reference.bin" not in storage.keys("b")


def test_gzip_minus_9_tar_gz_is_stored_whole_and_round_trips(storage: MemoryStorage, tmp_path: Path) -> None:
    """The original's binary gunzipped such files and could not recompress them byte-exact."""
    payload = random.Random(1).randbytes(50_000) * 3
    archive = tmp_path / "backup.tar.gz"
    # gzip -9 with a name and an mtime in the header: what `gzip -9 -k` writes.
    with open(archive, "wb") as raw, gzip.GzipFile("backup.tar", "wb", 9, raw, mtime=1_700_000_000) as gz:
        gz.write(payload)
    service = make_service(storage, original_compatible=True)  # as the original stores it
    summary = service.put(archive, SPACE)
    assert summary.operation == "PUT"
    assert summary.key == "rel/backup.tar.gz"
    assert "gzip-compressed" in summary.reason
    assert "rel/reference.bin" not in storage.keys("b")
    out = tmp_path / "out.tar.gz"
    service.get(ObjectKey("b", "rel/backup.tar.gz"), out)
    assert out.read_bytes() == archive.read_bytes()


def test_no_delta_against_a_compressed_reference(storage: MemoryStorage, tmp_path: Path) -> None:
    """A DeltaSpace the original started with a .tar.gz: its reference.bin is gzip data."""
    first = tmp_path / "a.tar.gz"
    first.write_bytes(gzip.compress(b"x" * 10_000, mtime=0))
    storage.set_raw("b", "rel/reference.bin", first.read_bytes(), {"dg-file-sha256": sha256(first)})
    second = tmp_path / "b.zip"
    second.write_bytes(b"PK\x03\x04" + first.read_bytes())
    summary = make_service(storage, original_compatible=True).put(second, SPACE)
    assert summary.operation == "PUT"
    assert "reference is gzip-compressed" in summary.reason
    assert storage.raw("b", "rel/b.zip")[0] == second.read_bytes()


def test_max_ratio_is_enforced_and_the_stale_delta_removed(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    # The original's rule; with bases on, such a file starts a new base (tests/service/test_bases.py).
    service = make_service(storage, original_compatible=True)
    service.put(releases[0], SPACE)
    target = tmp_path / "app-1.1.zip"
    target.write_bytes(releases[1].read_bytes())
    assert service.put(target, SPACE).operation == "PUT_DELTA"
    unrelated_file(target, size=200_000)
    summary = service.put(target, SPACE)
    assert summary.operation == "PUT"
    assert summary.key == "rel/app-1.1.zip"
    assert summary.delta_ratio is not None and summary.delta_ratio > 0.5
    assert "exceeds max_ratio" in summary.reason
    assert "rel/app-1.1.zip.delta" not in storage.keys("b")
    _, meta = storage.raw("b", "rel/app-1.1.zip")
    assert meta["dg-compression"] == "none"
    assert meta["dg-file-sha256"] == sha256(target)
    # And back: a delta again makes the whole copy stale.
    target.write_bytes(releases[2].read_bytes())
    assert service.put(target, SPACE).operation == "PUT_DELTA"
    assert "rel/app-1.1.zip" not in storage.keys("b")
    out = tmp_path / "out.zip"
    service.get(ObjectKey("b", "rel/app-1.1.zip"), out)
    assert out.read_bytes() == releases[2].read_bytes()


def test_max_ratio_per_call_overrides_the_services(storage: MemoryStorage, releases: list[Path]) -> None:
    service = make_service(storage, max_ratio=0.5)
    service.put(releases[0], SPACE)
    assert service.put(releases[1], SPACE, max_ratio=0.0).operation == "PUT"
    assert service.put(releases[2], SPACE).operation == "PUT_DELTA"
    with pytest.raises(ValueError, match="max_ratio"):
        service.put(releases[3], SPACE, max_ratio=1.5)


@pytest.mark.parametrize("name", ["reference.bin", "app.zip.delta"])
def test_reserved_names_do_not_clobber_the_layout(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path, name: str
) -> None:
    service = make_service(storage)
    service.put(releases[0], SPACE, name="app.zip")
    reference_before = storage.raw("b", "rel/reference.bin")
    delta_before = storage.raw("b", "rel/app.zip.delta")
    summary = service.put(releases[1], SPACE, name=name)
    assert summary.key == f"rel/{name}.delta"
    assert storage.raw("b", "rel/reference.bin") == reference_before
    assert storage.raw("b", "rel/app.zip.delta") == delta_before
    out = tmp_path / "out"
    service.get(ObjectKey("b", f"rel/{name}"), out)
    assert out.read_bytes() == releases[1].read_bytes()
    service.get(ObjectKey("b", "rel/app.zip"), out)
    assert out.read_bytes() == releases[0].read_bytes()


def test_reserved_name_stored_whole_keeps_its_delta_key(storage: MemoryStorage, tmp_path: Path) -> None:
    odd = tmp_path / "log.delta"
    odd.write_text("not a candidate")
    summary = make_service(storage).put(odd, SPACE)
    assert (summary.operation, summary.key) == ("PUT", "rel/log.delta.delta")
    assert storage.raw("b", "rel/log.delta.delta")[1]["dg-compression"] == "none"


@pytest.mark.parametrize("name", ["a/b.zip", "..", ""])
def test_bad_names_are_refused(storage: MemoryStorage, releases: list[Path], name: str) -> None:
    with pytest.raises(InvalidURLError):
        make_service(storage).put(releases[0], SPACE, name=name)


def test_missing_file(storage: MemoryStorage, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        make_service(storage).put(tmp_path / "nope.zip", SPACE)
    with pytest.raises(FileNotFoundError):  # the builtin a caller would catch
        make_service(storage).put(tmp_path, SPACE)


class _LyingDiff(XDelta3Diff):
    """Encodes against the wrong data, so its delta does not rebuild the file."""

    def encode(self, source: Path, target: Path, out: Path, plan: EncodePlan | None = None) -> int:
        return super().encode(source, source, out)


def test_a_delta_that_does_not_rebuild_is_never_stored(storage: MemoryStorage, releases: list[Path]) -> None:
    make_service(storage).put(releases[0], SPACE)
    before = storage.keys("b")
    with pytest.raises(CodecError):
        make_service(storage, diff=_LyingDiff()).put(releases[1], SPACE)
    assert storage.keys("b") == before


REFERENCE_KEYS = {"dg-tool", "dg-source-name", "dg-file-sha256", "dg-created-at", "dg-note"}
DELTA_KEYS = {
    "dg-tool",
    "dg-original-name",
    "dg-file-sha256",
    "dg-file-size",
    "dg-created-at",
    "dg-ref-key",
    "dg-ref-sha256",
    "dg-delta-size",
    "dg-delta-cmd",
    "dg-write-stamp",  # ours: orders two uploads of one name (the original ignores it)
    "dg-source-mtime",  # ours: when the user's file was made, for retention (the original ignores it)
}
WHOLE_KEYS = {
    "dg-tool",
    "dg-original-name",
    "dg-file-sha256",
    "dg-file-size",
    "dg-created-at",
    "dg-compression",
    "dg-write-stamp",
    "dg-source-mtime",
}


def test_uploads_write_exactly_the_originals_keys(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    service = make_service(storage, original_compatible=True)  # transformed deltas add keys of ours
    service.put(releases[0], SPACE)
    service.put(releases[1], SPACE)
    notes = tmp_path / "notes.txt"
    notes.write_text("n")
    service.put(notes, SPACE)
    metas = {key: storage.raw("b", key)[1] for key in storage.keys("b")}
    assert set(metas["rel/reference.bin"]) == REFERENCE_KEYS
    assert set(metas["rel/app-1.0.zip.delta"]) == DELTA_KEYS | {"dg-note"}
    assert set(metas["rel/app-1.1.zip.delta"]) == DELTA_KEYS
    assert set(metas["rel/notes.txt"]) == WHOLE_KEYS
    for meta in metas.values():
        assert meta["dg-created-at"] == "2026-01-02T03:04:05.678901Z"
        assert meta["dg-tool"] == TOOL


class _LyingOnItselfDiff(XDelta3Diff):
    """Its delta of a file against itself (the first file's zero-diff delta) rebuilds other bytes."""

    def encode(self, source: Path, target: Path, out: Path, plan: EncodePlan | None = None) -> int:
        if source == target:
            other = out.with_name("other")
            other.write_bytes(target.read_bytes()[::-1])
            return super().encode(other, other, out)
        return super().encode(source, target, out, plan)


def test_a_first_files_zero_diff_delta_is_checked_before_anything_is_stored(
    storage: MemoryStorage, releases: list[Path]
) -> None:
    with pytest.raises(CodecError):  # the self-check's decode fails: its window checksums differ
        make_service(storage, diff=_LyingOnItselfDiff()).put(releases[0], SPACE)
    assert storage.keys("b") == []


def test_a_delta_at_exactly_max_ratio_is_kept(storage: MemoryStorage, releases: list[Path]) -> None:
    """The limit is on the ratio exceeding max_ratio, not reaching it."""
    service = make_service(storage)
    service.put(releases[0], SPACE)
    probe = service.put(releases[1], SPACE)
    assert probe.delta_ratio is not None
    again = service.put(releases[1], SPACE, max_ratio=probe.delta_ratio)
    assert (again.operation, again.delta_ratio) == ("PUT_DELTA", probe.delta_ratio)


def test_upper_case_sha256s_in_metadata_are_read(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    """Other writers may spell a SHA-256 in upper case; ours are lower case, and compared as such."""
    service = make_service(storage)
    service.put(releases[0], SPACE)
    data, meta = storage.raw("b", "rel/reference.bin")
    storage.set_raw(
        "b", "rel/reference.bin", data, {**meta, "dg-file-sha256": meta["dg-file-sha256"].upper()}
    )
    summary = make_service(storage).put(releases[1], SPACE)
    assert summary.operation == "PUT_DELTA"
    assert summary.reference_hash == sha256(releases[0])
    data, meta = storage.raw("b", "rel/app-1.1.zip.delta")
    assert meta["dg-ref-sha256"] == sha256(releases[0])
    storage.set_raw(
        "b", "rel/app-1.1.zip.delta", data, {**meta, "dg-ref-sha256": sha256(releases[0]).upper()}
    )
    make_service(storage).get(ObjectKey("b", "rel/app-1.1.zip"), tmp_path / "out")
    assert sha256(tmp_path / "out") == sha256(releases[1])


def test_the_services_default_max_ratio_is_the_specs() -> None:
    from deltaglider.adapters.cache_memory import MemoryCache
    from deltaglider.adapters.clock_utc import UtcClock
    from deltaglider.adapters.hash_sha256 import Sha256Hasher
    from deltaglider.adapters.logger_std import StdLogger
    from deltaglider.adapters.metrics_noop import NoopMetrics
    from deltaglider.core.service import DeltaService

    hasher = Sha256Hasher()
    cache = MemoryCache(max_bytes=1, hasher=hasher)
    service = DeltaService(
        MemoryStorage(), XDelta3Diff(), hasher, cache, UtcClock(), StdLogger(), NoopMetrics()
    )
    assert service.max_ratio == 0.5


def test_max_ratio_zero_stores_even_a_first_file_whole(storage: MemoryStorage, releases: list[Path]) -> None:
    """Deltas off (the CLI's --no-delta): the first file of a folder does not become its reference."""
    service = make_service(storage)
    summary = service.put(releases[0], SPACE, max_ratio=0.0)
    assert (summary.operation, summary.key) == ("PUT", "rel/app-1.0.zip")
    assert "deltas are off" in summary.reason
    assert storage.keys("b") == ["rel/app-1.0.zip"]
    # With deltas on again, the next file starts the reference.
    assert service.put(releases[1], SPACE).key == "rel/reference.bin"
    assert service.put(releases[2], SPACE).operation == "PUT_DELTA"


def test_small_files_that_are_no_archive_do_not_start_a_reference(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n" * 1000)
    service = make_service(storage)
    summary = service.put(notes, SPACE)
    assert (summary.operation, summary.key) == ("PUT", "rel/notes.txt")
    assert "does not start" in summary.reason
    assert "rel/reference.bin" not in storage.keys("b")

    # An archive does, by its content whatever its name; a large file of unknown kind does too.
    renamed = tmp_path / "app.bin"
    renamed.write_bytes(releases[0].read_bytes())
    assert service.put(renamed, SPACE).key == "rel/reference.bin"
    big = tmp_path / "disk.img"
    big.write_bytes(bytes(range(256)) * 4096 + b"tail")  # 1 MiB and a bit
    assert service.put(big, DeltaSpace("b", "images")).key == "images/reference.bin"


def _text_zip(path: Path, version: str) -> Path:
    rng = random.Random(4)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(20):
            words = (f"{rng.randrange(1 << 30):x}" for _ in range(3000))
            archive.writestr(f"mod{i}.py", f"version = {version!r}\n" + " ".join(words))
    return path


def test_an_upload_reads_its_files_head_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One read of the head tells container and compressor; the decoded delta's guess and search
    take the container from it rather than sniffing the file again."""
    from deltaglider.core.put import private_copy
    from deltaglider.transforms import container, sniff

    service = make_service(MemoryStorage())
    service.put(_text_zip(tmp_path / "app-1.0.zip", "1.0"), SPACE)
    heads: list[str] = []
    real_read = private_copy.read_head

    def counted(path: Path) -> sniff.Head:
        heads.append(Path(path).name)
        return real_read(path)

    real_detect, real_sniff = container.detect, sniff.sniff_file

    def detect(path: Path) -> sniff.Container | None:
        heads.append(Path(path).name)
        return real_detect(path)

    def sniff_file(path: Path) -> str | None:
        heads.append(Path(path).name)
        return real_sniff(path)

    monkeypatch.setattr(private_copy, "read_head", counted)
    monkeypatch.setattr(container, "detect", detect)
    monkeypatch.setattr(sniff, "sniff_file", sniff_file)

    summary = service.put(_text_zip(tmp_path / "app-1.1.zip", "1.1"), SPACE)

    assert summary.transform == "zip"
    assert heads.count("file") == 1  # the upload's private copy (the reference's base reads its own)
