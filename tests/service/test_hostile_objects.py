"""Uploads of files that change under them, and objects crafted to be served wrongly or to explode."""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import random
import subprocess
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import pytest
from support.families import cold_service
from support.hooked_storage import HookedStorage
from support.sdk import leftovers, make_service
from support.vcdiff import write_varint
from transforms.helpers import disk_cap

from deltaglider import codec
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.format.metadata import Transform
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.put import private_copy
from deltaglider.core.rebuild import archives as transformed
from deltaglider.errors import FileChangedError, IntegrityError, MetadataError
from deltaglider.ports.hash import HashPort
from deltaglider.ports.storage import ProgressCallback
from deltaglider.transforms import DeflateParams, Recipe, Segment, body, default_compressor, pack
from deltaglider.transforms.base import BASE_FORMAT
from deltaglider.transforms.container import decoded_limit

SPACE = DeltaSpace("b", "rel")


def _append(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(b"written while uploading")


# Finding 3: the file changes during its upload.


def test_a_file_changed_while_stored_whole_is_stored_as_hashed(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"version one\n" * 1000)
    original = notes.read_bytes()
    hooked = HookedStorage(storage)
    hooked.before("put_file", "rel/notes.txt", lambda: _append(notes))
    make_service(hooked).put(notes, SPACE)
    out = tmp_path / "out"
    make_service(storage).get(ObjectKey("b", "rel/notes.txt"), out)
    assert out.read_bytes() == original


def test_a_first_file_changed_while_it_becomes_the_reference(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    original = releases[0].read_bytes()
    hooked = HookedStorage(storage)
    hooked.before("put_file_if_absent", "rel/reference.bin", lambda: _append(releases[0]))
    make_service(hooked).put(releases[0], SPACE)
    service = make_service(storage)
    assert service.verify(ObjectKey("b", "rel/reference.bin")).valid
    assert service.put(releases[1], SPACE).operation == "PUT_DELTA"
    out = tmp_path / "out"
    service.get(ObjectKey("b", "rel/app-1.0.zip"), out)
    assert out.read_bytes() == original


def test_a_file_changed_while_it_is_read_is_refused_with_nothing_stored(
    storage: MemoryStorage, releases: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_copy = private_copy._copy

    def torn_copy(hasher: HashPort, src: Path, dest: Path, progress: ProgressCallback | None) -> str:
        sha256 = real_copy(hasher, src, dest, progress)
        _append(src)
        return sha256

    monkeypatch.setattr(private_copy, "_copy", torn_copy)
    with pytest.raises(FileChangedError, match="changed while it was being read"):
        make_service(storage).put(releases[0], SPACE)
    assert storage.keys("b") == []


# Finding 5: a delta that lost its metadata.


def test_a_delta_without_metadata_is_never_served_as_the_file(
    storage: MemoryStorage, releases: list[Path], tmp_path: Path
) -> None:
    service = make_service(storage)
    service.put(releases[0], SPACE)
    service.put(releases[1], SPACE)
    delta, _ = storage.raw("b", "rel/app-1.1.zip.delta")
    storage.set_raw("b", "rel/app-1.1.zip.delta", delta, {})
    storage.set_raw("b", "rel/renamed", delta, {})
    storage.set_raw("b", "rel/other.zip.delta", b"any bytes", {})
    out = tmp_path / "out"
    out.mkdir()
    for key in ("rel/app-1.1.zip", "rel/renamed", "rel/other.zip"):
        with pytest.raises(MetadataError, match="no deltaglider metadata"):
            service.get(ObjectKey("b", key), out / "f001.zip")
    assert leftovers(out) == []
    storage.set_raw("b", "rel/plain", b"not a delta", {})
    service.get(ObjectKey("b", "rel/plain"), out / "plain")
    assert (out / "plain").read_bytes() == b"not a delta"


# Finding 6: a delta that declares far more output than its file can have.


def _bomb(windows: int, appheader: bytes = b"") -> bytes:
    """``windows`` windows of one 16 MiB RUN each: ~12 bytes a window, 16 MiB of output."""
    size = 1 << 24
    header = b"\xd6\xc3\xc4\x00"
    header += bytes([0x04]) + write_varint(len(appheader)) + appheader if appheader else b"\x00"
    inst = bytes([0]) + write_varint(size)  # RUN, its size follows
    body = write_varint(size) + b"\x00" + write_varint(1) + write_varint(len(inst)) + write_varint(0)
    body += b"\x00" + inst
    return header + (b"\x00" + write_varint(len(body)) + body) * windows


def _bomb_bucket(storage: MemoryStorage, delta: bytes, *, file_size: int | None) -> None:
    storage.set_raw(
        "b", "rel/reference.bin", b"reference", {"dg-file-sha256": hashlib.sha256(b"reference").hexdigest()}
    )
    meta = {
        "dg-file-sha256": "b" * 64,
        "dg-ref-key": "rel/reference.bin",
        "dg-ref-sha256": hashlib.sha256(b"reference").hexdigest(),
    }
    if file_size is not None:
        meta["dg-file-size"] = str(file_size)
    storage.set_raw("b", "rel/x.tar.gz.delta", delta, meta)


_BOMB_SCRIPT = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
from support.sdk import make_service
from test_hostile_objects import _bomb_bucket
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import ObjectKey
from deltaglider.errors import IntegrityError
storage = MemoryStorage()
_bomb_bucket(storage, Path(sys.argv[1]).read_bytes(), file_size=1500)
try:
    make_service(storage).get(ObjectKey("b", "rel/x.tar.gz"), Path(sys.argv[2]))
except IntegrityError as exc:
    print("refused:", exc)
"""


def test_a_legacy_app_header_bomb_is_refused_before_it_grows(tmp_path: Path) -> None:
    """2.4 kB declaring 3.2 GiB through the gzip path, which decodes the bare VCDIFF: run under a 1.5 GiB
    address-space limit, so that decoding it would fail with out of memory instead of a refusal."""
    bomb = tmp_path / "bomb.delta"
    bomb.write_bytes(_bomb(200, b"x.tar/G/reference.bin/"))
    here = Path(__file__).parent
    done = subprocess.run(
        [sys.executable, "-c", _BOMB_SCRIPT, str(bomb), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(here), str(here.parent)])},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "refused:" in done.stdout and "past the limit" in done.stdout
    assert not (tmp_path / "out").exists()


def test_a_delta_declaring_another_size_than_recorded_is_refused_before_decoding(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    _bomb_bucket(storage, _bomb(3), file_size=1000)
    with pytest.raises(IntegrityError, match="declares 50331648 bytes, expected 1000"):
        make_service(storage).get(ObjectKey("b", "rel/x.tar.gz"), tmp_path / "out")


# Every decode stops at the recorded size: refused before decoding when the delta (or the recipe)
# declares more than the file can need, and never more on disk than the file plus one window.

WINDOW = 1 << 24  # one window of ``_bomb``'s
REF_SHA = hashlib.sha256(b"reference").hexdigest()


def _get_refused(
    storage: MemoryStorage,
    out: Path,
    *,
    size: int,
    match: str,
    key: str = "rel/x.tar.gz",
    error: type[Exception] = IntegrityError,
) -> None:
    """Downloading ``key`` is refused with ``error`` matching ``match`` while no file may exceed
    ``size`` + one window, and nothing reaches ``out``."""
    with disk_cap(size + WINDOW), pytest.raises(error, match=match):
        make_service(storage).get(ObjectKey("b", key), out)
    assert not out.exists()


def test_a_delta_without_a_recorded_size_is_refused_before_decoding(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    """Every writer records dg-file-size on a delta (the original, its Rust gateway, this package):
    one without it is refused, not decoded as far as its windows say."""
    _bomb_bucket(storage, _bomb(8), file_size=None)
    _get_refused(storage, tmp_path / "out", size=0, match="no recorded size", error=MetadataError)


def test_a_legacy_delta_without_a_recorded_size_is_refused_before_decoding(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    _bomb_bucket(storage, _bomb(8, b"x.tar/Y/reference.bin/"), file_size=None)
    _get_refused(storage, tmp_path / "out", size=0, match="no recorded size", error=MetadataError)


def test_a_legacy_delta_naming_an_unknown_compressor_is_refused_before_decoding(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    _bomb_bucket(storage, _bomb(8, b"x.tar/Q/reference.bin/"), file_size=100)
    _get_refused(storage, tmp_path / "out", size=100, match="unknown external compression ident 'Q'")


@pytest.mark.parametrize("ident", ["G", "Y", "B", "Z"])
def test_a_legacy_delta_declaring_more_than_its_compressor_can_expand_is_refused(
    storage: MemoryStorage, tmp_path: Path, ident: str
) -> None:
    """512 MiB declared for a 100-byte file: more than any gzip, xz, bzip2 or compress file of 100
    bytes decompresses to, so the raw stream is never decoded."""
    _bomb_bucket(storage, _bomb(32, f"x.tar/{ident}/reference.bin/".encode()), file_size=100)
    _get_refused(storage, tmp_path / "out", size=100, match="past the limit")


def _snapshot_bucket(storage: MemoryStorage, snapshot: bytes, *, snapshot_size: int | None) -> None:
    """``rel/x.tar.gz.delta`` made against a snapshot base whose own delta is ``snapshot``."""
    _bomb_bucket(storage, _bomb(0), file_size=10)
    base = "rel/reference-" + "c" * 16 + ".bin.delta"
    meta = {"dg-file-sha256": "c" * 64, "dg-ref-key": "rel/reference.bin", "dg-ref-sha256": REF_SHA}
    if snapshot_size is not None:
        meta["dg-file-size"] = str(snapshot_size)
    storage.set_raw("b", base, snapshot, {**meta, "dg-note": "snapshot"})
    _, delta_meta = storage.raw("b", "rel/x.tar.gz.delta")
    delta_meta.update({"dg-ref-key": base, "dg-ref-sha256": "c" * 64})
    storage.set_raw("b", "rel/x.tar.gz.delta", _bomb(0), delta_meta)


@pytest.mark.parametrize("snapshot_size", [None, 100])
def test_a_snapshot_base_is_bounded_by_its_own_recorded_size(
    storage: MemoryStorage, tmp_path: Path, snapshot_size: int | None
) -> None:
    _snapshot_bucket(storage, _bomb(8), snapshot_size=snapshot_size)
    match = "no recorded size" if snapshot_size is None else "declares 134217728 bytes, expected 100"
    error = MetadataError if snapshot_size is None else IntegrityError
    _get_refused(storage, tmp_path / "out", size=100, match=match, error=error)


def _transformed_bucket(storage: MemoryStorage, recipe: Recipe, delta: bytes, *, file_size: int) -> None:
    """``rel/x.tar.gz.delta`` as a delta of decoded content: ``recipe``, then ``delta`` against a
    reference that is no container (its own base)."""
    _bomb_bucket(storage, body.header(pack(recipe)) + delta, file_size=file_size)
    body_bytes, meta = storage.raw("b", "rel/x.tar.gz.delta")
    meta.update({"dg-transform": "gzip", "dg-base-format": BASE_FORMAT, "dg-base-sha256": REF_SHA})
    storage.set_raw("b", "rel/x.tar.gz.delta", body_bytes, meta)


def _recipe(*segments: Segment) -> Recipe:
    return Recipe("gzip", default_compressor().name, segments)


@pytest.mark.parametrize(
    ("windows", "compressed", "match"),
    [
        # 4 GiB from a 2 kB deflate member: past what deflate ever expands (1032 to 1).
        (256, 2000, "decodes to 4294967296 bytes from 2000"),
        # 112 MiB from 114 kB: within deflate's limit, past what an upload decodes such a file to.
        (7, 114_000, "more than any 114000-byte container"),
    ],
)
def test_a_recipe_decoding_to_more_than_its_file_can_hold_is_refused_before_decoding(
    storage: MemoryStorage, tmp_path: Path, windows: int, compressed: int, match: str
) -> None:
    recipe = _recipe(Segment(windows * WINDOW, DeflateParams(), compressed))
    _transformed_bucket(storage, recipe, _bomb(windows), file_size=compressed)
    _get_refused(storage, tmp_path / "out", size=compressed, match=match)


def test_a_recipe_for_another_size_than_recorded_is_refused_before_decoding(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    """A recipe whose raw segment claims 4 GiB, for a file recorded as 2 kB."""
    recipe = _recipe(Segment(1 << 32))
    _transformed_bucket(storage, recipe, _bomb(256), file_size=2000)
    stored, _ = storage.raw("b", "rel/x.tar.gz.delta")
    (tmp_path / "stored").write_bytes(stored)
    (tmp_path / "reference").write_bytes(b"reference")
    transform = Transform("gzip", BASE_FORMAT, REF_SHA)
    with (
        disk_cap(2000 + WINDOW),
        pytest.raises(IntegrityError, match="rebuilds 4294967296 bytes, recorded 2000"),
    ):
        transformed.decode(
            make_service(storage)._ctx,
            lambda: nullcontext((tmp_path / "reference", REF_SHA)),
            tmp_path / "stored",
            tmp_path / "out",
            url="s3://b/rel/x.tar.gz.delta",
            transform=transform,
            expected_size=2000,
        )
    assert not (tmp_path / "out").exists()


def test_a_download_of_a_recipe_for_another_size_than_recorded_is_refused(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    _transformed_bucket(storage, _recipe(Segment(1 << 32)), _bomb(256), file_size=2000)
    _get_refused(storage, tmp_path / "out", size=2000, match="recorded 2000")


def _with_appheader(delta: bytes, appheader: bytes) -> bytes:
    """``delta`` with the application header the xdelta3 binary writes (ours writes none)."""
    indicator = delta[4]
    start = 6 if indicator & 0x01 else 5  # after the secondary compressor's id
    assert not indicator & 0x06
    return (
        delta[:4]
        + bytes([indicator | 0x04])
        + delta[5:start]
        + write_varint(len(appheader))
        + appheader
        + delta[start:]
    )


def test_a_legacy_reference_is_decompressed_only_as_far_as_its_delta_reads(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    """The source side of a delta the binary made over a gzip reference: the delta reads its first
    64 kB, so the 64 MiB of zeros after them are never written out."""
    head = random.Random(3).randbytes(1 << 16)
    reference = gzip.compress(head + bytes(64 << 20), mtime=0)
    target = head[:50_000] + b"an edit" + head[50_000:]
    delta = codec.encode(head, target)
    ref_sha = hashlib.sha256(reference).hexdigest()
    storage.set_raw("b", "rel/reference.bin", reference, {"dg-file-sha256": ref_sha})
    meta = {
        "dg-file-sha256": hashlib.sha256(target).hexdigest(),
        "dg-file-size": str(len(target)),
        "dg-ref-key": "rel/reference.bin",
        "dg-ref-sha256": ref_sha,
    }
    storage.set_raw("b", "rel/x.bin.delta", _with_appheader(delta, b"x.bin//reference.bin/G"), meta)
    out = tmp_path / "out"
    with disk_cap(len(target) + WINDOW):
        make_service(storage).get(ObjectKey("b", "rel/x.bin"), out)
    assert out.read_bytes() == target


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".gz", lambda data: gzip.compress(data, 9, mtime=0)),
        (".xz", lambda data: lzma.compress(data, preset=0)),
    ],
)
def test_a_compression_bomb_is_uploaded_without_decoding_it_past_the_limit(
    storage: MemoryStorage, tmp_path: Path, suffix: str, compress: Callable[[bytes], bytes]
) -> None:
    """96 MiB of zeros in ~100 kB: its decoded stream may not grow past what any container of its
    size is decoded to, so the upload keeps the stream raw instead."""
    first = tmp_path / f"a{suffix}"
    first.write_bytes(compress(random.Random(4).randbytes(1 << 16)))
    bomb = tmp_path / f"b{suffix}"
    bomb.write_bytes(compress(bytes(96 << 20)))
    service = make_service(storage)
    service.put(first, SPACE)
    with disk_cap(decoded_limit(bomb.stat().st_size)):
        summary = service.put(bomb, SPACE)
    assert summary.transform is None
    service.get(ObjectKey("b", f"rel/{bomb.name}"), tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == bomb.read_bytes()


def _store_delta(storage: MemoryStorage, key: str, base: tuple[str, bytes], data: bytes, **extra: str) -> str:
    """Stores ``data`` at ``key`` as a delta against ``base`` (its key and bytes); its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    meta = {
        "dg-file-sha256": sha,
        "dg-file-size": str(len(data)),
        "dg-ref-key": base[0],
        "dg-ref-sha256": hashlib.sha256(base[1]).hexdigest(),
        **extra,
    }
    storage.set_raw("b", key, codec.encode(base[1], data), meta)
    return sha


def test_a_snapshot_whose_base_is_another_snapshot_is_refused(storage: MemoryStorage, tmp_path: Path) -> None:
    """A snapshot's base is always a full reference, so a file is at most two decodes away: a stored
    chain of three is refused, not decoded."""
    rng = random.Random(5)
    full = rng.randbytes(1 << 16)
    older = full[:1000] + rng.randbytes(100) + full[1000:]
    newer = older[:9000] + rng.randbytes(100) + older[9000:]
    target = newer[:20_000] + rng.randbytes(100) + newer[20_000:]
    storage.set_raw("b", "rel/reference.bin", full, {"dg-file-sha256": hashlib.sha256(full).hexdigest()})
    keys = [f"rel/reference-{c * 16}.bin.delta" for c in "de"]
    _store_delta(storage, keys[0], ("rel/reference.bin", full), older, **{"dg-note": "snapshot"})
    _store_delta(storage, keys[1], (keys[0], older), newer, **{"dg-note": "snapshot"})
    _store_delta(storage, "rel/app.bin.delta", (keys[1], newer), target)
    service, diff = cold_service(storage)
    with pytest.raises(IntegrityError, match="no reference with SHA-256"):
        service.get(ObjectKey("b", "rel/app.bin"), tmp_path / "out")
    assert diff.decodes == 0
    assert not (tmp_path / "out").exists()
