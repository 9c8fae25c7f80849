"""Shared by the transform tests: a round trip that must give back the very same bytes."""

from __future__ import annotations

import hashlib
import io
import lzma
import resource
import signal
import struct
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import strategies as st

from deltaglider.transforms import Encoded, encode_container, rebuild


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """An uncompressed GNU tar holding ``files`` (name: bytes), made in memory."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def sample_text(size: int, seed: bytes = b"dg") -> bytes:
    """Text-like bytes that compress the way source files do, the same on every machine and Python
    (drawn from SHA-256, not from ``random``, whose streams are not promised to stay the same)."""
    words = [b"alpha", b"beta", b"gamma", b"delta", b"glider", b"import", b"return", b"\n", b"    ", b"0x1f"]
    out = bytearray()
    counter = 0
    while len(out) < size:
        for byte in hashlib.sha256(seed + counter.to_bytes(8, "little")).digest():
            out += words[byte % len(words)] + (b" " if byte & 0x10 else b"")
        counter += 1
    return bytes(out[:size])


def round_trip(path: Path, tmp: Path) -> Encoded | None:
    """Encodes ``path``; if it was taken, rebuilds it and asserts the bytes are identical."""
    decoded = tmp / (path.name + ".decoded")
    rebuilt = tmp / (path.name + ".rebuilt")
    encoded = encode_container(path, decoded)
    if encoded is None:
        assert not decoded.exists()
        return None
    assert decoded.stat().st_size == encoded.decoded_size
    assert rebuild(decoded, encoded.recipe, rebuilt) == path.stat().st_size
    assert rebuilt.read_bytes() == path.read_bytes()
    return encoded


def xz_naming_dictionary(data: bytes, props: int) -> bytes:
    """``data`` as one .xz block whose header names the dictionary of LZMA2 properties byte
    ``props`` (38: 2 GiB, 40: 4 GiB - 1), larger than xz can write with: it still decodes, since the
    dictionary named is only an upper bound."""
    xz = bytearray(lzma.compress(data, format=lzma.FORMAT_XZ, preset=6))
    start, size = 12, (xz[12] + 1) * 4  # the block header follows the 12-byte stream header
    header = xz[start : start + size]
    at = header.index(b"\x21\x01") + 2  # LZMA2's filter id, its properties' size, then the byte
    header[at] = props
    header[-4:] = struct.pack("<I", zlib.crc32(bytes(header[:-4])))
    xz[start : start + size] = header
    return bytes(xz)


@contextmanager
def disk_cap(limit: int) -> Iterator[None]:
    """No file written inside the block can grow past ``limit`` bytes: the kernel refuses the write
    (EFBIG) instead, so a decode that runs on fails with an I/O error rather than a refusal."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def without_reconstructor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes every deflate stream too large for the reconstructor, as a stream past its limit is:
    what zlib's search alone does, and what a stream nothing reproduces falls back to."""
    from deltaglider.transforms import reconstruct

    monkeypatch.setattr(reconstruct, "MAX_DECODED", 0)


def random_trees() -> st.SearchStrategy[dict[str, bytes]]:
    """Random file trees (path -> content) for the round-trip properties: text, binary and runs."""
    names = st.text(alphabet="abcdefghij_-.", min_size=1, max_size=12).filter(lambda n: n not in {".", ".."})
    content = st.one_of(
        st.binary(max_size=3000),
        st.builds(lambda n, s: sample_text(n, seed=s), st.integers(0, 60_000), st.binary(max_size=4)),
        st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=8), st.integers(0, 20_000)),
    )
    return st.dictionaries(st.lists(names, min_size=1, max_size=3).map("/".join), content, max_size=8)
