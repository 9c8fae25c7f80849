"""zstd frames (.zst, .tar.zst, zstd members of a .deb, a .conda's stored .tar.zst members): decoded
and rebuilt byte for byte by the pinned libzstd, or declined cleanly, within the size limits."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from deltaglider._native.zstd import PinnedZstd, ZstdFrameDecoder
from deltaglider.errors import DecodeError, RecipeError
from deltaglider.transforms import Recipe, Segment, encode_container, pack, unpack
from deltaglider.transforms.base import derive_base
from deltaglider.transforms.container import check_sizes, decode_all, decoded_limit
from deltaglider.transforms.probe import may_decode
from deltaglider.transforms.zstd_frame import MAX_EXPANSION, ZstdParams, parse_header
from transforms.helpers import disk_cap, round_trip, sample_text, tar_bytes

ZSTD = shutil.which("zstd")
needs_zstd = pytest.mark.skipif(ZSTD is None, reason="the zstd command is not installed")
COMPRESSOR = "zstd-1.5.4"

#: ``sample_text(300_000)`` as one frame of the vendored zstd 1.5.4: a recipe stored today is rebuilt
#: with this encoder years from now, so its output must not change.
FINGERPRINTS = [
    (3, True, 58011, "5fc0b364c198ac4c43887dfa2ffd80d4ba872d690be85b2442fc77884a4aeedd"),
    (19, False, 44923, "ef651d48dea70d1bd7b226b7d6751b7b7a320e99a36933f86ae81579dd3a69b2"),
]


def _zstd_version() -> str:
    out = subprocess.run([str(ZSTD), "--version"], check=True, capture_output=True, text=True).stdout
    return out.split(" v", 1)[1].split(",")[0].strip()


def _payload(size: int = 600_000, seed: bytes = b"zstd") -> bytes:
    return sample_text(size, seed)


def _cli(data: bytes, flags: list[str], tmp: Path, *, pipe: bool) -> Path:
    """``data`` compressed by the zstd tool: from a file (its size known and recorded) or a pipe."""
    src = tmp / "payload"
    src.write_bytes(data)
    out = tmp / "payload.zst"
    if pipe:
        made = subprocess.run([str(ZSTD), "-q", "-c", *flags], input=data, check=True, capture_output=True)
        out.write_bytes(made.stdout)
    else:
        subprocess.run([str(ZSTD), "-q", "-f", *flags, str(src), "-o", str(out)], check=True)
    return out


def _frame(data: bytes, level: int = 3, **kwargs: object) -> bytes:
    encoder = PinnedZstd(level, **kwargs)  # type: ignore[arg-type]
    return encoder.compress(data) + encoder.flush()


@pytest.mark.parametrize(("level", "pledged", "size", "sha256"), FINGERPRINTS)
def test_the_pinned_zstd_encoder_never_changes(level: int, pledged: bool, size: int, sha256: str) -> None:
    data = sample_text(300_000)
    out = _frame(data, level, pledged_size=len(data) if pledged else None)
    assert (len(out), hashlib.sha256(out).hexdigest()) == (size, sha256)


@needs_zstd
@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
@pytest.mark.parametrize(
    "flags",
    [["-1"], ["-3"], ["-19"], ["--long"], ["-T0"], ["--fast=3"], ["-3", "--no-check"]],
    ids=" ".join,
)
def test_zstd_command_frames_rebuild(tmp_path: Path, flags: list[str], pipe: bool) -> None:
    if _zstd_version() != "1.5.4":
        pytest.skip("only the zstd tool of the vendored release is known to reproduce")
    path = _cli(_payload(), flags, tmp_path, pipe=pipe)
    encoded = round_trip(path, tmp_path)
    assert encoded is not None, "the zstd tool's frame did not reproduce"
    assert (encoded.container, encoded.streams_decoded, encoded.streams_raw) == ("zstd", 1, 0)
    assert encoded.decoded_size == len(_payload())
    assert unpack(encoded.recipe).compressor == COMPRESSOR
    assert may_decode(path)


@needs_zstd
@pytest.mark.slow
def test_a_frame_past_one_job_needs_the_worker_threads(tmp_path: Path) -> None:
    """Past one job (8 MiB at -3) the tool's threaded frame differs from a single-threaded one."""
    if _zstd_version() != "1.5.4":
        pytest.skip("only the zstd tool of the vendored release is known to reproduce")
    data = _payload(10 << 20)
    path = _cli(data, ["-3", "-T0"], tmp_path, pipe=True)
    assert _frame(data, workers=0) != path.read_bytes()
    encoded = round_trip(path, tmp_path)
    assert encoded is not None
    params = unpack(encoded.recipe).segments[0].params
    assert isinstance(params, ZstdParams) and params.multithreaded


def test_a_single_threaded_library_frame_past_one_job_rebuilds(tmp_path: Path) -> None:
    data = _payload(9 << 20, b"st")
    path = tmp_path / "lib.zst"
    path.write_bytes(_frame(data, 1, workers=0))
    encoded = round_trip(path, tmp_path)
    assert encoded is not None
    params = unpack(encoded.recipe).segments[0].params
    assert isinstance(params, ZstdParams) and not params.multithreaded and params.level == 1


@needs_zstd
@pytest.mark.skipif(shutil.which("tar") is None, reason="tar is not installed")
def test_tar_zstd(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_bytes(_payload(300_000))
    (tree / "b.py").write_bytes(sample_text(200_000, b"b"))
    path = tmp_path / "tree.tar.zst"
    subprocess.run(["tar", "--zstd", "-cf", str(path), "-C", str(tmp_path), "tree"], check=True)
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and encoded.streams_decoded == 1


def test_several_frames_and_skippable_frames(tmp_path: Path) -> None:
    one, two = _payload(200_000, b"1"), _payload(150_000, b"2")
    skippable = b"\x5a\x2a\x4d\x18" + (5).to_bytes(4, "little") + b"12345"
    path = tmp_path / "many.zst"
    path.write_bytes(_frame(one, 3) + skippable + _frame(two, 19, pledged_size=len(two)))
    encoded = round_trip(path, tmp_path)
    assert encoded is not None
    assert (encoded.streams_decoded, encoded.streams_raw) == (2, 0)
    levels = [s.params.level for s in unpack(encoded.recipe).segments if isinstance(s.params, ZstdParams)]
    assert levels == [3, 19]


@pytest.mark.skipif(shutil.which("pzstd") is None, reason="pzstd is not installed")
def test_pzstd_output_round_trips_or_is_declined(tmp_path: Path) -> None:
    src = tmp_path / "payload"
    src.write_bytes(_payload(3 << 20))
    path = tmp_path / "payload.zst"
    subprocess.run(["pzstd", "-q", "-p", "2", "-3", str(src), "-o", str(path)], check=True)
    round_trip(path, tmp_path)  # declined (None) or byte-exact: round_trip asserts which


def test_a_frame_nothing_reproduces_is_declined(tmp_path: Path) -> None:
    """Settings the tool's levels never pick (a hash table of 2^12 at -3, by ``--zstd=hlog=12``)."""
    data = _payload(300_000)
    path = tmp_path / "odd.zst"
    if ZSTD is not None:
        path = _cli(data, ["-3", "--zstd=hlog=12"], tmp_path, pipe=False)
    else:
        pytest.skip("the zstd command is not installed")
    assert not may_decode(path)
    assert round_trip(path, tmp_path) is None
    assert not (tmp_path / (path.name + ".decoded")).exists()


@pytest.mark.parametrize("where", ["header", "block", "checksum", "truncated"])
def test_damaged_frames_are_declined_or_rebuilt_exactly(tmp_path: Path, where: str) -> None:
    data = bytearray(_frame(_payload(200_000), 3, pledged_size=200_000))
    if where == "truncated":
        del data[len(data) // 2 :]
    else:
        at = {"header": 4, "block": len(data) // 2, "checksum": len(data) - 2}[where]
        data[at] ^= 0x55
    path = tmp_path / "a.zst"
    path.write_bytes(bytes(data))
    assert round_trip(path, tmp_path) is None


def _rle_bomb(blocks: int, content_size: int | None) -> bytes:
    """A valid frame of ``blocks`` RLE blocks of 128 KiB each, 4 bytes apiece."""
    if content_size is None:
        header = b"\x28\xb5\x2f\xfd" + bytes([0x00, 0x88])  # no content size, a 2^27 window
    else:
        header = b"\x28\xb5\x2f\xfd" + bytes([0xC0, 0x88]) + content_size.to_bytes(8, "little")
    block = ((128 << 10) << 3) | (1 << 1)
    body = b"".join(
        (block | (1 if i == blocks - 1 else 0)).to_bytes(3, "little") + b"A" for i in range(blocks)
    )
    return header + body


def test_a_zstd_bomb_stays_raw(tmp_path: Path) -> None:
    """4 KB that decode to 128 MiB: past what any 4 KB container is decoded to (64 MiB and 64x)."""
    bomb = _rle_bomb(1024, None)
    decoder = ZstdFrameDecoder()
    out, _ = decoder.feed(bomb[:4096], 1000)
    assert out == b"A" * 1000  # it is a real frame
    path = tmp_path / "bomb.zst"
    path.write_bytes(bomb)
    # Decoding stops at the limit: it never writes past it (the kernel would refuse the write).
    with disk_cap(decoded_limit(len(bomb)) + (1 << 20)):
        assert encode_container(path, tmp_path / "decoded") is None
        assert decode_all(path, tmp_path / "base") == 0
    assert not (tmp_path / "decoded").exists() and not (tmp_path / "base").exists()


def test_a_frame_claiming_a_huge_size_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "claims.zst"
    path.write_bytes(_rle_bomb(2, 1 << 40))
    assert encode_container(path, tmp_path / "decoded") is None


def test_a_frame_asking_for_a_window_past_the_limit_is_refused() -> None:
    header = b"\x28\xb5\x2f\xfd" + bytes([0x00, (30 - 10) << 3])  # a 1 GiB window
    with pytest.raises(DecodeError):
        ZstdFrameDecoder().feed(header + (1).to_bytes(3, "little"))


def test_a_recipe_claiming_more_than_zstd_expands_to_is_refused() -> None:
    params = ZstdParams(3, pledged_size=None)
    greedy = Recipe("zstd", COMPRESSOR, (Segment(100 * MAX_EXPANSION + 1, params, 100),))
    with pytest.raises(RecipeError, match="more than its compression format ever expands"):
        check_sizes(unpack(pack(greedy)), None)


def _deb(tmp: Path, version: str) -> Path:
    root = tmp / f"pkg{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: demo\nVersion: {version}\nArchitecture: all\nMaintainer: x <x@example.org>\n"
        "Description: demo\n"
    )
    (root / "usr" / "share" / "demo").mkdir(parents=True)
    (root / "usr" / "share" / "demo" / "data.txt").write_bytes(_payload(500_000, version.encode()))
    path = tmp / f"demo_{version}.deb"
    subprocess.run(
        ["dpkg-deb", "-Zzstd", "--root-owner-group", "--build", str(root), str(path)],
        check=True,
        capture_output=True,
    )
    return path


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
def test_a_deb_with_zstd_members(tmp_path: Path) -> None:
    path = _deb(tmp_path, "1.0")
    with open(path, "rb") as f:
        assert b"data.tar.zst" in f.read(4096)
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and encoded.container == "ar"
    assert encoded.streams_decoded == 2  # control.tar.zst and data.tar.zst
    assert unpack(encoded.recipe).compressor == COMPRESSOR


def _conda(path: Path, version: bytes) -> Path:
    """A .conda package: a zip of stored members, two of them .tar.zst (zstd -19 as conda writes)."""
    pkg = tar_bytes({"lib/python/demo.py": _payload(400_000, version), "bin/tool": sample_text(50_000, b"t")})
    info = tar_bytes({"info/index.json": b'{"name": "demo", "version": "' + version + b'"}'})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("metadata.json", b'{"conda_pkg_format_version": 2}')
        z.writestr(f"pkg-demo-{version.decode()}.tar.zst", _frame(pkg, 19, pledged_size=len(pkg)))
        z.writestr(f"info-demo-{version.decode()}.tar.zst", _frame(info, 19, pledged_size=len(info)))
    return path


def test_a_conda_package_has_its_zstd_members_decoded(tmp_path: Path) -> None:
    path = _conda(tmp_path / "demo-1.0-0.conda", b"1.0")
    encoded = round_trip(path, tmp_path)
    assert encoded is not None and encoded.container == "zip"
    assert (encoded.streams_decoded, encoded.streams_raw) == (2, 0)


@pytest.mark.parametrize(
    "params",
    [
        ZstdParams(3),
        ZstdParams(-5, checksum=False),
        ZstdParams(19, pledged_size=1234, multithreaded=False),
        ZstdParams(3, window_log=27, long_distance=True, pledged_size=1234),
    ],
)
def test_zstd_segments_survive_the_recipe_format(params: ZstdParams) -> None:
    recipe = Recipe("zstd", COMPRESSOR, (Segment(7), Segment(1234, params, 99)))
    assert unpack(pack(recipe)) == recipe


def test_unknown_zstd_flags_are_refused() -> None:
    data = bytearray(pack(Recipe("zstd", COMPRESSOR, (Segment(1234, ZstdParams(3), 99),))))
    data[-1] |= 0x40
    with pytest.raises(RecipeError, match="unknown zstd flags"):
        unpack(bytes(data))


def test_frame_headers() -> None:
    small = parse_header(_frame(b"x" * 1000, 3, pledged_size=1000))
    assert small is not None and small.window_log is None and small.content_size == 1000
    streamed = parse_header(_frame(b"x" * 1000, 19, checksum=False))
    assert streamed is not None and (streamed.window_log, streamed.content_size) == (23, None)
    assert not streamed.checksum
    assert parse_header(b"\x28\xb5\x2f\xfd\x08") is None  # the reserved bit


@needs_zstd
def test_a_second_release_is_stored_as_a_small_delta(tmp_path: Path) -> None:
    """Two similar ``tar --zstd`` releases through the client: the second is stored as the delta of
    its decoded tar, far smaller than the plain delta of the compressed files, and downloads exact."""
    from transforms.producers import BUCKET, local_client, write_tree

    releases = []
    for version in (1, 2):
        tree = write_tree(tmp_path / "trees", version)
        out = tmp_path / f"app-{version}.0.tar.zst"
        subprocess.run(["tar", "--zstd", "-cf", str(out), "-C", str(tree), "pkg"], check=True)
        releases.append(out)
    folder = f"s3://{BUCKET}/app/"
    sizes = {}
    for transforms_on in (True, False):
        root = tmp_path / ("on" if transforms_on else "off")
        client = local_client(root, original_compatible=not transforms_on)
        client.upload(releases[0], folder)
        second = client.upload(releases[1], folder)
        sizes[transforms_on] = second.stored_size
        assert second.transform == ("zstd" if transforms_on else None), second
        got = client.download(folder + releases[1].name, root / "out" / releases[1].name)
        assert Path(got.path).read_bytes() == releases[1].read_bytes()
    assert sizes[True] * 3 < sizes[False], sizes


def test_a_delta_against_the_older_base_format_still_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delta made before zstd members were decoded names ``inflated-v1``, whose base keeps a
    ``.conda``'s ``.tar.zst`` members as they are: it must rebuild after the format moved on (its base
    derived by those rules, not today's, whose SHA-256 it would not match)."""
    import deltaglider.core.put.archives as put_archives
    from transforms.producers import BUCKET, local_client

    def release(version: bytes) -> Path:
        # Mostly a deflated member (decoded under both formats), and a small zstd one.
        path = tmp_path / f"demo-{version.decode()}.zip"
        text = version * 50 + sample_text(400_000, b"common")  # changed ahead of the rest
        pkg = tar_bytes({"pkg/demo.py": _payload(20_000, version)})
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("data.txt", text, compress_type=zipfile.ZIP_DEFLATED)
            z.writestr(
                "pkg.tar.zst", _frame(pkg, 19, pledged_size=len(pkg)), compress_type=zipfile.ZIP_STORED
            )
        return path

    first, second = release(b"1.0"), release(b"1.1")
    folder = f"s3://{BUCKET}/demo/"
    client = local_client(tmp_path / "r")
    client.upload(first, folder)
    with monkeypatch.context() as old:
        old.setattr(put_archives, "BASE_FORMAT", "inflated-v1")
        made_then = client.upload(second, folder)
    assert made_then.transform == "zip"
    (sidecar,) = (tmp_path / "r" / "store").rglob("demo-1.1.zip.delta.json")
    recorded = json.loads(sidecar.read_text())
    derive_base(first, tmp_path / "v1-base", "inflated-v1")
    v1_base = hashlib.sha256((tmp_path / "v1-base").read_bytes()).hexdigest()
    # Made against the base inflated-v1's rules give, as a delta of that time was.
    assert (recorded["dg-base-format"], recorded["dg-base-sha256"]) == ("inflated-v1", v1_base)
    # Nothing cached: the base is derived again, by the delta's own rules.
    shutil.rmtree(tmp_path / "r" / "cache")
    got = local_client(tmp_path / "r").download(folder + second.name, tmp_path / "out" / second.name)
    assert Path(got.path).read_bytes() == second.read_bytes()
