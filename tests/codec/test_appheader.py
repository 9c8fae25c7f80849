"""One reading of the xdelta3 binary's application header: the decoder refuses a delta by it, and a
header inspection (``codec.external_idents``, the diff adapter's ``inspect``) reports the same."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from deltaglider import codec
from deltaglider.adapters.diff_xdelta3 import XDelta3Diff
from deltaglider.errors import UnsupportedDeltaError

HEADERS = [
    (b"b.tar.gz/G/a.tar.gz/G", ("G", "G")),
    (b"t.gz/G/s/", ("G", "")),
    (b"t/B/s/", ("B", "")),
    (b"t//s.xz/Y", ("", "Y")),
    (b"t/Z", ("Z", "")),
    (b"t/G/s/B/extra/fields", ("G", "B")),
    (b"t//s/", None),
    (b"just a name", None),
    (b"", None),
]


@pytest.mark.parametrize(("appheader", "idents"), HEADERS)
def test_idents_are_the_second_and_fourth_fields(appheader: bytes, idents: tuple[str, str] | None) -> None:
    assert codec.external_idents(appheader) == idents


def test_every_ident_the_binary_writes_names_a_program() -> None:
    assert codec.EXTERNAL_COMPRESSION_IDENTS == {"G": "gzip", "B": "bzip2", "Y": "xz", "Z": "compress"}


def _with_appheader(delta: bytes, appheader: bytes) -> bytes:
    assert delta[4] == 0  # no secondary, no code table, no app header yet
    return delta[:4] + bytes([0x04, len(appheader)]) + appheader + delta[5:]


@pytest.mark.parametrize(("appheader", "idents"), [h for h in HEADERS if len(h[0]) < 128])
def test_the_decoder_refuses_exactly_what_inspection_reports(
    tmp_path: Path, appheader: bytes, idents: tuple[str, str] | None
) -> None:
    rng = random.Random(2)
    source = rng.randbytes(50_000)
    target = source[:1000] + b"new" + source[1000:]
    delta = _with_appheader(codec.encode(source, target, secondary=None), appheader)
    (tmp_path / "delta").write_bytes(delta)
    assert XDelta3Diff().inspect(tmp_path / "delta").external == idents
    if idents is None:
        assert codec.decode(source, delta) == target
        return
    with pytest.raises(UnsupportedDeltaError) as caught:
        codec.decode(source, delta)
    assert (caught.value.marker, caught.value.source_marker) == idents
    assert caught.value.appheader == appheader.decode()
