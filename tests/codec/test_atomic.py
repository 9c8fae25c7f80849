"""deltaglider.atomic: write beside, rename on success (used by the file codec and by downloads)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from deltaglider.atomic import CREATE_FAILED, PART_SUFFIX, write_beside

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
