"""Upload options on a local folder: tags and user metadata are kept in the sidecar (tags apart from
the metadata ``head`` returns); ``get_file`` returns the object's head like S3's GET does."""

from __future__ import annotations

import json
from pathlib import Path

from support.artifacts import release_zips

from deltaglider import create_client
from deltaglider.adapters.storage_local import META_DIR, TAGS_KEY, LocalStorage
from deltaglider.ports.storage import PutOptions


def _sidecar(folder: Path, name: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((folder / META_DIR / f"{name}.json").read_text())
    return data


def test_tags_and_metadata_kept_in_the_sidecar(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    first, second = release_zips(src, "app", 2, size=200_000)
    store = tmp_path / "store" / "app"
    client = create_client(cache_dir=str(tmp_path / "cache"), tags={"team": "core"})

    client.upload(first, f"{store}/")
    client.upload(second, f"{store}/", tags={"release": "1.1"}, metadata={"build": "42"})

    delta = _sidecar(store, "app-1.1.zip.delta")
    assert delta[TAGS_KEY] == "team=core&release=1.1&dg-kind=file"
    assert delta["build"] == "42"
    assert TAGS_KEY not in _sidecar(store, "reference.bin")
    assert "build" not in _sidecar(store, "reference.bin")
    # Tags are not metadata: head leaves them out.
    head = LocalStorage(tmp_path).head("store", "app/app-1.1.zip.delta")
    assert head is not None
    assert TAGS_KEY not in head.metadata
    assert head.metadata["build"] == "42"
    client.download(f"{store}/{second.name}", tmp_path / "out.zip")
    assert (tmp_path / "out.zip").read_bytes() == second.read_bytes()


def test_get_file_returns_the_head(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "root")
    src = tmp_path / "src"
    src.write_bytes(b"x" * 1000)
    storage.put_file("b", "p/k", src, {"dg-file-sha256": "abc"}, options=PutOptions(tags={"t": "1"}))

    head = storage.get_file("b", "p/k", tmp_path / "out")

    assert (head.bucket, head.key, head.size) == ("b", "p/k", 1000)
    assert head.metadata == {"dg-file-sha256": "abc"}
    assert head == storage.head("b", "p/k")
    assert (tmp_path / "out").read_bytes() == src.read_bytes()
