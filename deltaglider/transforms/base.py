"""The base a transformed delta is made against: a reference's content, decoded for matching only.

A base is never rebuilt into the reference (the reference itself is stored), so it needs no recipe
and no parameter search: every deflate stream that inflates is decoded. What matters is that the same
reference always gives the same base, on every machine and in every later release, because deltas
stored years ago were made against it. So the rules are fixed under a format name
(:data:`BASE_FORMAT`) recorded with each delta, and the base's SHA-256 is recorded too: a change here
is found at once rather than decoding into a wrong file. Changing the rules means a new format name,
with the old one still readable.

``inflated-v1``: the reference's layout (gzip: one member; zip: the members its central directory
lists; xz: the blocks its index lists; ar: its gzip and xz members; bzip2: its concatenated streams)
with each deflate, LZMA2 and bzip2 stream decoded in place. bzip2 joined the format later without
changing any stored delta's base: a reference of a kind decoded before decodes as it did (a bzip2
member of an ``.deb`` stays raw), and a delta made against a bzip2 reference back when that was its
own base (one the original DeltaGlider uploaded) records the reference's own SHA-256, which a
rebuild serves with the reference itself, deriving nothing (:mod:`deltaglider.core.rebuild.sources`).

For a zip, the raw file follows the decoded stream: members that a target keeps raw (its producer
could not be reproduced) still find their unchanged bytes there.
"""

from __future__ import annotations

import shutil
from typing import BinaryIO, Final

from deltaglider.atomic import StrPath
from deltaglider.transforms.container import decode_all

BASE_FORMAT: Final = "inflated-v1"
_COPY: Final = 1 << 20


def _append_raw_zip(src: BinaryIO, sink: BinaryIO, kind: str) -> None:
    if kind == "zip":
        src.seek(0)  # the layout read with pread; the copy starts from the top all the same
        shutil.copyfileobj(src, sink, _COPY)


def derive_base(reference: StrPath, out: StrPath) -> bool:
    """Writes the ``inflated-v1`` base of ``reference`` to ``out``. False (nothing written) when the
    reference is no container this format decodes: its base is then the reference itself."""
    return decode_all(reference, out, appendix=_append_raw_zip) > 0
