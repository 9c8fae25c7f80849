"""Archives from real producers, two versions each, through the client: stored transformed where the
producer reproduces (and then far smaller than the plain delta), stored as before where it does not,
and every download byte for byte; ``original_compatible`` turns it all off."""

from __future__ import annotations

from pathlib import Path

import pytest

from deltaglider.client import UploadSummary
from deltaglider.transforms import body, detect
from transforms.producers import (
    BUCKET,
    PRODUCERS,
    Producer,
    every_object,
    local_client,
    object_metadata,
    object_path,
    producer,
    write_tree,
)

FOLDER = f"s3://{BUCKET}/app/"
TRANSFORM_KEY = "dg-transform"


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("trees")
    return {version: write_tree(root, version) for version in (1, 2)}


@pytest.fixture(autouse=True)
def no_switch_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DG_ORIGINAL_COMPATIBLE", raising=False)
    monkeypatch.delenv("DG_MAX_RATIO", raising=False)


def _pair(made_by: Producer, trees: dict[int, Path], dest: Path) -> tuple[Path, Path]:
    if not made_by.available():
        pytest.skip(f"{made_by.id}: {' and '.join(made_by.tools)} not installed")
    v1, v2 = (made_by.make(trees[v], dest, v) for v in (1, 2))
    assert v1.read_bytes() != v2.read_bytes()
    return v1, v2


def _round_trips(client_root: Path, files: list[Path], folder: str = FOLDER) -> None:
    client = local_client(client_root)
    out = client_root / "out"
    for path in files:
        got = client.download(folder + path.name, out / path.name)
        assert Path(got.path).read_bytes() == path.read_bytes(), path.name
        assert client.verify(folder + path.name), path.name


#: Producers whose outcome another one shows in the default run, at a lower cost: GNU gzip's own
#: deflater, which only the reconstructor rebuilds (``gnu-tar-czf``, gzip -6 through tar; pigz's
#: flush points likewise), and Info-ZIP reproducing two members of three (``info-zip-1``).
#: ``pytest -m slow`` runs them.
SLOW_PRODUCERS = frozenset({"gnu-gzip-1", "gnu-gzip-6", "info-zip-6", "pigz-6"})


@pytest.mark.parametrize(
    "made_by",
    [pytest.param(p, id=p.id, marks=[pytest.mark.slow] if p.id in SLOW_PRODUCERS else []) for p in PRODUCERS],
)
def test_producer_pair_is_stored_and_rebuilt(
    made_by: Producer, trees: dict[int, Path], tmp_path: Path
) -> None:
    v1, v2 = _pair(made_by, trees, tmp_path / "made")
    on = tmp_path / "on"
    client = local_client(on)
    first = client.upload(v1, FOLDER)
    second = client.upload(v2, FOLDER)
    assert first.operation == "PUT" and (on / "store" / BUCKET / "app/reference.bin").is_file()
    _round_trips(on, [v1, v2])

    kind = second.transform
    if made_by.expect in ("zip", "gzip", "bzip2"):
        assert kind == made_by.expect, second
    elif made_by.expect == "none":
        assert kind is None, second
    else:
        assert kind in (None, detect(v2)), second

    stored = every_object(on)
    if kind is None:
        assert not any(TRANSFORM_KEY in meta for meta in stored.values()), stored
        return
    # Stored transformed: a delta whose body carries the recipe, marked so in its metadata.
    assert second.is_delta and second.key == f"app/{v2.name}.delta", second
    meta = object_metadata(on, second.key)
    assert meta[TRANSFORM_KEY] == kind and len(meta["dg-base-sha256"]) == 64, meta
    assert object_path(on, second.key).read_bytes()[:4] == body.MAGIC
    # ... and far smaller than what the same pair costs without transforms.
    off = tmp_path / "off"
    plain = local_client(off, original_compatible=True)
    plain.upload(v1, FOLDER)
    plain_second = plain.upload(v2, FOLDER)
    assert plain_second.transform is None
    assert second.stored_size * 3 < plain_second.stored_size, (second, plain_second)


def _upload_all(
    root: Path, pairs: dict[str, tuple[Path, Path]], *, original_compatible: bool | None
) -> dict[str, list[UploadSummary]]:
    client = local_client(root, original_compatible=original_compatible)
    return {
        folder: [client.upload(path, f"s3://{BUCKET}/{folder}/") for path in pair]
        for folder, pair in pairs.items()
    }


@pytest.mark.parametrize("switch", ["argument", "environment"])
def test_original_compatible_stores_nothing_transformed(
    switch: str, trees: dict[int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = {
        folder: _pair(producer(pid), trees, tmp_path / "made" / folder)
        for folder, pid in (("zip", "py-zip-deflate-6"), ("whl", "py-whl"), ("tgz", "py-tarfile-gz"))
    }
    if switch == "environment":
        monkeypatch.setenv("DG_ORIGINAL_COMPATIBLE", "1")
    summaries = _upload_all(tmp_path, pairs, original_compatible=True if switch == "argument" else None)

    assert all(s.transform is None for row in summaries.values() for s in row)
    stored = every_object(tmp_path)
    assert not any(TRANSFORM_KEY in meta for meta in stored.values()), stored
    # As before transforms: gzip content stored whole and never a reference; a wheel (a name the
    # original does not list) stored whole; a zip stored as the plain delta of its bytes.
    assert [s.operation for s in summaries["tgz"]] == ["PUT", "PUT"]
    assert all(not s.is_delta and s.stored_size == s.original_size for s in summaries["tgz"])
    assert all(not s.is_delta and s.stored_size == s.original_size for s in summaries["whl"])
    assert not any(key.endswith("reference.bin") for key in stored if key.startswith(("tgz/", "whl/")))
    assert [s.operation for s in summaries["zip"]] == ["PUT", "PUT_DELTA"]
    for folder, pair in pairs.items():
        _round_trips(tmp_path, list(pair), f"s3://{BUCKET}/{folder}/")


def test_the_call_beats_the_environment(
    trees: dict[int, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_ORIGINAL_COMPATIBLE", "1")
    pairs = {"zip": _pair(producer("py-zip-deflate-6"), trees, tmp_path / "made")}
    summaries = _upload_all(tmp_path, pairs, original_compatible=False)
    assert summaries["zip"][1].transform == "zip"
