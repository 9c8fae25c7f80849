from __future__ import annotations

from pathlib import Path

import pytest
from support.artifacts import release_zips


@pytest.fixture
def releases(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "releases"
    folder.mkdir()
    return release_zips(folder, "app", 4, size=300_000)


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DG_CACHE_DIR", str(tmp_path / "cache"))
