"""Locations: ``s3://bucket/key`` URLs, ``file://`` URLs and plain paths, in one model; and
:class:`Place`, one side of a transfer as the caller names it (a store, their own path, or ``-``).

Every store is a root whose first path component plays the bucket. An ``s3://bucket/key`` URL names
``key`` in ``bucket``; a local location (a ``file://`` URL or a path) names a file in the store rooted
at ``/``: ``/srv/rel/app.zip`` is bucket ``srv``, key ``rel/app.zip``, and its DeltaSpace (the folder
``rel``) keeps its ``reference.bin`` at ``/srv/rel/reference.bin``. So each folder is a DeltaSpace, and
``Location.bucket`` means the same thing on both sides.

A trailing slash names a folder; without one, the last component is the object's name (as ``aws s3 cp``
reads a destination; ``DeltaGliderClient.upload`` alone reads its URL as the folder either way, as
the original DeltaGlider did).

Parsing is strict: anything that looks like a scheme (letters, digits, ``+.-`` then ``:`` before the
first ``/``) must be ``s3://`` or ``file://``; ``s3:/x`` or ``file:x`` is a typo, never a relative
folder named ``s3:``. A URL never holds ``.`` or ``..`` as a component: S3 stores ``big/../f.zip`` as a
key of its own, so ``s3://b/big/..`` names no folder at all (a ``sync --delete`` from it would find
nothing and empty its destination), and a ``file://`` URL says the same thing one way. A plain path is
the user's own and is resolved as the shell would (``x/..`` is the current folder).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import quote, unquote

from deltaglider.core.format.layout import HELPER_FOLDER
from deltaglider.errors import InvalidURLError

Scheme = Literal["s3", "file"]

ACCEPTED_FORMS: Final = (
    "s3://bucket/key, s3://bucket/folder/, file:///absolute/path, /absolute/path, ./relative/path, "
    "~/path, or a relative name with no ':' before its first '/'"
)

#: Something with a colon before its first slash: a scheme, a drive letter, or a typo of one.
_LOOKS_LIKE_SCHEME: Final = re.compile(r"^[^/]*:")
_DRIVE_RE: Final = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Location:
    scheme: Scheme
    bucket: str
    key: str  # "" or ending in "/" for a folder

    @property
    def is_folder(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    @property
    def prefix(self) -> str:
        """The folder part, without a trailing slash."""
        if self.is_folder:
            return self.key.rstrip("/")
        return self.key.rpartition("/")[0]

    @property
    def name(self) -> str | None:
        return None if self.is_folder else self.key.rpartition("/")[2]

    def as_folder(self) -> Location:
        """The location read as a folder, whether or not it ended in a slash."""
        return self if self.is_folder else Location(self.scheme, self.bucket, self.key + "/")

    def __str__(self) -> str:
        if self.scheme == "s3":
            return f"s3://{self.bucket}/{self.key}"
        return f"/{self.bucket}/{self.key}" if self.key else f"/{self.bucket}"


def check_component(component: str, what: str) -> None:
    """Refuses a path component that could leave its folder or is not a name at all."""
    if component in ("", ".", ".."):
        raise InvalidURLError(f"{what}: {component!r} is not a valid name component")
    if "\x00" in component:
        raise InvalidURLError(f"{what}: name contains a NUL byte")


def check_relative_key(key: str, what: str) -> None:
    """Refuses keys that are absolute, carry a drive letter or a backslash, or contain ``.``/``..``
    or empty components."""
    if key.startswith("/") or _DRIVE_RE.match(key) or "\\" in key:
        raise InvalidURLError(f"{what}: {key!r} is not a relative key")
    for component in key.split("/"):
        check_component(component, what)


def safe_join(folder: Path, relative: str) -> Path:
    """``folder / relative``, refusing anything that would land outside ``folder``."""
    check_relative_key(relative, f"refusing to write outside {folder}")
    return folder / relative


def _refuse_dot_components(path: str, url: str) -> None:
    for component in path.split("/"):
        if component in (".", ".."):
            raise InvalidURLError(
                f"{url!r}: {component!r} cannot be a component of a URL (S3 would take it as part of a "
                "key, not as a step between folders); name the folder itself"
            )


def _parse_s3(url: str) -> Location:
    rest = url[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or any(ch.isspace() for ch in bucket):
        raise InvalidURLError(f"{url!r}: missing or malformed bucket name")
    _refuse_dot_components(rest, url)
    return Location("s3", bucket, key)


def _parse_local(path_text: str, original: str) -> Location:
    if not path_text:
        raise InvalidURLError(f"{original!r}: empty path (accepted forms: {ACCEPTED_FORMS})")
    if "\x00" in path_text:
        raise InvalidURLError(f"{original!r}: path contains a NUL byte")
    expanded = os.path.expanduser(path_text)
    folder_syntax = expanded.endswith("/") or os.path.basename(expanded) in (".", "..")
    components = [part for part in os.path.abspath(expanded).split("/") if part]
    if not components:
        raise InvalidURLError(f"{original!r}: / itself cannot hold a store; name a folder under it")
    bucket, rest = components[0], components[1:]
    if rest:
        return Location("file", bucket, "/".join(rest) + ("/" if folder_syntax else ""))
    if folder_syntax or os.path.isdir(f"/{bucket}"):
        return Location("file", bucket, "")
    # As a file, /app.zip would sit in no folder at all: there is no DeltaSpace to put it in.
    raise InvalidURLError(
        f"{original!r} names a file directly under /; a local store location needs a folder "
        f"(e.g. /{bucket}/ for the folder, or /some/folder/{bucket})"
    )


def _parse_file_url(url: str) -> Location:
    rest = url[len("file://") :]
    host, slash, path = rest.partition("/")
    if host not in ("", "localhost") or not slash:
        raise InvalidURLError(
            f"{url!r}: only local file:///absolute/path URLs are supported (accepted forms: {ACCEPTED_FORMS})"
        )
    decoded = unquote(path)
    _refuse_dot_components(decoded, url)
    return _parse_local("/" + decoded, url)


def parse_url(url: str | os.PathLike[str]) -> Location:
    """Parses ``s3://bucket/key``, ``file:///abs/path`` or a plain local path (see the module doc)."""
    if isinstance(url, os.PathLike):
        text = os.fspath(url)
        # A Path drops the trailing slash; an existing folder is meant as one.
        if Path(text).is_dir() and not text.endswith("/"):
            text += "/"
        return _parse_local(text, text)
    if not isinstance(url, str):
        raise InvalidURLError(f"expected a URL string or a path, not {type(url).__name__}")
    lowered = url.lower()
    if lowered.startswith("s3://"):
        return _parse_s3(url)
    if lowered.startswith("file://"):
        return _parse_file_url(url)
    if _LOOKS_LIKE_SCHEME.match(url):
        raise InvalidURLError(
            f"{url!r} is not a location this tool understands: accepted forms are {ACCEPTED_FORMS} "
            "(write ./name for a local file whose name holds a ':')"
        )
    return _parse_local(url, url)


#: Standard input as a source, standard output as a destination.
STDIO: Final = "-"

#: What is meant as a URL, well-formed or not: ``s3://b/``, ``S3:b/``, ``file:/x``, ``http://...``. A
#: plain name with a colon (``a:b.zip``) stays a local path, as in ``aws s3``.
_URL_LIKE: Final = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:/|(?:s3|file|https?):)", re.IGNORECASE)


@dataclass(frozen=True)
class Place:
    """One side of a transfer, as the caller names it: a store (an ``s3://`` or ``file://`` URL), the
    caller's own file or folder (a plain path, as ``aws s3`` reads one), or ``-``, standard input as a
    source and standard output as a destination. A text ending in ``/`` names a folder."""

    text: str
    is_store: bool

    @staticmethod
    def of(location: str | os.PathLike[str] | Place) -> Place:
        """Classifies a location, refusing a malformed URL now (``InvalidURLError``) rather than halfway
        through a batch. A path object is always the caller's own."""
        if isinstance(location, Place):
            return location
        if isinstance(location, os.PathLike):
            return Place(os.fspath(location), is_store=False)
        if _URL_LIKE.match(location):
            parse_url(location)  # anything but s3:// and file:// raises, naming the accepted forms
            return Place(location, is_store=True)
        return Place(location, is_store=False)

    @property
    def is_folder(self) -> bool:
        return self.text.endswith("/")

    @property
    def is_stdio(self) -> bool:
        return not self.is_store and self.text == STDIO

    @property
    def is_file_url(self) -> bool:
        return self.text.lower().startswith("file:")

    def as_folder(self) -> Place:
        return self if self.is_folder else Place(self.text + "/", self.is_store)

    def child(self, name: str) -> str:
        """The location of ``name`` (relative, ``/``-separated) inside this folder."""
        folder = self.as_folder().text
        # file:// URLs are percent-decoded when parsed: a name holding '%' or '#' must be quoted.
        return folder + (quote(name) if self.is_file_url else name)

    def path(self, name: str) -> Path:
        """Where ``name`` lives inside this local folder, refusing a name that would leave it."""
        return safe_join(Path(self.text), name)

    @property
    def name(self) -> str:
        """The last component, as the file is named (``file://`` URLs are percent-decoded)."""
        last = self.text.rstrip("/").rpartition("/")[2]
        return unquote(last) if self.is_file_url else last

    @property
    def parent(self) -> Place:
        """The folder holding this file."""
        return Place(self.text.rpartition("/")[0] + "/", self.is_store)

    def sibling(self, key: str) -> str:
        """The location of the stored ``key`` that lives in this file's folder (a base removed with
        it), or in the helper folder there (a version of the file's history)."""
        _, found, below = key.partition(HELPER_FOLDER)
        if found:
            return self.parent.child(HELPER_FOLDER + below)
        return self.parent.child(key.rpartition("/")[2])
