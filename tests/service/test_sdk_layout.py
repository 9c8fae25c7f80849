from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deltaglider.core.format import layout
from deltaglider.transforms.sniff import sniff


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app.zip", True),
        ("APP.ZIP", True),
        ("backup.tar.gz", True),
        ("x.tar.bz2", True),
        ("x.tar.xz", True),
        ("pkg.deb", True),
        ("a.jar", True),
        ("a.7z", True),
        ("notes.txt", False),
        ("app.exe", False),
        ("sums.sha512", False),
        ("wheel.whl", False),
        ("zip", False),
        (".zip", False),
    ],
)
def test_delta_candidates_follow_the_original_extension_list(name: str, expected: bool) -> None:
    assert layout.is_delta_candidate(name) is expected


def test_reserved_names_are_stored_under_their_delta_key_even_when_whole() -> None:
    assert layout.whole_key("p", "app.zip") == "p/app.zip"
    assert layout.whole_key("p", "reference.bin") == "p/reference.bin.delta"
    assert layout.whole_key("", "x.delta") == "x.delta.delta"
    assert layout.other_form_key("p", "reference.bin", stored_whole=True) is None
    assert layout.other_form_key("p", "app.zip", stored_whole=True) == "p/app.zip.delta"
    assert layout.other_form_key("p", "app.zip", stored_whole=False) == "p/app.zip"


def test_lookup_order_prefers_the_reserved_names_own_form() -> None:
    assert layout.lookup_keys("p/app.zip") == ["p/app.zip", "p/app.zip.delta"]
    assert layout.lookup_keys("p/app.zip.delta") == ["p/app.zip.delta.delta", "p/app.zip.delta"]
    assert layout.lookup_keys("reference.bin") == ["reference.bin.delta", "reference.bin"]


def test_display_names_hide_references_and_strip_one_delta_suffix() -> None:
    assert layout.display_name("p/reference.bin") is None
    assert layout.display_name("p/app.zip.delta") == "p/app.zip"
    assert layout.display_name("p/x.delta.delta") == "p/x.delta"
    assert layout.display_name("p/reference.bin.delta") == "p/reference.bin"
    assert layout.display_name("notes.txt") == "notes.txt"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"BZh91AY", "bzip2"),
        (b"\xfd7zXZ\x00\x00", "xz"),
        (b"\x1f\x9d\x90", "compress"),
        (b"PK\x03\x04", None),
        (b"\x1f", None),
        (b"", None),
        (b"\xfd7zXZ\x01", None),
    ],
)
def test_magic_sniffing(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


_names = st.text(alphabet=st.sampled_from("ab.-_/reficnd"), min_size=1, max_size=24).filter(
    lambda n: "/" not in n and n not in (".", "..")
) | st.sampled_from(["reference.bin", "reference.bin.delta", "a.delta", "a.delta.delta", "a"])


def _stored_keys(name: str) -> set[str]:
    return {layout.whole_key("p", name), layout.delta_key("p", name)}


@given(_names, _names)
def test_no_two_names_share_a_stored_key_and_none_hits_the_reference(a: str, b: str) -> None:
    keys_a, keys_b = _stored_keys(a), _stored_keys(b)
    assert "p/reference.bin" not in keys_a
    if a != b:
        assert not keys_a & keys_b
    for key in keys_a:
        assert layout.display_name(key) == f"p/{a}"
        assert key in layout.lookup_keys(f"p/{a}")
    # The form a reserved name is stored in is the one looked up first.
    if layout.is_reserved_name(a):
        assert layout.lookup_keys(f"p/{a}")[0] == layout.whole_key("p", a)
