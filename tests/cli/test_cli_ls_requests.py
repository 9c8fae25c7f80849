"""What ``ls --summarize`` asks of the store: one listing of the folder and at most one HEAD of each
object, though its lines and its totals (the bases no line counts) both come from them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from support.artifacts import release_zips
from support.hooked_storage import HookedStorage

from deltaglider import client as client_module
from deltaglider import create_client
from deltaglider.adapters.storage_local import LocalStorage
from deltaglider.cli import run


@pytest.mark.parametrize("recursive", [False, True], ids=["folder", "recursive"])
def test_ls_summarize_lists_once_and_heads_each_object_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], recursive: bool
) -> None:
    monkeypatch.setenv("DG_CACHE_DIR", str(tmp_path / "cache"))
    base = f"file://{tmp_path}/store/"
    uploader = create_client()
    for sub in ("app/", "app/old/"):
        (tmp_path / "files" / sub).mkdir(parents=True)
        for path in release_zips(tmp_path / "files" / sub, "app", 3, size=60_000):
            uploader.upload(path, base + sub)
    hooked = HookedStorage(LocalStorage("/"))
    monkeypatch.setitem(client_module._STORES, "file", lambda: hooked)

    args = ["ls", "--summarize", *(["--recursive"] if recursive else []), base + "app/"]
    assert run(args) == 0

    listed = capsys.readouterr().out
    assert "Total Objects: " + ("6" if recursive else "3") in listed
    calls = Counter(hooked.calls)
    assert sum(1 for method, _ in hooked.calls if method == "list") == 1, hooked.calls
    heads = {key: n for (method, key), n in calls.items() if method == "head"}
    assert heads and max(heads.values()) == 1, heads
