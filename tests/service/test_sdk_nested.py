"""Archives inside archives through the service: wheels of gzip'd JSON (as botocore's are) stored as
the delta of their twice-decoded content, and deltas made by a release before nesting still rebuilt."""

from __future__ import annotations

import functools
import gzip
import io
import json
import random
import zipfile
import zlib
from pathlib import Path

import pytest
from support.sdk import make_service, sha256

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.put import archives as put_archives
from deltaglider.core.put import private_copy
from deltaglider.core.rebuild import sources
from deltaglider.transforms import body, container, memo, reconstruct, unpack
from deltaglider.transforms.base import derive_base

SPACE = DeltaSpace("b", "rel")


def _releases(folder: Path, count: int, *, code: bool = False) -> list[Path]:
    """Wheels whose data files are gzip'd JSON made by Python's gzip: each release changes a few
    values of a few documents, so every changed gzip stream differs from the change on. With
    ``code``, the documents stay and a large source file beside them is edited: one level of decoding
    pays already."""
    rng = random.Random(7)
    docs = {
        f"pkg/data/s{d}/service-2.json": {
            f"Op{i}": {"input": f"Shape{rng.randint(0, 999)}", "doc": f"text {rng.random()}"}
            for i in range(400)
        }
        for d in range(6)
    }
    paths = []
    for release in range(count):
        for name in [] if code else rng.sample(sorted(docs), 2):
            docs[name][f"Op{rng.randrange(400)}"]["doc"] = f"changed in {release}"
        path = folder / f"pkg-1.{release}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, doc in docs.items():
                data = gzip.compress(json.dumps(doc, indent=1).encode(), mtime=0)
                z.writestr(zipfile.ZipInfo(name + ".gz", (2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
            if code:
                source = "".join(
                    f"def f_{i}(x):\n    return x * {i % 97 + release * (i % 50 == 0)}\n" for i in range(6000)
                )
                z.writestr(
                    zipfile.ZipInfo("pkg/code.py", (2020, 1, 1, 0, 0, 0)), source, zipfile.ZIP_DEFLATED
                )
        paths.append(path)
    return paths


@pytest.fixture
def releases(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "releases"
    folder.mkdir()
    return _releases(folder, 3)


def _as_before_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Uploads as the release before nesting made them: one level decoded, against inflated-v2 bases."""
    monkeypatch.setattr(put_archives, "BASE_FORMAT", "inflated-v2")
    monkeypatch.setattr(
        put_archives, "encode_container", functools.partial(container.encode_container, nested=False)
    )
    monkeypatch.setattr(private_copy, "decode_all", functools.partial(container.decode_all, nested=False))


def test_wheels_of_gzip_files_store_less_decoded_twice(
    releases: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nested_store = MemoryStorage()
    service = make_service(nested_store)
    service.put(releases[0], SPACE)
    nested = service.put(releases[1], SPACE)
    stored, meta = nested_store.raw("b", nested.key)

    with monkeypatch.context() as patch:
        _as_before_nesting(patch)
        flat_store = MemoryStorage()
        flat_service = make_service(flat_store)
        flat_service.put(releases[0], SPACE)
        flat = flat_service.put(releases[1], SPACE)

    assert nested.transform == "zip" and meta["dg-base-format"] == "inflated-v3"
    assert unpack(body.read_header(io.BytesIO(stored))).depth == 2
    # The whole tree's delta is what the 3/4 rule weighed, and it is well under the one-level one.
    assert nested.stored_size * 2 <= (flat.stored_size or 0) or flat.transform is None
    assert nested.stored_size < (flat.stored_size or 0)
    got = service.get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "out")
    assert got.reconstructed and sha256(tmp_path / "out") == sha256(releases[1])


def test_a_delta_made_against_an_inflated_v2_base_still_rebuilds(
    releases: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "with-code"
    folder.mkdir()
    releases = _releases(folder, 3, code=True)
    store = MemoryStorage()
    with monkeypatch.context() as patch:
        _as_before_nesting(patch)
        old = make_service(store)
        old.put(releases[0], SPACE)
        before = old.put(releases[1], SPACE)
    meta = store.raw("b", before.key)[1]
    assert meta["dg-base-format"] == "inflated-v2"
    # The base it names is the one inflated-v2's own rules derive (no nesting), not today's.
    assert derive_base(releases[0], tmp_path / "v2", "inflated-v2")
    assert meta["dg-base-sha256"] == sha256(tmp_path / "v2")
    assert derive_base(releases[0], tmp_path / "v3") and sha256(tmp_path / "v3") != sha256(tmp_path / "v2")

    # Today's release stores the next one against an inflated-v3 base of the same reference.
    monkeypatch.setattr(sources, "_DERIVED", sources._Derivations())
    service = make_service(store)
    after = service.put(releases[2], SPACE)
    assert store.raw("b", after.key)[1]["dg-base-format"] == "inflated-v3"

    for path in releases[1:]:
        service.get(ObjectKey("b", f"rel/{path.name}"), tmp_path / path.name)
        assert sha256(tmp_path / path.name) == sha256(path)
    # And in a new process, with nothing cached.
    monkeypatch.setattr(sources, "_DERIVED", sources._Derivations())
    fresh = make_service(store)
    fresh.get(ObjectKey("b", f"rel/{releases[1].name}"), tmp_path / "again")
    assert sha256(tmp_path / "again") == sha256(releases[1])
    assert fresh.verify(ObjectKey("b", f"rel/{releases[1].name}")).valid


def _flushed_gzip(payload: bytes, mtime: int) -> bytes:
    """A gzip file only the reconstructor rebuilds (a flush point in its stream), stamped ``mtime``."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    half = len(payload) // 2
    stream = c.compress(payload[:half]) + c.flush(zlib.Z_FULL_FLUSH) + c.compress(payload[half:]) + c.flush()
    header = b"\x1f\x8b\x08\x00" + mtime.to_bytes(4, "little") + b"\x00\x03"
    return header + stream + zlib.crc32(payload).to_bytes(4, "little") + len(payload).to_bytes(4, "little")


def test_an_upload_reconstructs_only_the_streams_its_reference_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As botocore's wheels: gzip'd JSON whose streams no zlib setting writes, a new gzip header in
    every release, few files changed. The reconstructor's slow analysis is paid on those few only."""
    rng = random.Random(3)
    docs = {f"pkg/data/s{d}.json": {f"Op{i}": f"text {rng.random()}" for i in range(1500)} for d in range(5)}
    paths = []
    for release in range(2):
        for op in range(0, 1500, 7):  # enough changes for the plain delta to be the larger
            docs["pkg/data/s0.json"][f"Op{op}"] = f"changed in {release}: {rng.random()}"
        path = tmp_path / f"pkg-1.{release}-py3-none-any.whl"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, doc in docs.items():
                data = _flushed_gzip(json.dumps(doc, indent=1).encode(), mtime=release + 1)
                z.writestr(zipfile.ZipInfo(name + ".gz", (2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
        paths.append(path)
    analysed: list[int] = []
    real_analyse = reconstruct.analyse

    def analyse(deflated: bytes, decoded: bytes) -> reconstruct.ReconstructParams | None:
        analysed.append(len(decoded))
        return real_analyse(deflated, decoded)

    monkeypatch.setattr(reconstruct, "analyse", analyse)
    monkeypatch.setattr(memo, "CHOICES", memo.ChoicesMemo())  # nothing analysed before in this process
    store = MemoryStorage()
    service = make_service(store)
    service.put(paths[0], SPACE)
    summary = service.put(paths[1], SPACE)

    assert summary.transform == "zip"
    assert analysed == [len(json.dumps(docs["pkg/data/s0.json"], indent=1).encode())]
    got = service.get(ObjectKey("b", f"rel/{paths[1].name}"), tmp_path / "out")
    assert got.reconstructed and sha256(tmp_path / "out") == sha256(paths[1])
