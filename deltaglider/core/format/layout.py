"""Where things live inside a DeltaSpace, and which files go down the delta path.

The layout is the original's: ``<prefix>/reference.bin``, ``<prefix>/<name>.delta`` for a delta,
``<prefix>/<name>`` for a file stored whole.

Two kinds of names would collide with that layout if stored whole under their own key: ``reference.bin``
(it would replace the reference) and anything ending in ``.delta`` (it would take the place of the delta
of another name). Such *reserved* names are always stored under ``<name>.delta``, whether the object
there is a delta or a whole file (its metadata says which: ``dg-compression: none`` for whole). Listings
strip one ``.delta``, so the name comes back as given, in the original's listing too; the original reads
either form by its metadata. Looking a name up therefore tries ``<name>.delta`` first for reserved names
and ``<name>`` first for the others, then the other one: so ``app.zip.delta`` still reaches the delta of
``app.zip`` when no file of that exact name was stored.
"""

from __future__ import annotations

import posixpath
import re
from typing import Final

REFERENCE_NAME: Final = "reference.bin"
DELTA_SUFFIX: Final = ".delta"

#: Bases besides ``reference.bin`` (ours only): ``reference-<16 hex of the SHA-256>.bin``
#: holds a newer full reference; the same name plus ``.delta`` a snapshot, stored as a delta against a
#: full reference. Named by content, so concurrent writers of the same base agree on its key.
_BASE_RE: Final = re.compile(r"^reference-[0-9a-f]{16}\.bin(\.delta)?$")

#: The original's delta candidates, matched on the lowercased name; the rest is stored whole.
_COMPOUND_SUFFIXES: Final = (".tar.gz", ".tar.bz2", ".tar.xz")
_SIMPLE_SUFFIXES: Final = frozenset(
    [
        ".zip",
        ".tar",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".7z",
        ".rar",
        ".dmg",
        ".iso",
        ".pkg",
        ".deb",
        ".rpm",
        ".apk",
        ".jar",
        ".war",
        ".ear",
    ]
)


#: The original's helper objects (rehydrated copies, stats files), in a folder of this name at any
#: depth: never user files.
HELPER_FOLDER: Final = ".deltaglider/"


def is_helper_key(key: str) -> bool:
    """Whether ``key`` lies in a :data:`HELPER_FOLDER` (or is one)."""
    return key.startswith(HELPER_FOLDER) or f"/{HELPER_FOLDER}" in key


#: A name's earlier versions (its history, kept when a client keeps history): each one the stored
#: object that held the version, copied to ``<prefix>/.deltaglider/history/<name>/<version>/reference.bin``.
#: Inside the helper folder, so every listing of ours skips it; the last part is ``reference.bin``
#: because that is the one name the original 6.2.0 leaves out of its listings, so a recursive listing
#: of the original shows no version either. Never a base: nothing is ever rebuilt against a version.
HISTORY_FOLDER: Final = HELPER_FOLDER + "history/"
_VERSION_FILE: Final = "/" + REFERENCE_NAME
#: A version's ID is its write stamp (core.format.forms): microseconds, then 16 hex digits.
VERSION_ID_RE: Final = re.compile(r"^[0-9]{17}-[0-9a-f]{16}$")


def history_root(prefix: str) -> str:
    """Where the histories of every name of the DeltaSpace ``prefix`` are (a folder, ending in ``/``)."""
    return join_key(prefix, HISTORY_FOLDER)


def history_prefix(prefix: str, name: str) -> str:
    """Where the versions of ``name`` are kept (a folder, ending in ``/``)."""
    return history_root(prefix) + name + "/"


def version_key(prefix: str, name: str, version_id: str) -> str:
    if not VERSION_ID_RE.match(version_id):
        raise ValueError(f"{version_id!r} is not a version ID")
    return history_prefix(prefix, name) + version_id + _VERSION_FILE


def is_version_key(key: str) -> bool:
    """Whether ``key`` is a kept version's, in whatever DeltaSpace."""
    at = key.find(HISTORY_FOLDER)
    if at < 0 or (at > 0 and key[at - 1] != "/"):
        return False
    return parse_version_key(key[: max(0, at - 1)], key) is not None


def parse_version_key(prefix: str, key: str) -> tuple[str, str] | None:
    """``(name, version_id)`` of a kept version's key under the DeltaSpace ``prefix``; None for any
    other key (what does not parse is no version of ours, and is never read as one)."""
    root = history_root(prefix)
    if not key.startswith(root) or not key.endswith(_VERSION_FILE):
        return None
    name, sep, version_id = key[len(root) : -len(_VERSION_FILE)].rpartition("/")
    if not sep or not name or "/" in name or not VERSION_ID_RE.match(version_id):
        return None
    return name, version_id


def join_key(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def split_key(key: str) -> tuple[str, str]:
    """(prefix, name) of a key; the prefix has no trailing slash."""
    prefix, _, name = key.rpartition("/")
    return prefix, name


def reference_key(prefix: str) -> str:
    return join_key(prefix, REFERENCE_NAME)


def is_base_name(name: str) -> bool:
    """Whether ``name`` (a key's last part) is a DeltaSpace's base: ``reference.bin`` or one of ours."""
    return name == REFERENCE_NAME or _BASE_RE.match(name) is not None


def base_key(prefix: str, sha256: str, *, snapshot: bool) -> str:
    name = f"reference-{sha256[:16]}.bin"
    return join_key(prefix, name + DELTA_SUFFIX if snapshot else name)


#: Beside an object being removed, for as long as its removal runs, a marker named
#: ``<name>.dg-removing-<stamp>``: writes that depend on that object see it and keep what they need
#: elsewhere (core.protocol). Hidden from listings; no upload may take such a name.
REMOVING_INFIX: Final = ".dg-removing-"


def removing_prefix(key: str) -> str:
    """Where the markers of a removal of ``key`` are: every key starting with this."""
    return key + REMOVING_INFIX


def is_marker_name(name: str) -> bool:
    return REMOVING_INFIX in name


def is_reserved_name(name: str) -> bool:
    return name == REFERENCE_NAME or name.endswith(DELTA_SUFFIX)


def delta_key(prefix: str, name: str) -> str:
    return join_key(prefix, name + DELTA_SUFFIX)


def whole_key(prefix: str, name: str) -> str:
    """Where ``name`` goes when stored whole (the delta key itself for reserved names)."""
    return delta_key(prefix, name) if is_reserved_name(name) else join_key(prefix, name)


def other_form_key(prefix: str, name: str, *, stored_whole: bool) -> str | None:
    """The key of the form not just written, which a new upload of ``name`` makes stale; None when both
    forms share one key (reserved names)."""
    if is_reserved_name(name):
        return None
    return delta_key(prefix, name) if stored_whole else join_key(prefix, name)


def lookup_keys(key: str) -> list[str]:
    """The stored keys that a user's key may denote, in the order to try them."""
    _, name = split_key(key)
    if is_reserved_name(name):
        return [key + DELTA_SUFFIX, key]
    return [key, key + DELTA_SUFFIX]


def display_name(key: str) -> str | None:
    """The key as the user knows it, or None for objects a listing hides (references and other bases,
    removal markers)."""
    _, name = split_key(key)
    if is_base_name(name) or is_marker_name(name):
        return None
    return key.removesuffix(DELTA_SUFFIX)


def is_delta_candidate(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(_COMPOUND_SUFFIXES):
        return True
    _, ext = posixpath.splitext(lowered)
    return ext in _SIMPLE_SUFFIXES
