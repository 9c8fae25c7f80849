"""deltaglider.atomic: write beside, rename on success (used by the file codec and by downloads); a
FIFO or device is written into, never replaced."""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.special_files import fifo_reader, is_null_device, null_device

from deltaglider.atomic import CREATE_FAILED, PART_SUFFIX, RENAME_FAILED, write_beside, write_output

PART_NAME = re.compile(r"^\.dest\.bin\.[0-9a-f]{12}\.dg-part$")


def test_success_renames_into_place_with_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        with write_beside(tmp_path / "dest.bin") as part:
            assert PART_NAME.match(part.path.name) and part.path.parent == tmp_path
            os.write(part.fd, b"payload")
            assert not (tmp_path / "dest.bin").exists()
    finally:
        os.umask(old)
    assert (tmp_path / "dest.bin").read_bytes() == b"payload"
    assert stat.S_IMODE((tmp_path / "dest.bin").stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest.bin"]


def test_an_exception_removes_the_temporary_and_keeps_the_old_file(tmp_path: Path) -> None:
    (tmp_path / "dest.bin").write_bytes(b"old")
    with pytest.raises(KeyError), write_beside(tmp_path / "dest.bin") as part:
        os.write(part.fd, b"half")
        raise KeyError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest.bin"]
    assert (tmp_path / "dest.bin").read_bytes() == b"old"


def test_a_descriptor_closed_by_the_block_is_not_closed_again(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), write_beside(tmp_path / "dest.bin") as part:
        part.close()
        # The number may now belong to another file: the context must leave it alone.
        other = os.open(tmp_path / "other", os.O_WRONLY | os.O_CREAT, 0o600)
        raise RuntimeError
    os.write(other, b"still open")
    os.close(other)
    assert (tmp_path / "other").read_bytes() == b"still open"
    assert not any(p.name.endswith(PART_SUFFIX) for p in tmp_path.iterdir())


def test_failures_go_through_the_error_mapper(tmp_path: Path) -> None:
    seen: list[tuple[type[OSError], str]] = []

    def mapper(exc: OSError, what: str) -> BaseException:
        seen.append((type(exc), what))
        return LookupError(what)

    with pytest.raises(LookupError), write_beside(tmp_path / "missing" / "dest.bin", error=mapper):
        pass
    assert seen == [(FileNotFoundError, CREATE_FAILED)]

    with write_beside(tmp_path / "made" / "dest.bin", make_parents=True) as part:
        os.write(part.fd, b"x")
    assert (tmp_path / "made" / "dest.bin").read_bytes() == b"x"


def test_a_planted_temporary_name_is_never_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = iter(["aaaaaaaaaaaa", "aaaaaaaaaaaa", "bbbbbbbbbbbb"])
    monkeypatch.setattr("deltaglider.atomic.secrets.token_hex", lambda _n: next(names))
    planted = tmp_path / f".dest.bin.aaaaaaaaaaaa{PART_SUFFIX}"
    planted.write_bytes(b"someone else's")
    with write_beside(tmp_path / "dest.bin") as part:
        assert part.path.name == f".dest.bin.bbbbbbbbbbbb{PART_SUFFIX}"
        os.write(part.fd, b"mine")
    assert planted.read_bytes() == b"someone else's"
    assert (tmp_path / "dest.bin").read_bytes() == b"mine"


def _mapped(exc: OSError, what: str) -> BaseException:
    return LookupError(f"{what}: {exc}")


def _spool(folder: Path) -> contextlib.AbstractContextManager[Path]:
    folder.mkdir(exist_ok=True)
    return contextlib.nullcontext(folder)


def test_a_fifo_destination_is_written_into_once_the_block_succeeds(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    with (
        fifo_reader(tmp_path / "fifo") as reader,
        write_output(tmp_path / "fifo", spool=lambda: _spool(spool)) as part,
    ):
        assert part.path.parent == spool  # the bytes wait elsewhere, never beside the FIFO
        os.write(part.fd, b"payload")
    assert reader.data == b"payload"
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "spool"]
    assert list(spool.iterdir()) == []


def test_a_failed_block_writes_nothing_into_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    # A reader that does not wait: it sees end-of-file at once unless a writer opened the FIFO.
    reader = os.open(tmp_path / "fifo", os.O_RDONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(KeyError), write_output(tmp_path / "fifo") as part:
            os.write(part.fd, b"half")
            raise KeyError("boom")
        assert os.read(reader, 100) == b""
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]


def test_a_device_destination_is_written_into_and_stays_a_device(tmp_path: Path) -> None:
    device = null_device(tmp_path / "null")
    with write_output(device) as part:
        os.write(part.fd, b"x" * 100_000)
    assert is_null_device(device)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_symlink_to_a_fifo_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path / "fifo")
    with fifo_reader(tmp_path / "fifo") as reader, write_output(tmp_path / "link") as part:
        os.write(part.fd, b"through the link")
    assert reader.data == b"through the link"
    assert (tmp_path / "link").is_symlink() and stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)


def test_a_symlink_to_a_regular_file_is_replaced_and_its_target_kept(tmp_path: Path) -> None:
    (tmp_path / "target").write_bytes(b"target")
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with write_output(tmp_path / "link") as part:
        os.write(part.fd, b"new")
    assert not (tmp_path / "link").is_symlink()
    assert (tmp_path / "link").read_bytes() == b"new"
    assert (tmp_path / "target").read_bytes() == b"target"


def test_a_fifo_that_takes_the_name_meanwhile_is_never_renamed_over(tmp_path: Path) -> None:
    with pytest.raises(LookupError) as caught, write_beside(tmp_path / "dest", error=_mapped) as part:
        os.write(part.fd, b"late")
        os.mkfifo(tmp_path / "dest")
    assert str(caught.value).startswith(RENAME_FAILED)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "dest").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]


def test_a_socket_destination_is_refused_through_the_mapper(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "sock"
    if len(os.fsencode(path)) >= 100:
        pytest.skip("the temporary folder's path is too long for a socket's address")
    with contextlib.closing(socket.socket(socket.AF_UNIX)) as server:
        server.bind(os.fspath(path))
        with pytest.raises(LookupError, match="No such device"), write_output(path, error=_mapped) as part:
            os.write(part.fd, b"x")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sock"]


@contextlib.contextmanager
def _unused() -> Iterator[Path]:
    raise AssertionError("a regular destination needs no spool")
    yield Path()


def test_a_regular_destination_is_still_written_beside_and_renamed(tmp_path: Path) -> None:
    with write_output(tmp_path / "dest.bin", spool=_unused) as part:
        assert PART_NAME.match(part.path.name) and part.path.parent == tmp_path
        os.write(part.fd, b"plain")
    assert (tmp_path / "dest.bin").read_bytes() == b"plain"
