"""The documentation's relative links lead to files that exist: the docs read from a clean checkout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# [text](target) with a relative target; anchors and web addresses are not checked.
LINK = re.compile(r"\[[^\]]*\]\((?!https?://|mailto:|#)([^)#\s]+)(?:#[^)]*)?\)")


def documents() -> list[Path]:
    found = sorted((ROOT / "docs").glob("*.md")) if (ROOT / "docs").is_dir() else []
    found += [p for p in (ROOT / "README.md", ROOT / "CONTRIBUTING.md") if p.is_file()]
    return found


@pytest.mark.parametrize("document", documents(), ids=lambda p: p.name)
def test_relative_links_resolve(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    broken = [t for t in LINK.findall(text) if not (document.parent / t).exists()]
    assert not broken, f"{document.relative_to(ROOT)} links to missing files: {broken}"


def test_no_link_leaves_the_repository() -> None:
    for document in documents():
        for target in LINK.findall(document.read_text(encoding="utf-8")):
            resolved = (document.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{document.name} links outside the repository: {target}"
