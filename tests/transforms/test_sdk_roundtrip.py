"""Through the client: random trees packed as tar.gz and zip, two related versions, come back byte for
byte; a transformed object that was damaged is refused, leaving nothing at the destination."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import struct
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from support.examples import examples

from deltaglider.errors import DeltaGliderError
from deltaglider.transforms import body
from transforms.helpers import sample_text
from transforms.producers import BUCKET, local_client, object_path, producer, write_tree

FOLDER = f"s3://{BUCKET}/app/"

# -- random trees, and a second version of each -----------------------------------------------------

_names = st.text(alphabet="abcdefgh_-.", min_size=1, max_size=10).filter(lambda n: n not in {".", ".."})
_content = st.one_of(
    st.binary(max_size=20_000),
    st.builds(lambda n, s: sample_text(n, seed=s), st.integers(0, 20_000), st.binary(max_size=4)),
    st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=8), st.integers(0, 2_500)),
)
Tree = dict[str, bytes]


@st.composite
def _tree(draw: st.DrawFn) -> Tree:
    # Members share contents from a small pool: duplicate files are common in real trees.
    pool = draw(st.lists(_content, min_size=1, max_size=4))
    names = draw(st.lists(st.lists(_names, min_size=1, max_size=3).map("/".join), max_size=8, unique=True))
    return {name: pool[draw(st.integers(0, len(pool) - 1))] for name in names}


@st.composite
def _versions(draw: st.DrawFn) -> tuple[Tree, Tree]:
    """A tree and its next release: some members edited in place, maybe one added, maybe one gone."""
    v1 = draw(_tree())
    v2 = dict(v1)
    for name in draw(st.lists(st.sampled_from(sorted(v1)), max_size=3, unique=True)) if v1 else []:
        data = v2[name]
        at = draw(st.integers(0, len(data)))
        cut = draw(st.integers(0, min(64, len(data) - at)))
        v2[name] = data[:at] + draw(st.binary(max_size=64)) + data[at + cut :]
    if draw(st.booleans()):
        v2[draw(_names) + ".new"] = draw(_content)
    if draw(st.booleans()) and v1:
        del v2[draw(st.sampled_from(sorted(v1)))]
    return v1, v2


_mtimes = st.integers(0, 2**32 - 1)
_zip_methods = st.sampled_from(
    [(zipfile.ZIP_STORED, None), *((zipfile.ZIP_DEFLATED, level) for level in (1, 3, 6, 9))]
)


def _tar_gz(tree: Tree, level: int, mtime: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in tree.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(content), mtime
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buf.getvalue(), compresslevel=level, mtime=mtime)


def _zip(tree: Tree, methods: list[tuple[int, int | None]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i, (name, content) in enumerate(tree.items()):
            method, level = methods[i % len(methods)]
            z.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), content, method, level)
    return buf.getvalue()


def _store_and_fetch(files: dict[str, bytes]) -> list[str | None]:
    """Uploads ``files`` in order into one DeltaSpace, downloads and verifies each; the transforms used."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        client = local_client(root)
        (root / "in").mkdir()
        used = []
        for name, data in files.items():
            (root / "in" / name).write_bytes(data)
            # No ratio cap: a delta of a tiny archive rarely pays, and every delta is what is tested.
            used.append(client.upload(root / "in" / name, FOLDER, max_ratio=1.0).transform)
        for name, data in files.items():
            got = client.download(FOLDER + name, root / "out" / name)
            assert Path(got.path).read_bytes() == data, name
            assert client.verify(FOLDER + name), name
        event(f"second version stored with transform {used[-1]}")
        return used


def _check_tar_gz(versions: tuple[Tree, Tree], levels: tuple[int, int], mtimes: tuple[int, int]) -> None:
    files = {f"t-{i}.tar.gz": _tar_gz(tree, levels[i], mtimes[i]) for i, tree in enumerate(versions)}
    assert set(_store_and_fetch(files)) <= {None, "gzip"}


def _check_zip(versions: tuple[Tree, Tree], methods: list[tuple[int, int | None]]) -> None:
    files = {f"t-{i}.zip": _zip(tree, methods) for i, tree in enumerate(versions)}
    assert set(_store_and_fetch(files)) <= {None, "zip"}


_fast = settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
_long = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_levels = st.tuples(st.integers(1, 9), st.integers(1, 9))
_mtime_pairs = st.tuples(_mtimes, _mtimes)
_method_lists = st.lists(_zip_methods, min_size=1, max_size=8)


@_fast
@given(_versions(), _levels, _mtime_pairs)
def test_tar_gz_versions_round_trip(
    versions: tuple[Tree, Tree], levels: tuple[int, int], mtimes: tuple[int, int]
) -> None:
    _check_tar_gz(versions, levels, mtimes)


@_fast
@given(_versions(), _method_lists)
def test_zip_versions_round_trip(versions: tuple[Tree, Tree], methods: list[tuple[int, int | None]]) -> None:
    _check_zip(versions, methods)


@pytest.mark.slow
@_long
@given(_versions(), _levels, _mtime_pairs)
def test_tar_gz_versions_round_trip_long(
    versions: tuple[Tree, Tree], levels: tuple[int, int], mtimes: tuple[int, int]
) -> None:
    _check_tar_gz(versions, levels, mtimes)


@pytest.mark.slow
@_long
@given(_versions(), _method_lists)
def test_zip_versions_round_trip_long(
    versions: tuple[Tree, Tree], methods: list[tuple[int, int | None]]
) -> None:
    _check_zip(versions, methods)


# -- damaged transformed objects -------------------------------------------------------------------


def _recipe_span(data: bytes) -> tuple[int, int]:
    (size,) = struct.unpack("<I", data[4:8])
    return 8, 8 + size


def _flip(at: Callable[[bytes], int]) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        out = bytearray(data)
        out[at(data)] ^= 0x41
        return bytes(out)

    return damage


_BODY_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "recipe-first-byte": _flip(lambda d: _recipe_span(d)[0]),
    "recipe-middle-byte": _flip(lambda d: sum(_recipe_span(d)) // 2),
    "recipe-last-byte": _flip(lambda d: _recipe_span(d)[1] - 1),
    "delta-byte": _flip(lambda d: (_recipe_span(d)[1] + len(d)) // 2),
    "magic": lambda d: b"DGTX" + d[4:],
    "header-cut-in-length": lambda d: d[:6],
    "header-cut-in-recipe": lambda d: d[: _recipe_span(d)[1] - 1],
    "no-delta-after-header": lambda d: d[: _recipe_span(d)[1]],
    "recipe-length-too-long": lambda d: d[:4] + struct.pack("<I", len(d)) + d[8:],
    "recipe-length-too-short": lambda d: d[:4] + struct.pack("<I", _recipe_span(d)[1] - 9) + d[8:],
}

_METADATA_DAMAGE: dict[str, Callable[[dict[str, str]], object]] = {
    "base-sha-wrong": lambda m: m.update({"dg-base-sha256": "0" * 64}),
    "base-sha-flipped": lambda m: m.update({"dg-base-sha256": m["dg-base-sha256"][::-1]}),
    "base-sha-not-hex": lambda m: m.update({"dg-base-sha256": "not a hash"}),
    "transform-unknown": lambda m: m.update({"dg-transform": "rar"}),
    "transform-removed": lambda m: m.pop("dg-transform"),
    "base-format-unknown": lambda m: m.update({"dg-base-format": "inflated-v0"}),
    "base-format-removed": lambda m: m.pop("dg-base-format"),
}


def _sidecar(root: Path, key: str) -> Path:
    path = object_path(root, key)
    return path.parent / ".dg-meta" / (path.name + ".json")


@pytest.fixture(scope="module", params=["py-zip-deflate-6", "py-tarfile-gz"])
def pristine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A DeltaSpace holding two versions, the second stored transformed: (store root, its key)."""
    root = tmp_path_factory.mktemp(request.param)
    made_by = producer(request.param)
    made = root / "made"
    client = local_client(root)
    for version in (1, 2):
        summary = client.upload(made_by.make(write_tree(made, version), made, version), FOLDER)
    assert summary.transform is not None, summary
    return root, summary.key


@pytest.fixture
def transformed(pristine: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A copy of ``pristine`` (store and cache) that a test may damage."""
    root, key = pristine
    for part in ("store", "cache"):
        shutil.copytree(root / part, tmp_path / part, symlinks=True)
    return tmp_path, key


def _assert_refused(root: Path, key: str) -> None:
    client = local_client(root)
    url = FOLDER + key.removeprefix("app/").removesuffix(".delta")
    out = root / "out"
    out.mkdir()
    with pytest.raises(DeltaGliderError):
        client.download(url, out / "restored")
    assert list(out.iterdir()) == []
    assert not client.verify(url)


@pytest.mark.parametrize("damage", list(_BODY_DAMAGE), ids=list(_BODY_DAMAGE))
def test_a_damaged_body_is_refused(transformed: tuple[Path, str], damage: str) -> None:
    root, key = transformed
    path = object_path(root, key)
    data = path.read_bytes()
    assert data.startswith(body.MAGIC)
    path.write_bytes(_BODY_DAMAGE[damage](data))
    _assert_refused(root, key)


@pytest.mark.parametrize("damage", list(_METADATA_DAMAGE), ids=list(_METADATA_DAMAGE))
def test_damaged_metadata_is_refused(transformed: tuple[Path, str], damage: str) -> None:
    root, key = transformed
    sidecar = _sidecar(root, key)
    meta = json.loads(sidecar.read_text())
    _METADATA_DAMAGE[damage](meta)
    sidecar.write_text(json.dumps(meta))
    _assert_refused(root, key)
