"""Locating the stock tools interop tests run, and reading VCDIFF headers."""

from __future__ import annotations

import os
import shutil

import pytest

#: RFC 3284 leaves secondary IDs to the implementation; these are xdelta3's.
VCDIFF_SECONDARY_IDS = {"djw": 1, "lzma": 2, "fgk": 16}

_VCD_DECOMPRESS = 0x01


def xdelta3_binary() -> str:
    """The stock xdelta3 binary. CI installs it, so there a missing binary fails instead of skipping."""
    path = shutil.which("xdelta3")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(
                "the stock xdelta3 binary is not on PATH; .ci/run must install it (apt-get install xdelta3)"
            )
        pytest.skip("the stock xdelta3 binary is not installed (apt-get install xdelta3)")
    return path


def vcdiff_secondary_id(delta: bytes) -> int | None:
    """The secondary compressor ID in a VCDIFF header, or None when the header declares none."""
    assert delta[:3] == b"\xd6\xc3\xc4", "not a VCDIFF stream"
    indicator = delta[4]
    return delta[5] if indicator & _VCD_DECOMPRESS else None
