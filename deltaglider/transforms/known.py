"""Streams the base already holds byte for byte: kept raw, neither searched nor reconstructed.

Consecutive releases change few of their streams. A wheel's gzip'd data files mostly carry the same
deflate stream as the release before, under a new gzip header; most members of a zip are the same
compressed bytes as the reference's. Where the base holds a raw copy of the reference (a zip's base
ends with the raw zip, :mod:`.base`), such a stream kept raw costs the delta next to nothing: a zip
member is found in that copy as it is, and a gzip'd file inside a member, whose one stream stays raw,
leaves the member raw as a whole, found there too but for its header. Decoding it instead would cost
the parameter search or the reconstructor's slow analysis (:mod:`.reconstruct`) on every upload, and a
recompression on every download, for the same delta. Streams are told apart by a digest of their
compressed bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cached_property

from deltaglider.atomic import StrPath


def digest(stream: bytes) -> bytes:
    """What a compressed stream is known by."""
    return hashlib.blake2b(stream, digest_size=16).digest()


class KnownStreams:
    """The digests of every compressed stream of ``reference``, at every depth it is laid out to
    (:func:`.container.decode_all`), walked on first use. ``scratch``: the folder the walk's decoded
    stream is written to meanwhile."""

    def __init__(self, reference: StrPath, scratch: StrPath | None = None) -> None:
        self._reference = reference
        self._scratch = scratch
        self._digests: set[bytes] | None = None

    @cached_property
    def raw_copy(self) -> bool:
        """Whether the reference's base ends with the raw reference (a zip's does, :mod:`.base`):
        only then is a stream kept raw found in the base."""
        from deltaglider.transforms.sniff import detect

        return detect(self._reference) == "zip"

    def __contains__(self, stream_digest: object) -> bool:
        if self._digests is None:
            self._digests = self._walk()
        return stream_digest in self._digests

    def _walk(self) -> set[bytes]:
        from deltaglider.transforms.container import decode_all

        found: set[bytes] = set()
        with tempfile.TemporaryDirectory(dir=self._scratch, prefix="dg-known-") as room:
            decode_all(self._reference, os.path.join(room, "decoded"), digests=found)
        return found
