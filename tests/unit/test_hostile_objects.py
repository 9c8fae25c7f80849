"""Uploads of files that change under them, and objects crafted to be served wrongly or to explode."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.hooked_storage import HookedStorage
from support.sdk import leftovers, make_service
from support.vcdiff import write_varint

from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core import snapshot
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.errors import FileChangedError, IntegrityError, MetadataError
from deltaglider.ports.hash import HashPort

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
    real_copy = snapshot._copy

    def torn_copy(hasher: HashPort, src: Path, dest: Path) -> str:
        sha256 = real_copy(hasher, src, dest)
        _append(src)
        return sha256

    monkeypatch.setattr(snapshot, "_copy", torn_copy)
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


def test_a_delta_without_a_recorded_size_is_bounded(storage: MemoryStorage, tmp_path: Path) -> None:
    _bomb_bucket(storage, _bomb(3), file_size=None)
    service = make_service(storage, diff=XDelta3Diff(unsized_limit=1 << 20))
    with pytest.raises(IntegrityError, match="past the limit of 1048576"):
        service.get(ObjectKey("b", "rel/x.tar.gz"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_delta_declaring_another_size_than_recorded_is_refused_before_decoding(
    storage: MemoryStorage, tmp_path: Path
) -> None:
    _bomb_bucket(storage, _bomb(3), file_size=1000)
    with pytest.raises(IntegrityError, match="declares 50331648 bytes, expected 1000"):
        make_service(storage).get(ObjectKey("b", "rel/x.tar.gz"), tmp_path / "out")
