"""Every vendored library's licence travels with the package and is named in the README: the wheel
and the sdist compile that code in, so they must carry its licence, and a reader must find it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

# From this file, not the installed package: the suite also runs from an unpacked sdist.
ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "vendor"
#: How upstream projects name their licence file.
_LICENCE_NAMES = ("LICENSE", "COPYING")


def _licence_files() -> list[str]:
    """The upstream licence file of each vendored library, as a path from the repository root."""
    if not VENDOR.is_dir():
        pytest.skip("vendor/ is not in this tree")
    found = []
    for library in sorted(p for p in VENDOR.iterdir() if p.is_dir()):
        files = [p for p in library.iterdir() if p.is_file() and p.name.upper().startswith(_LICENCE_NAMES)]
        assert files, f"{library.relative_to(ROOT)} has no LICENSE or COPYING file"
        found += [str(p.relative_to(ROOT)) for p in files]
    return found


def test_every_vendored_licence_is_in_license_files() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["license-files"]
    assert [f for f in _licence_files() if f not in declared] == []


def test_every_vendored_licence_is_linked_from_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [f for f in _licence_files() if f"]({f})" not in readme] == []
