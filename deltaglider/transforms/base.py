"""The base a transformed delta is made against: a reference's content, decoded for matching only.

A base is never rebuilt into the reference (the reference itself is stored), so it needs no recipe
and no parameter search: every deflate stream that inflates is decoded. What matters is that the same
reference always gives the same base, on every machine and in every later release, because deltas
stored years ago were made against it. So the rules are fixed under a format name
(:data:`BASE_FORMAT`) recorded with each delta, and the base's SHA-256 is recorded too: a change here
is found at once rather than decoding into a wrong file. Changing the rules means a new format name,
with the old one still readable.

``inflated-v1``: the reference's layout (gzip: one member; zip: the members its central directory
lists; xz: the blocks its index lists; ar: its gzip and xz members; bzip2: its concatenated streams;
zstd: its frames) with each deflate, LZMA2, bzip2 and zstd stream decoded in place. bzip2 and zstd
files joined it later without changing any stored delta's base: a delta made against one back when
it was its own base (one the original DeltaGlider uploaded) records the reference's own SHA-256,
which a rebuild serves with the reference itself, deriving nothing
(:mod:`deltaglider.core.rebuild.sources`).

``inflated-v2``: as ``inflated-v1``, and the zstd members of a zip or ar (a ``.conda``'s
``.tar.zst``, a ``.deb``'s ``data.tar.zst``) decoded too. Under ``inflated-v1`` those stay as they
are, as they did when deltas were made against them.

``inflated-v3`` (what new deltas are made against): as ``inflated-v2``, and a decoded stream that is
itself a container (a gzip'd file in a wheel, a jar in a war, a zip in a gzip) is laid out the same
way in place, when a stream inside it decodes, down to :data:`deltaglider.transforms.recipe.MAX_DEPTH`
containers, under the same bounds for the whole tree (:func:`deltaglider.transforms.container.decode_all`);
and an ar's bzip2 members (an older ``.deb``'s ``data.tar.bz2``) decoded. Under ``inflated-v1`` and
``inflated-v2`` such members stay as they decoded once, and bzip2 members of an ar as they are.

For a zip, the raw file follows the decoded stream: members that a target keeps raw (its producer
could not be reproduced) still find their unchanged bytes there.
"""

from __future__ import annotations

import shutil
from typing import BinaryIO, Final

from deltaglider.atomic import StrPath
from deltaglider.transforms.container import decode_all

BASE_FORMAT: Final = "inflated-v3"
#: Every format a rebuild can still derive, oldest first.
BASE_FORMATS: Final = ("inflated-v1", "inflated-v2", BASE_FORMAT)
_COPY: Final = 1 << 20


def _append_raw_zip(src: BinaryIO, sink: BinaryIO, kind: str) -> None:
    if kind == "zip":
        src.seek(0)  # the layout read with pread; the copy starts from the top all the same
        shutil.copyfileobj(src, sink, _COPY)


def derive_base(reference: StrPath, out: StrPath, base_format: str = BASE_FORMAT) -> bool:
    """Writes the ``base_format`` base of ``reference`` to ``out``. False (nothing written) when the
    reference is no container this format decodes: its base is then the reference itself."""
    if base_format not in BASE_FORMATS:
        raise ValueError(f"unknown base format {base_format!r}")
    rules = BASE_FORMATS.index(base_format)
    return (
        decode_all(
            reference,
            out,
            appendix=_append_raw_zip,
            zstd_members=rules >= 1,
            bzip2_members=rules >= 2,
            nested=rules >= 2,
        )
        > 0
    )
