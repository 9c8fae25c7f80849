"""A cheap estimate of how large a delta would be, without encoding: sampled content fingerprints.

A file is cut into content-defined chunks (of about the same average size for JSON and Python
text, deflated members and machine code alike) and the fingerprint keeps the ``SAMPLES`` smallest chunk
hashes (bottom-k MinHash), the file's size and how well a sample of it compresses. The share of the
target's chunks that also occur in the base estimates how much of the target a delta can copy; what is
left is new data, which the encoder compresses about as well as the sample did.

A fingerprint names the form of the file it was taken on (:data:`Form`): the file's bytes (``raw``),
or, for a container, its decoded stream (``decoded``), which is what a delta of decoded content is
made of. Two fingerprints are compared only in the same form: a deflated member changed by one line
is new bytes from that line on, so raw fingerprints of two releases of an archive say little about
how far apart their decoded content is.

Speed comes from doing the per-byte work in C: a cut is where five bytes in a row fall in a fixed set
of byte values (``bytes.translate`` to 0/1, then ``bytes.split`` on five ones), so Python code runs
once per chunk, not once per byte. Memory stays within a few read blocks whatever the file's size.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import operator
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO, Final, Literal, TypeAlias

from deltaglider.errors import MetadataError

SAMPLES: Final = 256
"""Hashes kept per file: the estimate's standard error is about ``sqrt(p * (1 - p) / SAMPLES)``."""

BLOCK: Final = 1 << 20
MAX_CHUNK: Final = 64 << 10
"""A stretch without a cut (long runs of one byte value) is cut here, so memory stays bounded."""

_RUN: Final = b"\x01" * 5
# 77 byte values, leaving out those that form long runs in text or padding (NUL, space, 0xff,
# newline, tab, "=-#*_.~+/0"). This set was picked among a few seeded draws because its cut rate is about the
# same on JSON, Python, deflated data and x86-64 code (bench/RESULTS.md, "Figures the code once held").
_ANCHORS: Final = bytes.fromhex(
    "01040e131416181b1c1d292c313c4144454a4b4d4f555a5c5d5e6162636869707475797d8081"
    "87898b8d909194979a9b9c9ea0a4a9abadafb2babec3c4c7c8c9d0d1d3d7dbdee2e3e7ecf1f2f8"
)
_TABLE: Final = bytes(1 if b in _ANCHORS else 0 for b in range(256))
_MIX: Final = 0x9E3779B1
_MASK: Final = 0xFFFFFFFF

_SAMPLE_BYTES: Final = 16 << 10
"""Compressed at the start of every ``BLOCK`` of the file, to estimate how well new data compresses."""
_LEVEL: Final = 6

Form: TypeAlias = Literal["raw", "decoded"]
"""What a fingerprint was taken on: the file's bytes, or the decoded stream of a container
(:func:`deltaglider.transforms.container.decode_all`)."""

#: The value's first field names its form. A raw fingerprint keeps the first format's prefix, so values
#: written before forms existed read as raw; a reader that knows only that prefix takes a decoded one
#: for no fingerprint at all (an unknown base), never for a raw one.
_PREFIXES: Final[dict[Form, str]] = {"raw": "dgfp1", "decoded": "dgfp1-decoded"}
_FORMS: Final[dict[str, Form]] = {prefix: form for form, prefix in _PREFIXES.items()}
#: S3 keeps at most 2 KB of user metadata per object, keys included: no upload wrote a longer
#: fingerprint, and a longer one (a folder store's sidecar has no such cap) is refused unread.
MAX_TEXT: Final = 2048


@dataclass(frozen=True)
class Fingerprint:
    """``hashes``: the smallest chunk hashes, ascending, at most ``SAMPLES`` of them (all of them
    when the file has fewer distinct chunks). ``packed_permille``: compressed size of the sample per
    thousand bytes (1000: incompressible). ``form``: what it was taken on (:data:`Form`)."""

    size: int
    packed_permille: int
    hashes: tuple[int, ...]
    form: Form = "raw"

    @property
    def complete(self) -> bool:
        """Every distinct chunk of the file is in ``hashes``, so membership tests are exact."""
        return len(self.hashes) < SAMPLES

    def to_text(self) -> str:
        """A short ASCII form for object metadata: at most about 1.4 KB whatever the file."""
        packed = base64.b64encode(_pack_sorted(self.hashes)).decode("ascii")
        return f"{_PREFIXES[self.form]}:{self.size}:{self.packed_permille}:{packed}"

    @classmethod
    def from_text(cls, text: str) -> Fingerprint:
        if len(text) > MAX_TEXT:
            raise MetadataError(
                f"malformed fingerprint: {len(text)} characters, past S3's limit of {MAX_TEXT}"
            )
        fields = text.split(":")
        if len(fields) != 4 or fields[0] not in _FORMS:
            raise MetadataError(f"not a fingerprint: {text[:40]!r}")
        try:
            size, permille = int(fields[1]), int(fields[2])
            hashes = _unpack_sorted(base64.b64decode(fields[3], validate=True))
        except (ValueError, binascii.Error) as exc:
            raise MetadataError(f"malformed fingerprint: {exc}") from exc
        if size < 0 or not 0 <= permille <= 1000 or len(hashes) > SAMPLES:
            raise MetadataError("malformed fingerprint: a field is out of range")
        if any(h > _MASK for h in hashes) or (size == 0) != (not hashes):
            raise MetadataError("malformed fingerprint: a hash is out of range")
        return cls(size, permille, hashes, _FORMS[fields[0]])


def _pack_sorted(values: Iterable[int]) -> bytes:
    """Gaps between ascending values as LEB128 varints: sorted bottom-k hashes are dense, so most
    gaps fit three bytes."""
    out = bytearray()
    previous = 0
    for value in values:
        gap = value - previous
        previous = value
        while gap >= 0x80:
            out.append((gap & 0x7F) | 0x80)
            gap >>= 7
        out.append(gap)
    return bytes(out)


def _unpack_sorted(data: bytes) -> tuple[int, ...]:
    values: list[int] = []
    value = gap = shift = 0
    for byte in data:
        gap |= (byte & 0x7F) << shift
        shift += 7
        if shift > 35:
            raise ValueError("varint too long")
        if not byte & 0x80:
            value += gap
            values.append(value)
            gap = shift = 0
    if shift:
        raise ValueError("truncated varint")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError("hashes not strictly ascending")
    return tuple(values)


class _Sketch:
    """The streaming state: the chunk not yet cut, the smallest hashes so far, the sample sizes.

    Cuts and samples depend only on the bytes and their offsets, never on how the stream was split
    into reads, so a file and any re-split of it get the same fingerprint.
    """

    def __init__(self) -> None:
        self.pending = b""
        self.kept: list[int] = []
        self.size = 0
        self.window = bytearray()
        self.sampled = 0
        self.packed = 0

    def feed(self, block: bytes) -> None:
        self._sample(block)
        self.size += len(block)
        buf = self.pending + block
        marks = buf.translate(_TABLE)
        view = memoryview(buf)
        run = len(_RUN)
        pos = 0
        while True:
            lengths = list(map(len, (marks[pos:] if pos else marks).split(_RUN)))
            cuts = len(lengths) - 1
            if cuts and max(lengths[:-1]) + run > MAX_CHUNK:
                cuts = next(i for i, n in enumerate(lengths) if n + run > MAX_CHUNK)
            # A chunk runs from one cut to the end of the next run of five anchor bytes.
            ends = list(
                itertools.accumulate(map(operator.add, lengths[:cuts], itertools.repeat(run)), initial=pos)
            )
            self._add(map(view.__getitem__, map(slice, ends[:-1], ends[1:])))
            pos = ends[-1]
            # No run within MAX_CHUNK of the last cut (or none can end there any more): cut there and
            # look for runs again from that point, as a scan of the whole file in one piece would.
            if cuts < len(lengths) - 1 or len(buf) - pos >= MAX_CHUNK:
                self._add([view[pos : pos + MAX_CHUNK]])
                pos += MAX_CHUNK
                continue
            break
        self.pending = buf[pos:]

    def _sample(self, block: bytes) -> None:
        """Compresses the first ``_SAMPLE_BYTES`` of every ``BLOCK`` of the file, by offset."""
        offset = self.size
        rest = memoryview(block)
        while rest:
            into = offset % BLOCK
            if into < _SAMPLE_BYTES:
                self.window += rest[: _SAMPLE_BYTES - into]
                if len(self.window) == _SAMPLE_BYTES:
                    self._compress_window()
            skip = BLOCK - into
            offset += skip
            rest = rest[skip:]

    def _compress_window(self) -> None:
        self.sampled += len(self.window)
        self.packed += len(zlib.compress(self.window, _LEVEL))
        self.window.clear()

    def finish(self) -> Fingerprint:
        if self.window:
            self._compress_window()
        if self.pending:
            self._add([self.pending])
            self.pending = b""
        permille = min(1000, -(-1000 * self.packed // self.sampled)) if self.sampled else 1000
        return Fingerprint(self.size, permille, tuple(self.kept))

    def _add(self, chunks: Iterable[bytes | memoryview]) -> None:
        # crc32 is uniform enough to rank chunks; the odd multiplier spreads nearby values apart.
        hashes: Iterable[int] = map(
            operator.and_,
            map(operator.mul, map(zlib.crc32, chunks), itertools.repeat(_MIX)),
            itertools.repeat(_MASK),
        )
        if len(self.kept) >= SAMPLES:
            limit = self.kept[-1]
            hashes = (h for h in hashes if h < limit)
        merged = set(self.kept)
        merged.update(hashes)
        self.kept = sorted(merged)[:SAMPLES]


def fingerprint_stream(stream: BinaryIO, form: Form = "raw") -> Fingerprint:
    """The fingerprint of everything ``stream`` yields, read ``BLOCK`` bytes at a time, recorded as
    taken on ``form``."""
    sketch = _Sketch()
    while block := stream.read(BLOCK):
        sketch.feed(block)
    taken = sketch.finish()
    return taken if form == "raw" else Fingerprint(taken.size, taken.packed_permille, taken.hashes, form)


def fingerprint(path: str | os.PathLike[str], form: Form = "raw") -> Fingerprint:
    """One streaming pass over the file at ``path`` (for ``decoded``: a container's decoded stream)."""
    with open(path, "rb") as f:
        return fingerprint_stream(f, form)


def estimate_delta_ratio(base: Fingerprint, target: Fingerprint) -> float:
    """Predicted delta size / target size when ``target`` is encoded against ``base``, 0..1.

    Both must be taken on the same form (``ValueError`` otherwise: their chunks are of different
    things). Containment is measured on the target's hashes below both sketches' thresholds: below its own
    largest kept hash a sketch holds every hash of its file, so there a missing hash is truly missing.
    """
    if base.form != target.form:
        raise ValueError(f"a {base.form} fingerprint compared with a {target.form} one")
    if not target.hashes:
        return 0.0
    packed = target.packed_permille / 1000
    if not base.hashes:
        return packed
    limit = target.hashes[-1] if base.complete else min(base.hashes[-1], target.hashes[-1])
    sample = [h for h in target.hashes if h <= limit]
    if not sample:
        # The base is so much larger that no target hash falls below its threshold: say nothing
        # better than "all new".
        return packed
    known = set(base.hashes)
    new = sum(1 for h in sample if h not in known) / len(sample)
    return min(1.0, new * packed)
