"""Uploads and downloads stream: no whole file is ever read into memory, and the file being uploaded
is read once, hashed as it is copied. (The memory these bounds give is measured in tests/memory.)"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.artifacts import release_zips, wheel_like_zips
from support.sdk import TOOL, FixedClock
from support.special_files import fifo_writer

from deltaglider import codec
from deltaglider.adapters.cache_fs import FsCache
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.put import private_copy
from deltaglider.core.service import DeltaService
from deltaglider.errors import AccessDeniedError

SPACE = DeltaSpace("b", "rel")


class _RecordingHasher(Sha256Hasher):
    def __init__(self) -> None:
        self.hashed: list[Path] = []

    def sha256_file(self, path: Path) -> str:
        self.hashed.append(Path(path))
        return super().sha256_file(path)


def _whole_file_readers_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> bytes:
        raise AssertionError("a whole file was read into memory")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    monkeypatch.setattr(codec, "encode", refuse)
    monkeypatch.setattr(codec, "decode", refuse)


def _local_service(
    tmp_path: Path, hasher: Sha256Hasher, *, original_compatible: bool = False
) -> DeltaService:
    (tmp_path / "store" / "b").mkdir(parents=True)
    logger = StdLogger("deltaglider.tests")
    return DeltaService(
        storage=LocalStorage(tmp_path / "store"),
        diff=XDelta3Diff(),
        hasher=hasher,
        cache=FsCache(tmp_path / "cache", max_bytes=1 << 30, hasher=hasher, logger=logger),
        clock=FixedClock(),
        logger=logger,
        metrics=NoopMetrics(),
        tool_version=TOOL,
        original_compatible=original_compatible,
    )


def test_upload_and_download_never_hold_a_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = release_zips(tmp_path, "app", 3, size=200_000)
    digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in files]
    service = _local_service(tmp_path, Sha256Hasher())
    _whole_file_readers_fail(monkeypatch)
    operations = [service.put(f, SPACE).operation for f in files]
    assert operations == ["PUT", "PUT_DELTA", "PUT_DELTA"]
    for path, digest in zip(files, digests, strict=True):
        summary = service.get(ObjectKey("b", f"rel/{path.name}"), tmp_path / "out")
        assert summary.hash == digest
        # Without the cache: the reference is downloaded, checked and decoded against, all streamed.
        assert service.verify(ObjectKey("b", f"rel/{path.name}")).valid


def test_the_uploaded_file_is_hashed_as_it_is_copied_not_read_again(tmp_path: Path) -> None:
    files = release_zips(tmp_path, "app", 2, size=200_000)
    hasher = _RecordingHasher()
    service = _local_service(tmp_path, hasher, original_compatible=True)
    service.put(files[0], SPACE)
    hasher.hashed.clear()
    summary = service.put(files[1], SPACE)
    assert summary.operation == "PUT_DELTA"
    # Hashed separately: the delta (its recorded hash) and the self-check's rebuilt file; never the
    # user's file or its private copy.
    assert sorted(p.name for p in hasher.hashed) == ["delta", "rebuilt"]

    # Decoded: the reference's base (once), the body (its recorded hash) and the proof's rebuilt file.
    files = wheel_like_zips(tmp_path, "lib", 2)
    hasher = _RecordingHasher()
    service = _local_service(tmp_path / "transformed", hasher)
    service.put(files[0], SPACE)
    hasher.hashed.clear()
    summary = service.put(files[1], SPACE)
    assert summary.transform == "zip"
    assert sorted(p.name for p in hasher.hashed) == ["base", "check.rebuilt", "transformed.body"]
    assert summary.file_hash == hashlib.sha256(files[1].read_bytes()).hexdigest()


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 5])
def test_copy_file_hashes_what_it_copies(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    src, dest = tmp_path / "src", tmp_path / "dest"
    src.write_bytes(data)
    dest.write_bytes(b"x" * (size + 10))  # longer than the copy: truncated
    assert Sha256Hasher().copy_file(src, dest) == hashlib.sha256(data).hexdigest()
    assert dest.read_bytes() == data


def test_the_diff_adapter_encodes_and_decodes_file_to_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = tmp_path / "s", tmp_path / "t"
    base = os.urandom(300_000)
    source.write_bytes(base)
    target.write_bytes(base[:1000] + b"edit" + base[1000:])
    expected = target.read_bytes()
    _whole_file_readers_fail(monkeypatch)
    diff = XDelta3Diff()
    size = diff.encode(source, target, tmp_path / "d")
    assert size == os.stat(tmp_path / "d").st_size
    assert diff.decode(source, tmp_path / "d", tmp_path / "o", expected_size=len(expected)) == len(expected)
    monkeypatch.undo()
    assert (tmp_path / "o").read_bytes() == expected


def test_an_upload_from_a_pipe_is_read_once_into_its_private_copy(tmp_path: Path) -> None:
    files = release_zips(tmp_path, "app", 2, size=200_000)
    service = _local_service(tmp_path, Sha256Hasher())
    service.put(files[0], SPACE)
    with fifo_writer(tmp_path / "pipe", files[1].read_bytes()) as pipe:
        summary = service.put(pipe, SPACE, name=files[1].name)
    assert summary.operation == "PUT_DELTA"
    assert summary.file_hash == hashlib.sha256(files[1].read_bytes()).hexdigest()
    out = tmp_path / "out" / files[1].name
    service.get(ObjectKey("b", f"rel/{files[1].name}"), out)
    assert out.read_bytes() == files[1].read_bytes()


def test_a_pipe_is_copied_and_hashed_whatever_its_size(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 5)  # larger than a pipe's buffer and than one chunk
    with fifo_writer(tmp_path / "pipe", data) as pipe:
        size, digest = private_copy.take(pipe, tmp_path / "copy", Sha256Hasher())
    assert (size, digest) == (len(data), hashlib.sha256(data).hexdigest())
    assert (tmp_path / "copy").read_bytes() == data


@contextlib.contextmanager
def _unprivileged() -> Iterator[None]:
    """Root reads every file whatever its mode: as root, the block runs as nobody (the test's folder,
    private to root, then refuses even to be looked into)."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def test_an_unreadable_file_is_access_denied_naming_it(tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"not for you")
    secret.chmod(0)
    try:
        with _unprivileged(), pytest.raises(AccessDeniedError, match=r"secret\.bin"):
            private_copy.take(secret, tmp_path / "copy", Sha256Hasher())
    finally:
        secret.chmod(0o600)
    assert not (tmp_path / "copy").exists()
