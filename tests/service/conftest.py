from __future__ import annotations

from pathlib import Path

import pytest
from support.artifacts import release_zips

from deltaglider.adapters.storage_memory import MemoryStorage


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def releases(tmp_path: Path) -> list[Path]:
    """Four consecutive releases of one zip (~300 kB each)."""
    folder = tmp_path / "releases"
    folder.mkdir()
    return release_zips(folder, "app", 4, size=300_000)
