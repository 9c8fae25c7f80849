"""File-to-file failures: the right exception, and never a partial or temporary file left behind."""

from __future__ import annotations

import errno
import os
import random
import stat
import sys
from pathlib import Path

import pytest
from support.special_files import fifo_reader, is_null_device, null_device

from deltaglider import codec
from deltaglider._native import load
from deltaglider._native.status import file_roles, raise_for_status
from deltaglider.errors import (
    CodecError,
    CodecIOError,
    DecodeError,
    DeltaGliderError,
    UnsupportedDeltaError,
)


def _pair(seed: int = 1, size: int = 200_000) -> tuple[bytes, bytes]:
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(4, 40)) for _ in range(64)]
    source = b"".join(rng.choice(words) for _ in range(size // 20))
    target = source[:1000] + rng.randbytes(700) + source[1500:] + source[:3000]
    return source, target


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path, bytes]:
    """source, target, delta paths (the delta made by encode_file) and the target's bytes."""
    source, target = _pair()
    (tmp_path / "src").write_bytes(source)
    (tmp_path / "tgt").write_bytes(target)
    codec.encode_file(tmp_path / "src", tmp_path / "tgt", tmp_path / "delta")
    return tmp_path / "src", tmp_path / "tgt", tmp_path / "delta", target


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _assert_io_error(exc: BaseException, err: int) -> None:
    assert isinstance(exc, CodecIOError)
    assert isinstance(exc, OSError)
    assert isinstance(exc, DeltaGliderError)
    assert isinstance(exc, CodecError)
    assert exc.errno == err, exc


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty"])
def test_corrupt_delta_leaves_no_output_and_no_temp(
    files: tuple[Path, Path, Path, bytes], damage: str
) -> None:
    src, _, delta_path, target = files
    delta = bytearray(delta_path.read_bytes())
    if damage == "flip":
        delta[len(delta) // 2] ^= 0xFF
    elif damage == "truncate":
        del delta[len(delta) // 2 :]
    elif damage == "garbage":
        delta = bytearray(b"not a vcdiff stream at all" * 10)
    else:
        delta = bytearray()
    delta_path.write_bytes(bytes(delta))
    folder = src.parent
    before = _names(folder)
    with pytest.raises(DecodeError):
        codec.decode_file(src, delta_path, folder / "out", expected_size=len(target))
    assert _names(folder) == before, "decode left a file behind"


def test_wrong_source_is_a_decode_error_and_leaves_nothing(files: tuple[Path, Path, Path, bytes]) -> None:
    src, _, delta_path, _ = files
    wrong = src.parent / "wrong"
    data = bytearray(src.read_bytes())
    data[5000] ^= 1
    wrong.write_bytes(bytes(data))
    with pytest.raises(DecodeError, match="checksum"):
        codec.decode_file(wrong, delta_path, src.parent / "out")
    assert not (src.parent / "out").exists()
    assert not [n for n in _names(src.parent) if n.endswith(".dg-part")]


def test_failed_decode_keeps_an_existing_output_untouched(files: tuple[Path, Path, Path, bytes]) -> None:
    src, _, delta_path, _ = files
    out = src.parent / "out"
    out.write_bytes(b"previous version")
    delta_path.write_bytes(delta_path.read_bytes()[:-10])
    with pytest.raises(DecodeError):
        codec.decode_file(src, delta_path, out)
    assert out.read_bytes() == b"previous version"


def test_wrong_expected_size_leaves_no_output(files: tuple[Path, Path, Path, bytes]) -> None:
    src, _, delta_path, target = files
    for wrong in (len(target) - 1, len(target) + 1, 0):
        with pytest.raises(DecodeError):
            codec.decode_file(src, delta_path, src.parent / "out", expected_size=wrong)
        assert not (src.parent / "out").exists()
    assert not [n for n in _names(src.parent) if n.endswith(".dg-part")]


def test_missing_source_raises_an_oserror_with_errno(files: tuple[Path, Path, Path, bytes]) -> None:
    _, tgt, delta_path, _ = files
    folder = tgt.parent
    with pytest.raises(OSError) as caught:
        codec.decode_file(folder / "nope", delta_path, folder / "out")
    _assert_io_error(caught.value, errno.ENOENT)
    assert caught.value.filename == str(folder / "nope")
    with pytest.raises(OSError) as caught:
        codec.encode_file(folder / "nope", tgt, folder / "delta2")
    _assert_io_error(caught.value, errno.ENOENT)
    assert not (folder / "out").exists()
    assert not (folder / "delta2").exists()


def test_output_into_a_missing_directory(files: tuple[Path, Path, Path, bytes]) -> None:
    src, tgt, delta_path, _ = files
    with pytest.raises(OSError) as caught:
        codec.decode_file(src, delta_path, src.parent / "no" / "such" / "out")
    _assert_io_error(caught.value, errno.ENOENT)
    with pytest.raises(OSError) as caught:
        codec.encode_file(src, tgt, src.parent / "no" / "delta")
    _assert_io_error(caught.value, errno.ENOENT)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_directory(files: tuple[Path, Path, Path, bytes], tmp_path: Path) -> None:
    src, tgt, delta_path, _ = files
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OSError) as caught:
            codec.decode_file(src, delta_path, locked / "out")
        _assert_io_error(caught.value, errno.EACCES)
        with pytest.raises(OSError) as caught:
            codec.encode_file(src, tgt, locked / "delta")
        _assert_io_error(caught.value, errno.EACCES)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_unwritable_directory_even_for_root(files: tuple[Path, Path, Path, bytes]) -> None:
    # /proc refuses new files to everyone, root included, so this runs where the test above skips.
    src, _, delta_path, _ = files
    with pytest.raises(OSError) as caught:
        codec.decode_file(src, delta_path, "/proc/self/deltaglider-out")
    assert isinstance(caught.value, CodecIOError)
    assert caught.value.errno in (errno.EACCES, errno.ENOENT, errno.EPERM)


def test_output_path_that_is_a_directory(files: tuple[Path, Path, Path, bytes]) -> None:
    src, _, delta_path, _ = files
    (src.parent / "adir").mkdir()
    with pytest.raises(OSError) as caught:
        codec.decode_file(src, delta_path, src.parent / "adir")
    assert isinstance(caught.value, CodecIOError)
    assert (src.parent / "adir").is_dir()
    assert not [n for n in _names(src.parent) if n.endswith(".dg-part")]


@pytest.mark.skipif(sys.platform == "win32", reason="directories do not open as files there")
def test_inputs_that_are_directories(files: tuple[Path, Path, Path, bytes]) -> None:
    src, tgt, delta_path, _ = files
    folder = tgt.parent
    with pytest.raises(OSError) as caught:
        codec.decode_file(folder, delta_path, folder / "out")
    _assert_io_error(caught.value, errno.EISDIR)
    assert caught.value.filename == str(folder)
    with pytest.raises(OSError) as caught:
        codec.encode_file(src, folder, folder / "delta2")
    _assert_io_error(caught.value, errno.EISDIR)
    assert caught.value.filename == str(folder)
    assert not (folder / "out").exists()
    assert not (folder / "delta2").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("what", ["decode", "encode"])
def test_a_full_disk_reports_enospc(files: tuple[Path, Path, Path, bytes], what: str) -> None:
    # The public functions always write to a temporary file they create, so the native call is
    # driven here with /dev/full as the output: every write fails with ENOSPC.
    src, tgt, delta_path, _ = files
    ffi, lib = load()
    status = ffi.new("dg_status *")
    written = ffi.new("uint64_t *")
    fds = [os.open(src, os.O_RDONLY), os.open(delta_path if what == "decode" else tgt, os.O_RDONLY)]
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        if what == "decode":
            rc = lib.dg_decode_file(fds[0], fds[1], full, 2**64 - 1, 0, written, status)
        else:
            params = ffi.new("dg_encode_params *")
            params.level = 9
            params.secondary = lib.DG_SECONDARY_LZMA
            plan = ffi.new("dg_encode_plan *")
            assert lib.dg_plan_file(fds[0], fds[1], params, plan, status) == lib.DG_OK
            rc = lib.dg_encode_file(fds[0], fds[1], full, plan, written, status)
    finally:
        for fd in (*fds, full):
            os.close(fd)
    assert rc == lib.DG_ERR_IO
    assert status.sys_errno == errno.ENOSPC
    with pytest.raises(OSError) as caught:
        raise_for_status(status, files=file_roles(source=src, output="/dev/full"))
    _assert_io_error(caught.value, errno.ENOSPC)
    assert "cannot write" in str(caught.value)


def test_external_compression_delta_is_refused_without_output(tmp_path: Path) -> None:
    source, target = _pair(3)
    (tmp_path / "src").write_bytes(source)
    delta = bytearray(codec.encode(source, target, secondary=None))
    # Rebuild the header with the binary's app header for a gzip target: "<name>/G/<source>/".
    assert delta[4] == 0  # no secondary, no code table, no app header
    appheader = b"t.gz/G/s/"
    patched = bytes(delta[:4]) + bytes([0x04]) + bytes([len(appheader)]) + appheader + bytes(delta[5:])
    (tmp_path / "delta").write_bytes(patched)
    with pytest.raises(UnsupportedDeltaError):
        codec.decode_file(tmp_path / "src", tmp_path / "delta", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    written = codec.decode_file(
        tmp_path / "src", tmp_path / "delta", tmp_path / "out", allow_external_compression=True
    )
    assert written == len(target)
    assert (tmp_path / "out").read_bytes() == target


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_memory_budget_must_be_a_positive_int(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ValueError, match="memory_budget"):
        codec.encode(b"a", b"b", memory_budget=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="memory_budget"):
        codec.encode_file(tmp_path, tmp_path, tmp_path / "d", memory_budget=bad)  # type: ignore[arg-type]


def test_a_budget_too_small_for_anything_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="too small"):
        codec.encode(b"a" * 100_000, b"b" * 100_000, memory_budget=1 << 20)


def test_unknown_secondary_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="secondary"):
        codec.encode(b"a", b"b", secondary="zstd")  # type: ignore[arg-type]


def test_a_decode_onto_a_fifo_writes_into_it(files: tuple[Path, Path, Path, bytes]) -> None:
    src, _, delta_path, target = files
    fifo = src.parent / "fifo"
    with fifo_reader(fifo) as reader:
        assert codec.decode_file(src, delta_path, fifo, expected_size=len(target)) == len(target)
    assert reader.data == target
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert not [n for n in _names(src.parent) if n.endswith(".dg-part")]


def test_an_encode_onto_a_fifo_writes_the_delta_into_it(files: tuple[Path, Path, Path, bytes]) -> None:
    src, tgt, delta_path, _ = files
    fifo = src.parent / "fifo"
    with fifo_reader(fifo) as reader:
        size = codec.encode_file(src, tgt, fifo)
    assert reader.data == delta_path.read_bytes() and size == len(reader.data)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_decode_onto_a_device_keeps_the_device(files: tuple[Path, Path, Path, bytes]) -> None:
    src, _, delta_path, target = files
    device = null_device(src.parent / "null")
    assert codec.decode_file(src, delta_path, device) == len(target)
    assert is_null_device(device)
    assert not [n for n in _names(src.parent) if n.endswith(".dg-part")]


def test_a_failed_decode_writes_nothing_into_a_fifo(files: tuple[Path, Path, Path, bytes]) -> None:
    src, _, delta_path, target = files
    fifo = src.parent / "fifo"
    with fifo_reader(fifo) as reader, pytest.raises(DecodeError):
        codec.decode_file(src, delta_path, fifo, expected_size=len(target) + 1)
    assert reader.data == b""
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
