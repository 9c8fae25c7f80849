"""Archives inside archives: gzip'd files in a wheel, jars in a war, a .deb's tar.gz; each nested
container is decoded again when a stream inside it reproduces, and rebuilt byte for byte."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltaglider.errors import RecipeError
from deltaglider.transforms import (
    DeflateParams,
    Recipe,
    Segment,
    default_compressor,
    encode_container,
    pack,
    rebuild,
    unpack,
)
from deltaglider.transforms import builder as builder_module
from deltaglider.transforms import container as container_module
from deltaglider.transforms import memo as memo_module
from deltaglider.transforms import recipe as recipe_module
from deltaglider.transforms import reconstruct as reconstruct_module
from deltaglider.transforms.base import derive_base
from deltaglider.transforms.container import check_sizes, decode_all, decoded_limit
from deltaglider.transforms.known import KnownStreams
from deltaglider.transforms.recipe import MAX_DEPTH
from deltaglider.transforms.reconstruct import ReconstructParams
from deltaglider.transforms.reconstruct import name as reconstructor_name
from transforms.helpers import round_trip, sample_text, without_reconstructor


def _json(seed: int, size: int) -> bytes:
    """A botocore-like JSON document: the same keys in every release, values that drift."""
    doc = {
        f"Operation{i}": {"input": f"Shape{i}", "doc": sample_text(60, b"%d-%d" % (seed, i)).decode()}
        for i in range(size // 120)
    }
    return json.dumps(doc, indent=1).encode()


def _zip(path: Path, members: dict[str, bytes], *, level: int = 6) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return path


def _zip_bytes(members: dict[str, bytes], level: int = 6) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return raw.getvalue()


def test_gzip_files_made_by_python_inside_a_wheel_are_decoded_twice(tmp_path: Path) -> None:
    members = {
        f"botocore/data/s{i}/service-2.json.gz": gzip.compress(_json(i, 30_000), mtime=0) for i in range(6)
    }
    members["botocore/__init__.py"] = sample_text(5_000)
    wheel = _zip(tmp_path / "a.whl", members)

    encoded = round_trip(wheel, tmp_path)

    assert encoded is not None
    assert encoded.nests == 6
    recipe = unpack(encoded.recipe)
    assert encoded.recipe[4] == 2 and recipe.depth == 2
    nested = [s.inner for s in recipe.segments if s.inner is not None]
    assert [r.container for r in nested] == ["gzip"] * 6
    # The JSON itself is in the decoded stream, not its gzip'd bytes.
    assert _json(3, 30_000) in (tmp_path / "a.whl.decoded").read_bytes()


def test_without_nesting_the_recipe_is_the_version_one_it_always_was(tmp_path: Path) -> None:
    members = {f"d{i}.json.gz": gzip.compress(_json(i, 20_000), mtime=0) for i in range(3)}
    wheel = _zip(tmp_path / "a.whl", members)

    flat = encode_container(wheel, tmp_path / "flat", nested=False)

    assert flat is not None and flat.nests == 0
    assert flat.recipe[4] == 1 and unpack(flat.recipe).depth == 1
    assert rebuild(tmp_path / "flat", flat.recipe, tmp_path / "out") == wheel.stat().st_size
    assert (tmp_path / "out").read_bytes() == wheel.read_bytes()


@pytest.mark.skipif(shutil.which("gzip") is None, reason="GNU gzip is not installed")
def test_gnu_gzip_members_inside_a_wheel_are_decoded_and_the_large_ones_rebuilt_from_their_choices(
    tmp_path: Path,
) -> None:
    made: dict[str, bytes] = {}
    # GNU gzip -9 on a small file writes what zlib writes; at -6, past ~150 KB, it ends blocks by a
    # rule of its own (see test_reconstruct.py) and only the reconstructor rebuilds it.
    large = sample_text(250_000)
    for i, (flag, data) in enumerate((("-9", _json(0, 3_000)), ("-6", large))):
        src = tmp_path / f"f{i}.json"
        src.write_bytes(data)
        subprocess.run(["gzip", flag, "-n", str(src)], check=True)
        made[f"f{i}.json.gz"] = (tmp_path / f"f{i}.json.gz").read_bytes()
    made["py.json.gz"] = gzip.compress(_json(9, 50_000), mtime=0)
    wheel = _zip(tmp_path / "mixed.whl", made)

    encoded = round_trip(wheel, tmp_path)

    assert encoded is not None
    assert encoded.nests == 3 and encoded.streams_raw == 0
    assert encoded.reconstructed == 1
    recipe = unpack(encoded.recipe)
    (rebuilt,) = [
        inner
        for inner in recipe.walk()
        if inner is not recipe and any(isinstance(s.params, ReconstructParams) for s in inner.segments)
    ]
    assert rebuilt.container == "gzip" and reconstructor_name() in rebuilt.compressor
    # The large member's text is in the decoded stream, not its gzip'd bytes.
    decoded = (tmp_path / "mixed.whl.decoded").read_bytes()
    assert large in decoded and made["f1.json.gz"] not in decoded


def test_jars_inside_a_war_are_decoded_and_their_gzip_members_too(tmp_path: Path) -> None:
    jar = _zip_bytes({f"com/x/C{i}.class": sample_text(8_000, b"c%d" % i) for i in range(5)}, level=9)
    jar_with_gz = _zip_bytes({"data.json.gz": gzip.compress(_json(1, 20_000), mtime=0)})
    war = _zip(
        tmp_path / "app.war",
        {"WEB-INF/lib/a.jar": jar, "WEB-INF/lib/b.jar": jar_with_gz, "index.html": b"<html/>" * 100},
    )

    encoded = round_trip(war, tmp_path)

    assert encoded is not None
    recipe = unpack(encoded.recipe)
    assert recipe.depth == 3  # war > jar > gzip
    assert encoded.nests == 3
    assert [r.container for r in recipe.walk()] == ["zip", "zip", "zip", "gzip"]


def _deb(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """A .deb with a data.tar.gz, made by dpkg-deb when installed, else by ``ar`` and Python's tar."""
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: t\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n"
    )
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    deb = tmp_path / "t.deb"
    if shutil.which("dpkg-deb"):
        subprocess.run(
            ["dpkg-deb", "-Zgzip", "--root-owner-group", "-b", str(root), str(deb)],
            check=True,
            capture_output=True,
        )
        return deb
    if shutil.which("ar") is None:
        pytest.skip("neither dpkg-deb nor ar is installed")
    with tarfile.open(tmp_path / "control.tar.gz", "w:gz") as tar:
        tar.add(root / "DEBIAN", arcname=".")
    with tarfile.open(tmp_path / "data.tar.gz", "w:gz") as tar:
        tar.add(root, arcname=".", filter=lambda i: None if i.name.startswith("./DEBIAN") else i)
    (tmp_path / "debian-binary").write_bytes(b"2.0\n")
    subprocess.run(
        ["ar", "rc", str(deb), "debian-binary", "control.tar.gz", "data.tar.gz"], check=True, cwd=tmp_path
    )
    return deb


def test_a_deb_with_a_data_tar_gz_round_trips(tmp_path: Path) -> None:
    deb = _deb(tmp_path, {"usr/share/t/a.json": _json(1, 60_000), "usr/share/t/b.txt": sample_text(30_000)})

    encoded = round_trip(deb, tmp_path)

    assert encoded is not None and encoded.streams_decoded >= 1
    assert _json(1, 60_000) in (tmp_path / "t.deb.decoded").read_bytes()


def test_nesting_stops_at_the_depth_limit(tmp_path: Path) -> None:
    data = gzip.compress(_json(0, 20_000), mtime=0)
    for level in range(4):
        data = _zip_bytes({f"level{level}.zip" if level else "x.json.gz": data})
    path = tmp_path / "deep.zip"
    path.write_bytes(data)

    encoded = round_trip(path, tmp_path)

    assert encoded is not None
    assert unpack(encoded.recipe).depth == MAX_DEPTH
    assert encoded.nests == MAX_DEPTH - 1


def _nest(levels: int) -> Recipe:
    recipe = Recipe(
        "gzip", default_compressor().name, (Segment(10), Segment(100, DeflateParams(9), 20), Segment(8))
    )
    for _ in range(levels):
        inner = recipe
        recipe = Recipe(
            "zip",
            default_compressor().name,
            (Segment(30), Segment(inner.decoded_size, DeflateParams(6), 25, inner), Segment(22)),
        )
    return recipe


def test_nested_recipes_pack_and_unpack_and_too_deep_ones_are_refused() -> None:
    ok = _nest(MAX_DEPTH - 1)
    assert unpack(pack(ok)) == ok and pack(ok)[4] == 2
    with pytest.raises(ValueError, match="nests at most"):
        pack(_nest(MAX_DEPTH))
    with pytest.raises(RecipeError):
        unpack(pack(ok)[:-3])
    with pytest.raises(RecipeError, match="version"):
        unpack(b"DGTR\x03" + pack(ok)[5:])


def test_a_recipe_nesting_deeper_than_the_limit_is_refused_when_read() -> None:
    # What a foreign or damaged writer could store: pack() itself refuses to write it.
    with pytest.raises(RecipeError, match="nests more than"):
        unpack(_v2(_layout(_nest(MAX_DEPTH))))
    # A nesting prefix in a version 1 recipe is no segment kind of that version.
    with pytest.raises(RecipeError, match="unknown segment kind 16"):
        unpack(b"DGTR\x01" + _layout(_nest(1)))


def test_a_version_two_recipe_is_compressed_and_its_damage_refused() -> None:
    recipe = _nest(2)
    data = pack(recipe)
    assert len(data) < 5 + len(_layout(recipe))
    for bad in (data[:-2], data + b"\0", data[:5] + b"\xff" + data[6:]):
        with pytest.raises(RecipeError):
            unpack(bad)
    # A layout that inflates past any recipe's size is refused without inflating it all.
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    with pytest.raises(RecipeError, match="larger than any recipe"):
        unpack(b"DGTR\x02" + bomb.compress(b"\0" * (recipe_module.MAX_BODY + 1)) + bomb.flush())


def _v2(body: bytes) -> bytes:
    """A version 2 recipe around a layout made by hand (pack() writes only what it may)."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    return b"DGTR\x02" + deflater.compress(body) + deflater.flush()


def _layout(recipe: Recipe) -> bytes:
    out = bytearray()
    recipe_module._pack_body(recipe, out)
    return bytes(out)


def test_a_nested_recipe_must_rebuild_the_size_its_segment_takes() -> None:
    recipe = _nest(1)
    data = _layout(recipe)
    assert unpack(_v2(data)) == recipe
    # The outer deflate segment's input size (the inner original, 38) made 39.
    bad = _v2(data.replace(b"\x01\x26\x19", b"\x01\x27\x19"))
    assert bad != data
    with pytest.raises(RecipeError, match="another size"):
        unpack(bad)


def test_check_sizes_bounds_every_level_and_the_whole_tree() -> None:
    inner = Recipe("gzip", "z", (Segment(10), Segment(10_000_000, DeflateParams(9), 20), Segment(8)))
    outer = Recipe(
        "zip", "z", (Segment(30), Segment(inner.decoded_size, DeflateParams(6), 1000, inner), Segment(22))
    )
    with pytest.raises(RecipeError, match="more than its compression format"):
        check_sizes(outer, None)
    fine_inner = Recipe("gzip", "z", (Segment(10), Segment(20_000, DeflateParams(9), 20), Segment(8)))
    fine = Recipe(
        "zip",
        "z",
        (Segment(30), Segment(fine_inner.decoded_size, DeflateParams(6), 30, fine_inner), Segment(22)),
    )
    check_sizes(fine, fine.original_size)
    huge = Recipe("gzip", "z", tuple(Segment(1_000_000, DeflateParams(9), 1000) for _ in range(200)))
    wide = Recipe("zip", "z", (Segment(huge.decoded_size, DeflateParams(6), 200_000, huge),))
    assert wide.decoded_size > decoded_limit(wide.original_size)
    with pytest.raises(RecipeError, match="more than any"):
        check_sizes(wide, None)


def test_a_zip_of_gzip_bombs_is_cut_by_one_bound_for_the_whole_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container_module, "EXPANSION_ALLOWANCE", 1 << 20)
    bomb = gzip.compress(b"\0" * (8 << 20), compresslevel=9, mtime=0)
    members = {"readme.txt": sample_text(20_000), **{f"b{i}.gz": bomb for i in range(24)}}
    path = _zip(tmp_path / "bombs.zip", members, level=9)
    limit = decoded_limit(path.stat().st_size)
    spent: list[int] = []
    real_spend = builder_module.Work.spend

    def spend(self: builder_module.Work, size: int) -> bool:
        ok = real_spend(self, size)
        spent.append(self.spent)
        return ok

    monkeypatch.setattr(builder_module.Work, "spend", spend)

    encoded = round_trip(path, tmp_path)
    inflated = max(spent)
    spent.clear()
    streams = decode_all(path, tmp_path / "all")

    assert encoded is not None and encoded.decoded_size <= limit
    assert encoded.nests == 0  # a bomb that cannot be decoded inside stays raw, outer stream and all
    assert (tmp_path / "all").stat().st_size <= limit and streams >= 1
    # Each bomb would fill what is left of the limit again; the tree stops at its work bound.
    assert inflated <= builder_module.WORK_PER_DECODED * limit + (1 << 18)
    assert max(spent) <= builder_module.WORK_PER_DECODED * limit + (1 << 18)


def test_the_base_of_each_format_follows_its_own_rules(tmp_path: Path) -> None:
    wheel = _zip(
        tmp_path / "a.whl", {f"d{i}.json.gz": gzip.compress(_json(i, 20_000), mtime=0) for i in range(3)}
    )

    for fmt in ("inflated-v1", "inflated-v2", "inflated-v3"):
        assert derive_base(wheel, tmp_path / fmt, fmt)
    v1, v2, v3 = ((tmp_path / f).read_bytes() for f in ("inflated-v1", "inflated-v2", "inflated-v3"))

    # Only inflated-v3 lays the gzip'd files out again: the older formats keep them as they decoded once.
    assert _json(1, 20_000) in v3 and _json(1, 20_000) not in v1
    assert v1 == v2 and gzip.compress(_json(1, 20_000), mtime=0) in v2
    assert derive_base(wheel, tmp_path / "again", "inflated-v3") and (tmp_path / "again").read_bytes() == v3
    with pytest.raises(ValueError, match="unknown base format"):
        derive_base(wheel, tmp_path / "v9", "inflated-v9")


def test_a_version_one_recipe_written_before_nesting_still_rebuilds(tmp_path: Path) -> None:
    """The bytes below are laid out by hand as version 1 wrote them, for a zip holding a gzip'd file."""
    inner = gzip.compress(_json(5, 20_000), compresslevel=9, mtime=0)
    wheel = _zip(tmp_path / "old.whl", {"a.json.gz": inner}, level=9)
    data = wheel.read_bytes()
    local_end = 30 + len("a.json.gz")
    info = zipfile.ZipFile(wheel).getinfo("a.json.gz")
    name = default_compressor().name.encode()

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n >> 7 else 0))
            n >>= 7
            if not n:
                return bytes(out)

    tail = len(data) - local_end - info.compress_size
    old = (
        b"DGTR\x01"
        + b"\x03zip"
        + bytes([len(name)])
        + name
        + varint(len(data))
        + b"\x03"
        + b"\x00"
        + varint(local_end)
        + b"\x01"
        + varint(len(inner))
        + varint(info.compress_size)
        + bytes((9, 15, 8, 0))
        + b"\x00"
        + varint(tail)
    )
    decoded = tmp_path / "old.decoded"
    decoded.write_bytes(data[:local_end] + inner + data[local_end + info.compress_size :])

    assert unpack(old).depth == 1
    assert rebuild(decoded, old, tmp_path / "out") == len(data)
    assert (tmp_path / "out").read_bytes() == data


# A random tree: a leaf of bytes, a gzip of a tree, or a zip of named trees.
_leaf = st.binary(max_size=3_000) | st.integers(0, 1 << 20).map(
    lambda s: sample_text(2_000 + s % 20_000, b"%d" % s)
)


def _build(node: object) -> bytes:
    if isinstance(node, bytes):
        return node
    assert isinstance(node, tuple)
    kind: str = node[0]
    level: int = node[1]
    children: list[object] = node[2]
    if kind == "gzip":
        return gzip.compress(_build(children[0]), compresslevel=level, mtime=0)
    return _zip_bytes({f"m{i}": _build(c) for i, c in enumerate(children)}, level=level)


_tree = st.recursive(
    _leaf,
    lambda kids: st.tuples(
        st.sampled_from(["gzip", "zip"]), st.integers(1, 9), st.lists(kids, min_size=1, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=_tree)
def test_random_trees_round_trip(tree: object, tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("tree")
    path = tmp / "t.bin"
    path.write_bytes(_build(tree))

    encoded = round_trip(path, tmp)

    if encoded is not None:
        recipe = unpack(encoded.recipe)
        assert recipe.depth <= MAX_DEPTH
        assert unpack(pack(recipe)) == recipe
        check_sizes(recipe, path.stat().st_size)
    assert derive_base(path, tmp / "base") == (decode_all(path, tmp / "all") > 0)


def test_a_nested_recipe_made_with_another_compressor_is_refused(tmp_path: Path) -> None:
    wheel = _zip(tmp_path / "a.whl", {"d.json.gz": gzip.compress(_json(1, 20_000), mtime=0)})
    encoded = encode_container(wheel, tmp_path / "dec")
    assert encoded is not None
    recipe = unpack(encoded.recipe)
    segments = tuple(
        dataclasses.replace(s, inner=dataclasses.replace(s.inner, compressor="zlib-ng-2.1"))
        if s.inner is not None
        else s
        for s in recipe.segments
    )
    foreign = pack(dataclasses.replace(recipe, segments=segments))

    with pytest.raises(RecipeError, match="zlib-ng"):
        rebuild(tmp_path / "dec", foreign, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _flushed_gzip(payload: bytes, mtime: int) -> bytes:
    """A gzip file whose stream no zlib setting writes (a flush point in it: only the reconstructor
    rebuilds it), stamped ``mtime`` as GNU gzip stamps each file it compresses."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    half = len(payload) // 2
    stream = c.compress(payload[:half]) + c.flush(zlib.Z_FULL_FLUSH) + c.compress(payload[half:]) + c.flush()
    header = b"\x1f\x8b\x08\x00" + mtime.to_bytes(4, "little") + b"\x00\x03"
    return header + stream + zlib.crc32(payload).to_bytes(4, "little") + len(payload).to_bytes(4, "little")


def _release(path: Path, mtime: int, changed: bytes) -> Path:
    return _zip(
        path,
        {
            "same.json.gz": _flushed_gzip(_json(1, 60_000), mtime),
            "changed.json.gz": _flushed_gzip(changed, mtime),
            "code.py": sample_text(20_000),
        },
    )


def test_a_stream_the_reference_holds_is_kept_raw_and_only_the_changed_one_reconstructed(
    tmp_path: Path,
) -> None:
    old = _release(tmp_path / "old.whl", 1, _json(2, 60_000))
    new = _release(tmp_path / "new.whl", 2, _json(3, 60_000))
    analysed: list[int] = []
    real_analyse = reconstruct_module.analyse

    def analyse(deflated: bytes, decoded: bytes) -> ReconstructParams | None:
        analysed.append(len(decoded))
        return real_analyse(deflated, decoded)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reconstruct_module, "analyse", analyse)
        patch.setattr(memo_module, "CHOICES", memo_module.ChoicesMemo())
        encoded = encode_container(new, tmp_path / "new.decoded", known=KnownStreams(old, tmp_path))

    assert encoded is not None
    # The unchanged file's stream (under a new gzip header) is kept raw, and its member with it; the
    # code, the same compressed bytes as the reference's, too: neither searched nor analysed.
    assert encoded.known_raw == 2 and encoded.reconstructed == 1 and encoded.nests == 1
    assert analysed == [len(_json(3, 60_000))]
    decoded = (tmp_path / "new.decoded").read_bytes()
    assert _json(3, 60_000) in decoded and _json(1, 60_000) not in decoded
    assert rebuild(tmp_path / "new.decoded", encoded.recipe, tmp_path / "out") == new.stat().st_size
    assert (tmp_path / "out").read_bytes() == new.read_bytes()
    # Without a reference every stream is decoded.
    alone = round_trip(new, tmp_path)
    assert alone is not None and alone.known_raw == 0 and alone.reconstructed == 2


def test_streams_of_a_reference_without_a_raw_copy_in_its_base_are_decoded(tmp_path: Path) -> None:
    payload = _json(1, 60_000)
    reference = tmp_path / "old.json.gz"
    reference.write_bytes(_flushed_gzip(payload, 1))
    new = _zip(tmp_path / "new.zip", {"a.json.gz": _flushed_gzip(payload, 2)})

    known = KnownStreams(reference, tmp_path)
    encoded = encode_container(new, tmp_path / "new.decoded", known=known)

    # The gzip file's base is its decoded stream alone: the raw stream kept would be found nowhere.
    assert not known.raw_copy
    assert encoded is not None and encoded.known_raw == 0 and encoded.reconstructed == 1


def test_a_reconstructed_stream_at_any_depth_is_bounded_when_read() -> None:
    name = reconstructor_name()
    fine = ReconstructParams(zlib.compress(b"x"), 1)
    many = ReconstructParams(zlib.compress(b"x"), reconstruct_module.CHOICES_PER_BYTE * 200 + (1 << 16) + 1)
    for params, refusal in ((fine, None), (many, "more choices")):
        inner = Recipe("gzip", name, (Segment(10), Segment(100, params, 100), Segment(8)))
        jar = Recipe(
            "zip",
            default_compressor().name,
            (Segment(30), Segment(inner.decoded_size, DeflateParams(6), 90, inner)),
        )
        war = Recipe(
            "zip",
            default_compressor().name,
            (Segment(jar.decoded_size, DeflateParams(6), 80, jar), Segment(22)),
        )
        assert war.depth == MAX_DEPTH
        if refusal is None:
            assert unpack(pack(war)) == war
            check_sizes(war, war.original_size)
        else:
            with pytest.raises(RecipeError, match=refusal):
                unpack(pack(war))
    # A reconstructed stream claiming more than the reconstructor takes, two containers down.
    huge = reconstruct_module.MAX_DECODED + 1
    inner = Recipe("gzip", name, (Segment(huge, fine, huge // 1000),))
    outer = Recipe("zip", default_compressor().name, (Segment(huge, DeflateParams(6), huge // 900, inner),))
    with pytest.raises(RecipeError, match="past the limit"):
        unpack(pack(outer))


class _FlushingDeflater:
    """A raw deflater with a flush point after each piece it takes: no zlib setting writes that."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(6, zlib.DEFLATED, -15)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data) + self._z.flush(zlib.Z_FULL_FLUSH)

    def flush(self) -> bytes:
        return self._z.flush()


def _zip_by(path: Path, members: list[tuple[str, bytes, object]], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A zip whose members' deflaters are the ones given, in order."""
    makers = [maker for _, _, maker in members]
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "_get_compressor", lambda *_: makers.pop(0)())
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data, _ in members:
                z.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return path


def test_members_kept_raw_as_the_reference_holds_them_do_not_cut_the_search_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_reconstructor(monkeypatch)
    rare = DeflateParams(6, 15, 7)  # tried only by the full search

    def zlib_at(params: DeflateParams) -> object:
        return lambda: zlib.compressobj(params.level, zlib.DEFLATED, -15, params.mem_level)

    def release(path: Path, changed: bytes) -> Path:
        same = [(f"k{i}.txt", sample_text(8_000, b"k%d" % i), zlib_at(DeflateParams(6))) for i in range(4)]
        odd = ("odd.txt", changed[:8_000], _FlushingDeflater)
        return _zip_by(path, [*same, odd, ("changed.txt", changed, zlib_at(rare))], monkeypatch)

    old = release(tmp_path / "old.zip", sample_text(200_000, b"v1"))
    new = release(tmp_path / "new.zip", sample_text(200_000, b"v2"))

    encoded = encode_container(new, tmp_path / "new.decoded", known=KnownStreams(old, tmp_path))

    # Four members kept raw as the reference holds them, one that nothing reproduces: the changed
    # member after them is still searched through the rarer settings.
    assert encoded is not None and encoded.known_raw == 4 and encoded.streams_raw == 5
    assert [s.params for s in unpack(encoded.recipe).segments if s.params] == [rare]


def test_a_stream_analysed_once_in_a_process_is_not_analysed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    analysed: list[int] = []
    real_analyse = reconstruct_module.analyse

    def analyse(deflated: bytes, decoded: bytes) -> ReconstructParams | None:
        analysed.append(len(decoded))
        return real_analyse(deflated, decoded)

    monkeypatch.setattr(reconstruct_module, "analyse", analyse)
    monkeypatch.setattr(memo_module, "CHOICES", memo_module.ChoicesMemo())
    # Two releases sharing one stream no zlib setting writes (under new gzip headers), and one each of
    # their own.
    shared = _json(4, 40_000)
    first = _zip(
        tmp_path / "a.zip", {"s.gz": _flushed_gzip(shared, 1), "x.gz": _flushed_gzip(_json(5, 9_000), 1)}
    )
    second = _zip(
        tmp_path / "b.zip", {"s.gz": _flushed_gzip(shared, 2), "x.gz": _flushed_gzip(_json(6, 9_000), 2)}
    )

    assert round_trip(first, tmp_path) is not None
    again = round_trip(second, tmp_path)

    # Every stream rebuilt from its choices, the shared one analysed once: the second time its choices
    # came from the memo, and they rebuild it (round_trip compares the bytes).
    assert again is not None and again.reconstructed == 2
    assert sorted(analysed) == sorted([len(shared), len(_json(5, 9_000)), len(_json(6, 9_000))])


def test_the_memo_holds_at_most_its_limit_dropping_the_oldest() -> None:
    held = memo_module.ChoicesMemo(limit=250)
    choices = [ReconstructParams(bytes([i]) * 100, 1) for i in range(3)]
    for i, params in enumerate(choices):
        held.remember(b"k%d" % i, params)

    assert held.get(b"k0") is None
    assert held.get(b"k1") == choices[1] and held.get(b"k2") == choices[2]
    held.remember(b"big", ReconstructParams(b"x" * 251, 1))  # larger than the whole memo: not kept
    assert held.get(b"big") is None and held.get(b"k2") == choices[2]
