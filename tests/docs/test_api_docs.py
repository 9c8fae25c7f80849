"""docs/api.md is generated from the docstrings: it must match what the generator writes today."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

# The suite also runs from an unpacked sdist against the installed wheel: the repository root is found
# from this file, not from the installed package.
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen_api_docs.py"
API_MD = ROOT / "docs" / "api.md"


def _generator() -> ModuleType:
    if not SCRIPT.is_file():
        pytest.skip(f"{SCRIPT.relative_to(ROOT)} is not in this tree (an sdist built without scripts/)")
    spec = importlib.util.spec_from_file_location("gen_api_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date(tmp_path: Path) -> None:
    generator = _generator()
    fresh = tmp_path / "api.md"
    assert generator.main(["--output", str(fresh)]) == 0
    current = API_MD.read_text(encoding="utf-8") if API_MD.is_file() else ""
    assert current == fresh.read_text(encoding="utf-8"), (
        "docs/api.md is stale: run `python scripts/gen_api_docs.py` and commit the result"
    )


def test_generation_is_deterministic() -> None:
    generator = _generator()
    first = generator.generate()
    assert first == generator.generate()
    assert " at 0x" not in first  # a repr with a memory address would differ on every run


def test_reference_covers_the_public_api() -> None:
    import deltaglider

    text = _generator().generate()
    for name in deltaglider.__all__:
        if name != "__version__":
            assert f"`{name}`" in text, f"{name} is exported but not in the API reference"
    for method in ("upload", "download", "verify", "list", "stats", "delete", "cleanup"):
        assert f"### `DeltaGliderClient.{method}`" in text
    for function in ("encode", "decode", "encode_file", "decode_file"):
        assert f"### `codec.{function}`" in text
