"""A rebuild on several workers writes the very bytes a serial one does, holds no more than its bounds
in flight, and fails whole on a member that does not recompress."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from deltaglider.errors import RecipeError
from deltaglider.transforms import SYSTEM_ZLIB, encode_container, rebuild, unpack
from deltaglider.transforms.deflater import DeflateParams
from deltaglider.transforms.recipe import Segment
from deltaglider.transforms.recompress import Encoder, Params, write_segments
from transforms.helpers import sample_text, tar_bytes

WORKERS = (1, 2, 4)


def _noise(size: int, seed: int) -> bytes:
    """Bytes that do not compress, the same on every machine."""
    return hashlib.shake_256(seed.to_bytes(4, "little")).digest(size)


class _Unseekable(io.RawIOBase):
    """A file zipfile cannot seek back in: it writes a data descriptor after each member's data."""

    def __init__(self) -> None:
        self.raw = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self.raw.write(data)


def _many_members_zip(path: Path, *, streamed: bool = False) -> Path:
    """A zip of many members of every kind a rebuild meets: deflated at several levels, stored,
    empty, incompressible, large and small; ``streamed``: each with a data descriptor."""
    sink = _Unseekable() if streamed else io.BytesIO()
    with zipfile.ZipFile(sink, "w") as z:
        for i in range(36):
            kind = i % 6
            name = f"pkg/m{i:03}"
            if kind == 0:
                z.writestr(name, b"", compress_type=zipfile.ZIP_DEFLATED)
            elif kind == 1:
                text = sample_text(5000 + 97 * i, seed=bytes([i]))
                z.writestr(name, text, compress_type=zipfile.ZIP_STORED)
            elif kind == 2:
                z.writestr(name, _noise(3000 + i, i), compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
            else:
                level = (9, 6, 1)[kind - 3]
                size = 200_000 if i == 33 else 1000 + 600 * i
                z.writestr(name, sample_text(size, seed=bytes([i])), zipfile.ZIP_DEFLATED, level)
    path.write_bytes(sink.raw.getvalue() if isinstance(sink, _Unseekable) else sink.getvalue())
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        assert any(info.flag_bits & 0x08 for info in z.infolist()) == streamed
    return path


def _streamed_zip(path: Path) -> Path:
    return _many_members_zip(path, streamed=True)


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(b"!<arch>\n")
    for name, data in members:
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
        out += header + data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


def _deb(path: Path) -> Path:
    """A .deb whose data member is a multi-block xz (as dpkg's threaded xz writes)."""
    data_tar = path.parent / "data.tar"
    data_tar.write_bytes(tar_bytes({f"usr/f{i}": sample_text(90_000, seed=bytes([i])) for i in range(5)}))
    xz = subprocess.run(
        ["xz", "-c", "-2", "-T2", "--block-size=100KiB", str(data_tar)], capture_output=True, check=True
    ).stdout
    control = gzip.compress(tar_bytes({"control": b"Package: demo\n"}), compresslevel=9, mtime=0)
    path.write_bytes(_ar([("debian-binary", b"2.0\n"), ("control.tar.gz", control), ("data.tar.xz", xz)]))
    return path


def _xz(path: Path) -> Path:
    src = path.parent / "blocks.tar"
    src.write_bytes(sample_text(700_000, seed=b"blocks"))
    path.write_bytes(
        subprocess.run(
            ["xz", "-c", "-3", "-T2", "--block-size=64KiB", str(src)], capture_output=True, check=True
        ).stdout
    )
    return path


@pytest.mark.parametrize(
    "make", [_many_members_zip, _streamed_zip, _deb, _xz], ids=["zip", "zip-descriptors", "deb", "xz"]
)
def test_every_worker_count_writes_the_same_bytes(tmp_path: Path, make: Callable[[Path], Path]) -> None:
    original = make(tmp_path / "archive")
    decoded = tmp_path / "decoded"
    encoded = encode_container(original, decoded)
    assert encoded is not None
    assert sum(1 for s in unpack(encoded.recipe).segments if s.params is not None) >= 2
    for workers in WORKERS:
        out = tmp_path / f"rebuilt-{workers}"
        assert rebuild(decoded, encoded.recipe, out, workers=workers) == original.stat().st_size
        assert out.read_bytes() == original.read_bytes(), f"{workers} workers"


class _Watch:
    """Records, from outside the pipeline, how many members were started (their encoder made) and not
    yet wholly written, and how many bytes were made ahead of the member being written."""

    def __init__(self, segments: tuple[Segment, ...], delay: float) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        # Each member's decoded bytes open with its own tag; its output's end in the file.
        self.ends: dict[bytes, int] = {}
        self.made: dict[bytes, int] = {}
        self.written = 0
        self.out = io.BytesIO()
        self.started: set[bytes] = set()
        self.start_order: list[int] = []  # members' numbers (from 1), in the order their encoders began
        self.most_started = 0
        self.most_ahead = 0
        end = 0
        members = 0
        for seg in segments:
            end += seg.original_size
            if seg.params is not None:
                members += 1
                self.ends[members.to_bytes(8, "big")] = end

    def new(self, params: Params) -> Encoder:
        inner = SYSTEM_ZLIB.new(params)  # type: ignore[arg-type]
        watch = self
        tag: list[bytes] = []

        class Watched:
            def compress(self, data: bytes, /) -> bytes:
                if not tag:
                    tag.append(data[:8])
                    with watch.lock:
                        watch.started.add(tag[0])
                        watch.start_order.append(int.from_bytes(tag[0], "big"))
                        watch.made[tag[0]] = 0
                        watch._look()
                time.sleep(watch.delay)
                out = inner.compress(data)
                with watch.lock:
                    watch.made[tag[0]] += len(out)
                    watch._look()
                return out

            def flush(self) -> bytes:
                out = inner.flush()
                with watch.lock:
                    watch.made[tag[0]] += len(out)
                    watch._look()
                return out

        return Watched()

    def _look(self) -> None:
        """Under the lock: the members started and not written, and the bytes made ahead."""
        unwritten = [t for t in self.started if self.ends[t] > self.written]
        self.most_started = max(self.most_started, len(unwritten))
        current = min(unwritten, key=lambda t: self.ends[t], default=None)
        ahead = sum(self.made[t] for t in unwritten if t != current)
        self.most_ahead = max(self.most_ahead, ahead)

    def write(self, data: bytes, /) -> int:
        with self.lock:
            self.written += len(data)
            self.out.write(data)
            self._look()
        return len(data)


def _tagged_stream(tmp_path: Path, sizes: list[int]) -> tuple[int, tuple[Segment, ...]]:
    """A decoded stream of deflate members, each opening with its index as an 8-byte tag."""
    params = DeflateParams(6)
    segments = []
    data = bytearray()
    for i, size in enumerate(sizes, start=1):
        member = i.to_bytes(8, "big") + sample_text(size, seed=i.to_bytes(4, "little"))
        encoder = SYSTEM_ZLIB.new(params)
        compressed = encoder.compress(member) + encoder.flush()
        segments.append(Segment(len(member), params, len(compressed)))
        segments.append(Segment(5))
        data += member + b"rawxx"
    path = tmp_path / "stream"
    path.write_bytes(bytes(data))
    return os.open(path, os.O_RDONLY), tuple(segments)


@pytest.mark.parametrize(
    ("window", "ahead_bytes", "parallel"), [(3, 1 << 20, True), (8, 40_000, True), (5, 1, False)]
)
def test_members_in_flight_stay_within_the_bounds(
    tmp_path: Path, window: int, ahead_bytes: int, parallel: bool
) -> None:
    """``parallel``: whether members fit the bytes ahead at all; where none does, each starts only
    once it is the one being written, and streams (a serial rebuild, on the pool)."""
    sizes = [20_000 + 7_000 * (i % 5) for i in range(30)] + [400_000] + [15_000] * 10
    fd, segments = _tagged_stream(tmp_path, sizes)
    try:
        watch = _Watch(segments, delay=0.0005)
        write_segments(fd, segments, watch, watch.new, workers=3, window=window, ahead_bytes=ahead_bytes)
        serial = io.BytesIO()
        write_segments(fd, segments, serial, SYSTEM_ZLIB.new, workers=1)  # type: ignore[arg-type]
    finally:
        os.close(fd)
    assert watch.out.getvalue() == serial.getvalue()
    assert len(serial.getvalue()) == sum(s.original_size for s in segments)
    assert len(watch.started) == len(sizes)
    assert watch.most_started <= window
    assert (watch.most_started > 1) == parallel
    assert watch.most_ahead <= ahead_bytes


def test_a_member_holding_most_of_the_work_starts_first(tmp_path: Path) -> None:
    """Left to its turn, the last and largest member would run alone on one core at the end."""
    sizes = [10_000] * 40 + [600_000]
    fd, segments = _tagged_stream(tmp_path, sizes)
    try:
        # Each piece takes a moment, so that the 40 small members cannot all end before the large
        # one's worker is first scheduled, however busy the machine (the order of starts, not of the
        # threads' first instructions, is what this test is about).
        watch = _Watch(segments, delay=0.002)
        write_segments(fd, segments, watch, watch.new, workers=2)
    finally:
        os.close(fd)
    assert len(sizes) in watch.start_order[:2]


def test_a_member_that_does_not_recompress_fails_the_rebuild_and_leaves_nothing(tmp_path: Path) -> None:
    original = _many_members_zip(tmp_path / "a.whl")
    decoded = tmp_path / "decoded"
    encoded = encode_container(original, decoded)
    assert encoded is not None
    recipe = unpack(encoded.recipe)
    # The last deflated member's decoded bytes made incompressible: it recompresses far too long.
    offset = 0
    target = None
    for seg in recipe.segments:
        if seg.params is not None and seg.decoded_size > 10_000:
            target = (offset, seg.decoded_size)
        offset += seg.decoded_size
    assert target is not None
    data = bytearray(decoded.read_bytes())
    data[target[0] : target[0] + target[1]] = _noise(target[1], 7)
    decoded.write_bytes(bytes(data))
    before = threading.active_count()
    for workers in WORKERS:
        out = tmp_path / "out" / "a.whl"
        out.parent.mkdir(exist_ok=True)
        with pytest.raises(RecipeError, match="another size than recorded"):
            rebuild(decoded, encoded.recipe, out, workers=workers)
        assert list(out.parent.iterdir()) == []
    assert threading.active_count() == before
