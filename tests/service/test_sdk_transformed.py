"""Archive-aware deltas inside the service: the stored form, the base and its cache, the checks.

Producers and random trees are covered end to end in ``tests/transforms/test_sdk_*``; here is the
protocol: what is written, when the base is derived, and what a damaged or foreign object does.
"""

from __future__ import annotations

import gzip
import io
import lzma
import struct
import tarfile
import zlib
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from support.artifacts import release_zips, wheel_like_zips
from support.sdk import make_service, sha256
from transforms.helpers import sample_text, without_reconstructor, xz_naming_dictionary

from deltaglider.adapters.cache_memory import MemoryCache
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.config import resolve
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.put import archives as encoding
from deltaglider.core.rebuild import archives as transformed
from deltaglider.core.rebuild import sources
from deltaglider.errors import CodecError, IntegrityError, MetadataError
from deltaglider.ports.diff import EncodePlan
from deltaglider.transforms.base import BASE_FORMAT
from deltaglider.transforms.builder import Builder
from deltaglider.transforms.known import KnownStreams

SPACE = DeltaSpace("b", "rel")


@pytest.fixture
def releases(tmp_path: Path) -> list[Path]:
    """Releases whose members are deflated (as in wheels), where the decoded delta clearly pays."""
    folder = tmp_path / "releases"
    folder.mkdir()
    return wheel_like_zips(folder, "app", 4)


def _tar(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    path.write_bytes(gzip.compress(_tar(files), compresslevel=9, mtime=0))
    return path


def _text(seed: int, size: int) -> bytes:
    lines = [f"def function_{seed}_{i}(x):\n    return x * {i} + {seed}\n" for i in range(size // 40)]
    return "".join(lines).encode()[:size]


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every base derivation, by the reference it decoded."""
    calls: list[Path] = []
    real = transformed.derive_base

    def spy(reference: Any, out: Any, base_format: str = BASE_FORMAT) -> bool:
        calls.append(Path(reference))
        return real(reference, out, base_format)

    monkeypatch.setattr(transformed, "derive_base", spy)
    monkeypatch.setattr(sources, "_DERIVED", sources._Derivations())
    return calls


def test_a_zip_release_is_stored_as_the_delta_of_its_content(releases: list[Path], tmp_path: Path) -> None:
    store = MemoryStorage()
    service = make_service(store)
    service.put(releases[0], SPACE)
    summary = service.put(releases[1], SPACE)

    assert summary.operation == "PUT_DELTA"
    assert summary.transform == "zip"
    body, meta = store.raw("b", summary.key)
    assert body.startswith(b"DGTB")
    assert meta["dg-transform"] == "zip"
    assert meta["dg-base-format"] == BASE_FORMAT == "inflated-v3"
    assert len(meta["dg-base-sha256"]) == 64
    assert meta["dg-delta-size"] == str(len(body))

    got = service.get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "out")
    assert got.reconstructed
    assert sha256(tmp_path / "out") == sha256(releases[1])
    assert service.verify(ObjectKey("b", f"rel/{releases[1].name}")).valid


def test_transforms_off_writes_what_the_original_reads(releases: list[Path], tmp_path: Path) -> None:
    store = MemoryStorage()
    service = make_service(store, original_compatible=True)
    for path in releases[:3]:
        service.put(path, SPACE)
    gz = service.put(_tar_gz(tmp_path / "src.tar.gz", {"a.py": _text(1, 50_000)}), SPACE)

    assert gz.operation == "PUT" and gz.key == "rel/src.tar.gz"  # gzip content: whole, as before
    for key in store.keys("b"):
        body, meta = store.raw("b", key)
        assert "dg-transform" not in meta, key
        assert not body.startswith(b"DGTB"), key


def test_gzip_files_make_a_family_of_their_own(tmp_path: Path) -> None:
    """A gzip file may be a reference when transforms are on; later ones are deltas of the tar."""
    service = make_service(MemoryStorage())
    files = {f"pkg/mod{i}.py": _text(i, 40_000) for i in range(5)}
    first = _tar_gz(tmp_path / "pkg-1.0.tar.gz", files)
    files["pkg/mod2.py"] = _text(99, 40_000)
    second = _tar_gz(tmp_path / "pkg-1.1.tar.gz", files)

    assert service.put(first, SPACE).key == "rel/reference.bin"
    summary = service.put(second, SPACE)

    assert summary.transform == "gzip"
    assert summary.stored_size < second.stat().st_size // 10
    service.get(ObjectKey("b", "rel/pkg-1.1.tar.gz"), tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == second.read_bytes()


def test_a_file_that_is_no_container_gets_a_plain_delta(releases: list[Path], tmp_path: Path) -> None:
    service = make_service(MemoryStorage())
    service.put(releases[0], SPACE)
    plain = tmp_path / "app-1.9.bin"
    plain.write_bytes(releases[0].read_bytes()[:-100] + b"x" * 100)  # a zip no more: no directory

    summary = service.put(plain, SPACE)

    assert summary.operation == "PUT_DELTA"
    assert summary.transform is None


def test_the_base_is_derived_once_and_then_read_from_the_cache(
    releases: list[Path], tmp_path: Path, counting: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = Sha256Hasher()
    cache = MemoryCache(max_bytes=1 << 30, hasher=hasher)
    service = make_service(MemoryStorage(), cache=cache)
    for path in releases:
        service.put(path, SPACE)
    assert len(counting) == 1  # the three later releases share one base

    # As a new process would: nothing remembered but what the cache holds; the delta names its base.
    monkeypatch.setattr(sources, "_DERIVED", sources._Derivations())
    for path in releases[1:]:
        service.get(ObjectKey("b", f"rel/{path.name}"), tmp_path / path.name)
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()
    assert len(counting) == 1

    # verify without the cache checks the stored reference, so it derives the base from it again.
    assert service.verify(ObjectKey("b", f"rel/{releases[2].name}"), use_cache=False).valid
    assert len(counting) == 2


def _damage_meta(store: MemoryStorage, key: str, **changes: str) -> None:
    body, meta = store.raw("b", key)
    meta.update(changes)
    store.set_raw("b", key, body, meta)


def test_a_wrong_base_is_an_integrity_error_and_nothing_is_written(
    releases: list[Path], tmp_path: Path
) -> None:
    store = MemoryStorage()
    service = make_service(store)
    service.put(releases[0], SPACE)
    key = service.put(releases[1], SPACE).key
    _damage_meta(store, key, **{"dg-base-sha256": "0" * 64})
    out = tmp_path / "out"

    with pytest.raises(IntegrityError, match="base"):
        service.get(ObjectKey("b", f"rel/{releases[1].name}"), out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "releases"]
    result = service.verify(ObjectKey("b", f"rel/{releases[1].name}"))
    assert not result.valid and "base" in (result.details or "")


def test_a_damaged_recipe_is_an_integrity_error(releases: list[Path], tmp_path: Path) -> None:
    store = MemoryStorage()
    service = make_service(store)
    service.put(releases[0], SPACE)
    key = service.put(releases[1], SPACE).key
    body, meta = store.raw("b", key)
    store.set_raw("b", key, body[:4] + b"\xff\xff\xff\x7f" + body[8:], meta)  # an absurd recipe length

    with pytest.raises(IntegrityError):
        service.get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not service.verify(ObjectKey("b", f"rel/{releases[1].name}")).valid


def test_a_base_format_from_a_newer_release_asks_for_an_upgrade(releases: list[Path], tmp_path: Path) -> None:
    store = MemoryStorage()
    service = make_service(store)
    service.put(releases[0], SPACE)
    key = service.put(releases[1], SPACE).key
    _damage_meta(store, key, **{"dg-base-format": "inflated-v9"})

    with pytest.raises(MetadataError, match="newer deltaglider"):
        service.get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "out")


def test_a_transform_that_does_not_rebuild_is_never_stored(
    releases: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryStorage()
    service = make_service(store)
    service.put(releases[0], SPACE)
    before = store.keys("b")

    def wrong(decoded: Any, recipe: bytes, out: Any) -> int:
        Path(out).write_bytes(b"not the file")
        return 12

    monkeypatch.setattr(encoding, "rebuild", wrong)
    with pytest.raises(CodecError, match="does not rebuild"):
        service.put(releases[1], SPACE)
    assert store.keys("b") == before


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_original_compatible_from_the_environment(value: str, expected: bool) -> None:
    assert resolve(env={"DG_ORIGINAL_COMPATIBLE": value}).original_compatible is expected
    assert (
        resolve(env={"DG_ORIGINAL_COMPATIBLE": value}, original_compatible=False).original_compatible is False
    )


def test_a_bad_original_compatible_value_is_an_error() -> None:
    with pytest.raises(ValueError, match="DG_ORIGINAL_COMPATIBLE"):
        resolve(env={"DG_ORIGINAL_COMPATIBLE": "maybe"})


def test_tar_xz_releases_are_stored_as_deltas_of_the_tar(tmp_path: Path) -> None:
    service = make_service(MemoryStorage())
    files = {f"pkg/mod{i}.py": _text(i, 40_000) for i in range(5)}
    first = tmp_path / "pkg-1.0.tar.xz"
    first.write_bytes(lzma.compress(_tar(files)))
    files["pkg/mod3.py"] = _text(77, 40_000)
    second = tmp_path / "pkg-1.1.tar.xz"
    second.write_bytes(lzma.compress(_tar(files)))

    assert service.put(first, SPACE).key == "rel/reference.bin"
    summary = service.put(second, SPACE)

    assert summary.transform == "xz"
    assert summary.stored_size < second.stat().st_size // 5
    service.get(ObjectKey("b", "rel/pkg-1.1.tar.xz"), tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == second.read_bytes()
    # In the original's format xz content is stored whole, as before.
    compat = make_service(MemoryStorage(), original_compatible=True)
    assert compat.put(second, SPACE).key == "rel/pkg-1.1.tar.xz"


def test_the_plain_delta_is_kept_when_decoding_gains_little(tmp_path: Path) -> None:
    """Releases whose big member is stored (not deflated): decoding saves a few bytes at most, not
    worth a recompression at every download."""
    service = make_service(MemoryStorage())
    zips = release_zips(tmp_path, "bin", 2)
    service.put(zips[0], SPACE)
    summary = service.put(zips[1], SPACE)
    assert summary.operation == "PUT_DELTA"
    assert summary.transform is None


def test_a_warm_download_needs_only_the_delta(
    releases: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decoded base is cached by its SHA-256, which the delta's metadata names: the reference
    itself is neither fetched nor looked at."""
    store = MemoryStorage()
    cache = MemoryCache(max_bytes=1 << 30, hasher=Sha256Hasher())
    origins: dict[str, str] = {}
    real_store = cache.store

    def store_noting_origins(sha256: str, src: Path, *, origin: str) -> bool:
        origins[sha256] = origin
        return real_store(sha256, src, origin=origin)

    monkeypatch.setattr(cache, "store", store_noting_origins)
    real_adopt = cache.adopt

    def adopt_noting_origins(sha256: str, src: Path, *, origin: str) -> AbstractContextManager[Path]:
        origins[sha256] = origin
        return real_adopt(sha256, src, origin=origin)

    monkeypatch.setattr(cache, "adopt", adopt_noting_origins)
    service = make_service(store, cache=cache)
    service.put(releases[0], SPACE)
    key = service.put(releases[1], SPACE).key
    base_sha = store.raw("b", key)[1]["dg-base-sha256"]
    only_base = MemoryCache(max_bytes=1 << 30, hasher=Sha256Hasher())  # the reference evicted
    with cache.use(base_sha, origin=origins[base_sha]) as base:
        assert base is not None and only_base.store(base_sha, base, origin=origins[base_sha])
    monkeypatch.setattr(sources, "_DERIVED", sources._Derivations())  # as a new process
    store.calls.clear()

    make_service(store, cache=only_base).get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "out")

    assert (tmp_path / "out").read_bytes() == releases[1].read_bytes()
    assert [(op, key) for op, _, key in store.calls] == [("get", f"rel/{releases[1].name}.delta")]


class _CountingEncodes(XDelta3Diff):
    def __init__(self) -> None:
        super().__init__()
        self.encodes = 0

    def encode(self, source: Path, target: Path, out: Path, plan: EncodePlan | None = None) -> int:
        self.encodes += 1
        return super().encode(source, target, out, plan)


def test_when_the_plain_delta_wins_no_search_and_no_proof_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guess (every stream inflated, none searched) is already over the limit: the parameter
    search and the proof, two full recompressions, are not paid for a body that is not stored."""
    service = make_service(MemoryStorage())
    zips = release_zips(tmp_path, "bin", 2)
    service.put(zips[0], SPACE)
    paid: list[str] = []
    real_encode, real_prove = encoding.encode_container, encoding._rebuilds
    monkeypatch.setattr(
        encoding, "encode_container", lambda *a, **k: paid.append("search") or real_encode(*a, **k)
    )
    monkeypatch.setattr(encoding, "_rebuilds", lambda *a, **k: paid.append("proof") or real_prove(*a, **k))

    summary = service.put(zips[1], SPACE)

    assert (summary.operation, summary.transform, paid) == ("PUT_DELTA", None, [])
    service.get(ObjectKey("b", f"rel/{zips[1].name}"), tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == zips[1].read_bytes()


def test_when_every_stream_reproduces_the_guessed_delta_is_the_one_stored(
    releases: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    diff = _CountingEncodes()
    service = make_service(MemoryStorage(), diff=diff)
    service.put(releases[0], SPACE)
    diff.encodes = 0
    real = encoding.encode_container
    guesses_on_disk: list[list[str]] = []

    def spy(path: Any, decoded: Any, **kwargs: Any) -> Any:
        # A large archive's decoded stream must not be on disk twice: the guess's is gone by now.
        guesses_on_disk.append([p.name for p in Path(decoded).parent.glob("guess.decoded*")])
        return real(path, decoded, **kwargs)

    monkeypatch.setattr(encoding, "encode_container", spy)

    summary = service.put(releases[1], SPACE)

    assert summary.transform == "zip"
    assert diff.encodes == 2  # the plain delta and the guess, not the decoded stream once more
    assert guesses_on_disk == [[]]
    service.get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == releases[1].read_bytes()


def test_a_stream_that_does_not_reproduce_makes_the_decoded_delta_anew(
    releases: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guess decoded a member that the search then keeps raw: the guessed delta is of another
    stream, so it must not be stored."""
    without_reconstructor(monkeypatch)
    # Every member searched, the unchanged ones too (the first of which is kept raw here), as when the
    # base holds no raw copy of the reference (transforms.known).
    monkeypatch.setattr(KnownStreams, "raw_copy", False)
    diff = _CountingEncodes()
    service = make_service(MemoryStorage(), diff=diff)
    service.put(releases[0], SPACE)
    real_search = Builder._search
    searched: list[int] = []

    def first_member_raw(self: Builder, decoded: Any, original: Any) -> Any:
        searched.append(1)
        return None if len(searched) == 1 else real_search(self, decoded, original)

    monkeypatch.setattr(Builder, "_search", first_member_raw)
    diff.encodes = 0

    summary = service.put(releases[1], SPACE)

    assert summary.transform == "zip"
    assert diff.encodes == 3
    service.get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == releases[1].read_bytes()


def _tar_gz_pair(tmp_path: Path) -> tuple[Path, Path]:
    files = {f"pkg/mod{i}.py": _text(i, 60_000) for i in range(4)}
    first = _tar_gz(tmp_path / "pkg-1.0.tar.gz", files)
    files["pkg/mod2.py"] = _text(42, 60_000)
    return first, _tar_gz(tmp_path / "pkg-1.1.tar.gz", files)


def _quick_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path, list[tuple[int | None, int]]]:
    """Two .tar.gz releases, a 1 KiB checked prefix, and the searches made from now on."""
    first, second = _tar_gz_pair(tmp_path)
    monkeypatch.setattr(encoding, "CHECKED_PREFIX", 1024)
    return first, second, _spy_searches(monkeypatch)


def _comes_back(service: Any, path: Path, tmp_path: Path) -> bool:
    service.get(ObjectKey("b", f"rel/{path.name}"), tmp_path / "out")
    return (tmp_path / "out").read_bytes() == path.read_bytes()


def _spy_searches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int | None, int]]:
    """(checked_prefix, streams taken on that prefix alone) of every parameter search."""
    searches: list[tuple[int | None, int]] = []
    real = encoding.encode_container

    def spy(*args: Any, **kwargs: Any) -> Any:
        encoded = real(*args, **kwargs)
        searches.append((kwargs.get("checked_prefix"), encoded.unproven if encoded else 0))
        return encoded

    monkeypatch.setattr(encoding, "encode_container", spy)
    return searches


def test_the_search_checks_a_streams_start_and_leaves_the_rest_to_the_proof(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, searches = _quick_pair(tmp_path, monkeypatch)
    service = make_service(MemoryStorage())
    service.put(first, SPACE)

    assert service.put(second, SPACE).transform == "gzip"

    assert searches == [(1024, 1)]  # one search, its one stream taken on its first KiB
    assert _comes_back(service, second, tmp_path)


def test_a_setting_that_held_for_the_start_only_is_searched_again_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proof fails once, as it would for a stream whose setting agreed for its first MiB and
    differed later: the search is made again in full, and that body is proven and stored."""
    first, second, searches = _quick_pair(tmp_path, monkeypatch)
    real = encoding._rebuilds
    proofs: list[int] = []

    def fails_once(*args: Any, **kwargs: Any) -> bool:
        proofs.append(1)
        return len(proofs) > 1 and real(*args, **kwargs)

    monkeypatch.setattr(encoding, "_rebuilds", fails_once)
    service = make_service(MemoryStorage())
    service.put(first, SPACE)

    assert service.put(second, SPACE).transform == "gzip"

    assert searches == [(1024, 1), (None, 0)]
    assert _comes_back(service, second, tmp_path)


def test_a_body_that_does_not_rebuild_after_a_full_search_is_never_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, searches = _quick_pair(tmp_path, monkeypatch)
    store = MemoryStorage()
    service = make_service(store)
    service.put(first, SPACE)
    before = store.keys("b")
    monkeypatch.setattr(encoding, "_rebuilds", lambda *a, **k: False)

    with pytest.raises(CodecError, match="does not rebuild"):
        service.put(second, SPACE)

    assert searches == [(1024, 1), (None, 0)]
    assert store.keys("b") == before


# The reconstructed case splits a 600 KB stream: slow; gnu-tar-czf (test_sdk_producers) takes the
# reconstructor's path through an upload in the default run.
@pytest.mark.parametrize(
    "reconstructor", [pytest.param(True, marks=pytest.mark.slow), False], ids=["reconstructed", "plain"]
)
def test_a_stream_that_agrees_for_its_start_only_is_searched_again_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reconstructor: bool
) -> None:
    """A real stream of that kind: level 9 up to a full flush, which no single setting makes. Taken
    on its start, it cannot be recompressed to its size; the upload searches again in full, finds no
    setting, and the reconstructor rebuilds it from its choices; without it, the plain delta."""
    if not reconstructor:
        without_reconstructor(monkeypatch)
    files = {"pkg/data.txt": sample_text(600_000, seed=b"f"), "pkg/mod.py": _text(1, 60_000)}
    first = _tar_gz(tmp_path / "pkg-1.0.tar.gz", files)
    files["pkg/mod.py"] = _text(42, 60_000)
    tar = _tar(files)
    # zlib's first output comes ~260 kB in (a block), its second ~460 kB in: flush in between.
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflate = c.compress(tar[:400_000]) + c.flush(zlib.Z_FULL_FLUSH) + c.compress(tar[400_000:]) + c.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", zlib.crc32(tar), len(tar) & 0xFFFFFFFF)
    second = tmp_path / "pkg-1.1.tar.gz"
    second.write_bytes(header + deflate + trailer)
    assert gzip.decompress(second.read_bytes()) == tar
    monkeypatch.setattr(encoding, "CHECKED_PREFIX", 1024)
    searches = _spy_searches(monkeypatch)
    service = make_service(MemoryStorage())
    service.put(first, SPACE)

    summary = service.put(second, SPACE)

    assert summary.transform == ("gzip" if reconstructor else None)
    assert searches == [(1024, 1), (None, 0)]
    assert _comes_back(service, second, tmp_path)


def test_xz_releases_naming_a_dictionary_xz_cannot_write_with_are_stored_whole(tmp_path: Path) -> None:
    """A 4 GiB dictionary in the block headers: no preset rebuilds such a block, so the upload after
    the first stores the file as it is, not fails."""
    first, second = tmp_path / "pkg-1.0.tar.xz", tmp_path / "pkg-1.1.tar.xz"
    first.write_bytes(xz_naming_dictionary(_text(1, 200_000), 40))
    second.write_bytes(xz_naming_dictionary(_text(2, 200_000), 40))
    service = make_service(MemoryStorage())
    service.put(first, SPACE)

    summary = service.put(second, SPACE)

    assert (summary.operation, summary.transform) == ("PUT", None)
    assert _comes_back(service, second, tmp_path)
