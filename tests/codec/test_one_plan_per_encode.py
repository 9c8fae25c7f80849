"""Each encode is planned once, and runs the plan it was given.

The service plans an encode to reserve its memory, then hands that plan to the encode; the codec's
own entry points plan once when given none. Planning is counted at the binding's planners, the only
callers of the glue's plan functions.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.sdk import make_service

from deltaglider import codec
from deltaglider._native import xdelta3
from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.errors import CodecError

MIB = 2**20


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each plan made, in order."""
    made: list[str] = []

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def plan(*args: Any, **kwargs: Any) -> Any:
            made.append(name)
            return real(*args, **kwargs)

        return plan

    for name in ("plan_sizes", "plan_memory", "plan_files"):
        monkeypatch.setattr(xdelta3, name, counted(name, getattr(xdelta3, name)))
    return made


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """About 5 MB each, large enough for the reach probe to run."""
    rng = random.Random(7)
    source = rng.randbytes(5 * MIB)
    target = source[: 2 * MIB] + rng.randbytes(4096) + source[2 * MIB :]
    (tmp_path / "a").write_bytes(source)
    (tmp_path / "b").write_bytes(target)
    return tmp_path / "a", tmp_path / "b"


def test_a_service_encode_is_planned_once(pair: tuple[Path, Path], tmp_path: Path, plans: list[str]) -> None:
    ctx = make_service(MemoryStorage())._ctx
    size = ctx.encode(*pair, tmp_path / "d")
    assert plans == ["plan_files"]
    assert codec.decode_file(pair[0], tmp_path / "d", tmp_path / "out") == pair[1].stat().st_size
    assert size == (tmp_path / "d").stat().st_size


def test_the_codec_plans_each_encode_once(pair: tuple[Path, Path], tmp_path: Path, plans: list[str]) -> None:
    source, target = pair[0].read_bytes(), pair[1].read_bytes()
    in_memory = codec.encode(source, target)
    assert plans == ["plan_memory"]
    codec.encode_file(*pair, tmp_path / "d")
    assert plans == ["plan_memory", "plan_files"]
    plan = codec.plan_encode_files(*pair)
    codec.encode_file(*pair, tmp_path / "d2", plan=plan)
    assert plans == ["plan_memory", "plan_files", "plan_files"]
    assert (tmp_path / "d").read_bytes() == (tmp_path / "d2").read_bytes() == in_memory


def test_the_plan_of_the_content_is_what_the_encode_reserves(pair: tuple[Path, Path]) -> None:
    widest = codec.plan_encode(pair[0].stat().st_size, pair[1].stat().st_size)
    planned = codec.plan_encode_files(*pair)
    # The probe saw content stay near its place: a sliding window, less memory than the widest.
    assert not planned.covers_source
    assert planned.memory < widest.memory


def test_a_plan_is_refused_for_files_of_other_sizes(pair: tuple[Path, Path], tmp_path: Path) -> None:
    plan = codec.plan_encode_files(*pair)
    (tmp_path / "c").write_bytes(pair[1].read_bytes() + b"grown since")
    with pytest.raises(CodecError, match="planned for inputs of other sizes"):
        codec.encode_file(pair[0], tmp_path / "c", tmp_path / "d", plan=plan)
    assert not (tmp_path / "d").exists()


def test_a_plan_from_sizes_or_other_settings_is_not_run(pair: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sizes alone"):
        codec.encode_file(*pair, tmp_path / "d", plan=codec.plan_encode(1000, 1000))
    with pytest.raises(ValueError, match="other level"):
        codec.encode_file(*pair, tmp_path / "d", level=3, plan=codec.plan_encode_files(*pair))
    assert not (tmp_path / "d").exists()
