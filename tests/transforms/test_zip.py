"""zip files (wheels, jars, Info-ZIP) rebuild byte for byte; members that do not reproduce stay raw."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from deltaglider.transforms import unpack
from transforms.helpers import round_trip, sample_text, without_reconstructor


def _write_members(z: zipfile.ZipFile, count: int = 8) -> None:
    for i in range(count):
        z.writestr(f"pkg/mod{i}.py", sample_text(2000 + 3000 * i, seed=bytes([i])))


@pytest.mark.parametrize("level", [9, 6, 1, 3])
def test_python_zipfile_deflate_levels(tmp_path: Path, level: int) -> None:
    out = tmp_path / "a.whl"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        _write_members(z)
    encoded = round_trip(out, tmp_path)
    assert encoded is not None
    assert (encoded.streams_decoded, encoded.streams_raw) == (8, 0)


def test_stored_members_and_empty_members(tmp_path: Path) -> None:
    out = tmp_path / "mixed.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("stored.bin", sample_text(5000), compress_type=zipfile.ZIP_STORED)
        z.writestr("empty", b"")
        z.writestr("dir/", b"")
        _write_members(z, 3)
        z.comment = b"an archive comment"
    encoded = round_trip(out, tmp_path)
    assert encoded is not None and encoded.streams_decoded >= 3


def test_jar_like_streamed_with_data_descriptors(tmp_path: Path) -> None:
    # Written to a pipe-like object, zipfile cannot seek back: sizes go in data descriptors.
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buf = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            self.buf += b
            return len(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\n\r\n")
        for i in range(4):
            with z.open(f"com/example/C{i}.class", "w") as member:
                member.write(sample_text(20_000, seed=bytes([i])))
    out = tmp_path / "app.jar"
    out.write_bytes(bytes(sink.buf))
    with zipfile.ZipFile(out) as z:
        assert all(info.flag_bits & 0x8 for info in z.infolist())
    encoded = round_trip(out, tmp_path)
    assert encoded is not None and encoded.streams_decoded == 5


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip not installed")
@pytest.mark.parametrize("flags", [["-9"], ["-6"], ["-1"]])
def test_info_zip(tmp_path: Path, flags: list[str]) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(6):
        (tree / f"f{i}.txt").write_bytes(sample_text(1000 + 12_000 * i, seed=bytes([i])))
    out = tmp_path / "info.zip"
    subprocess.run(["zip", "-q", "-r", *flags, str(out), "tree"], cwd=tmp_path, check=True)
    encoded = round_trip(out, tmp_path)
    # Info-ZIP has its own deflate (like GNU gzip); whatever did not reproduce must stay raw.
    assert encoded is None or encoded.streams_decoded + encoded.streams_raw == 6


def _flushed(payload: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(payload[:5000]) + c.flush(zlib.Z_SYNC_FLUSH) + c.compress(payload[5000:]) + c.flush()


def _replace_member_data(archive: bytes, name: str, payload: bytes, new_data: bytes) -> bytes:
    """``archive`` with member ``name`` (deflated ``payload``) holding ``new_data`` instead, sizes fixed."""
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        info = z.getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    old = archive[start : start + info.compress_size]
    assert zlib.decompress(old, -15) == payload
    fixed = archive[:start] + new_data + archive[start + info.compress_size :]
    delta = len(new_data) - len(old)
    # Patch the sizes in the local header and central directory, and the directory's offset.
    out = bytearray(fixed)
    out[info.header_offset + 18 : info.header_offset + 22] = len(new_data).to_bytes(4, "little")
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_len = int.from_bytes(out[at + 28 : at + 30], "little")
        if out[at + 46 : at + 46 + name_len] == name.encode():
            out[at + 20 : at + 24] = len(new_data).to_bytes(4, "little")
        else:
            offset = int.from_bytes(out[at + 42 : at + 46], "little")
            if offset > info.header_offset:
                out[at + 42 : at + 46] = (offset + delta).to_bytes(4, "little")
        at = out.find(b"PK\x01\x02", at + 4)
    eocd = out.rfind(b"PK\x05\x06")
    cd_offset = int.from_bytes(out[eocd + 16 : eocd + 20], "little") + delta
    out[eocd + 16 : eocd + 20] = cd_offset.to_bytes(4, "little")
    return bytes(out)


def _odd_zip(tmp_path: Path) -> Path:
    """Five members, one of them (odd.txt) deflated with a flush point no zlib setting makes."""
    buf = io.BytesIO()
    payload = sample_text(30_000, seed=b"odd")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        _write_members(z, 3)
        z.writestr("odd.txt", payload)
        z.writestr("tail.py", sample_text(9000, seed=b"tail"))
    out = tmp_path / "odd.zip"
    out.write_bytes(_replace_member_data(buf.getvalue(), "odd.txt", payload, _flushed(payload)))
    with zipfile.ZipFile(out) as z:
        assert z.read("odd.txt") == payload and z.testzip() is None
    return out


def test_a_member_made_by_another_deflater_is_rebuilt_from_its_choices(tmp_path: Path) -> None:
    encoded = round_trip(_odd_zip(tmp_path), tmp_path)
    assert encoded is not None and (encoded.streams_decoded, encoded.streams_raw) == (5, 0)
    assert encoded.reconstructed == 1
    kinds = [type(s.params).__name__ for s in unpack(encoded.recipe).segments if s.params is not None]
    assert kinds == ["DeflateParams"] * 3 + ["ReconstructParams", "DeflateParams"]


def test_a_member_made_by_another_deflater_stays_raw_without_the_reconstructor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_reconstructor(monkeypatch)
    encoded = round_trip(_odd_zip(tmp_path), tmp_path)
    assert encoded is not None and (encoded.streams_decoded, encoded.streams_raw) == (4, 1)
    assert sum(s.params is not None for s in unpack(encoded.recipe).segments) == 4


def test_no_member_reproduces_means_no_transform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without_reconstructor(monkeypatch)
    buf = io.BytesIO()
    payload = sample_text(30_000, seed=b"odd")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("odd.txt", payload)
    out = tmp_path / "odd.zip"
    out.write_bytes(_replace_member_data(buf.getvalue(), "odd.txt", payload, _flushed(payload)))
    assert round_trip(out, tmp_path) is None


@pytest.mark.parametrize(
    "mangle",
    [lambda b: b[:-10], lambda b: b.replace(b"PK\x05\x06", b"PK\x05\x07"), lambda b: b[: len(b) // 2]],
    ids=["cut-end-record", "no-end-record", "half"],
)
def test_broken_zips_are_declined_or_exact(tmp_path: Path, mangle: object) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        _write_members(z, 3)
    out = tmp_path / "broken.zip"
    out.write_bytes(mangle(buf.getvalue()))  # type: ignore[operator]
    assert round_trip(out, tmp_path) is None


def test_encrypted_flag_keeps_the_member_raw(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        _write_members(z, 2)
    data = bytearray(buf.getvalue())
    at = data.find(b"PK\x01\x02")  # first member's central entry: claim it is encrypted
    data[at + 8] |= 0x1
    out = tmp_path / "enc.zip"
    out.write_bytes(bytes(data))
    encoded = round_trip(out, tmp_path)
    assert encoded is not None and encoded.streams_decoded == 1


def test_a_member_that_expands_a_thousandfold_is_decoded(tmp_path: Path) -> None:
    # Its last input bytes inflate to more than one output step: the inflater must be drained.
    out = tmp_path / "zeros.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros", bytes(4 << 20))
        # 256 KiB + 75: the end of the input is read while 75 bytes of output are still to come.
        z.writestr("edge", bytes((1 << 18) + 75))
    encoded = round_trip(out, tmp_path)
    assert encoded is not None and encoded.streams_decoded == 2
