"""Locations: ``s3://bucket/key`` URLs, ``file://`` URLs and plain paths.

A local location is stored in a directory store whose *bucket* is a folder's absolute path and whose
keys are relative to it: ``/srv/rel/app.zip`` is bucket ``/srv/rel``, key ``app.zip``; the folder
``/srv/rel/`` is bucket ``/srv/rel`` with an empty prefix. So each local folder is a DeltaSpace of its
own, with its ``reference.bin`` inside it.

A trailing slash names a folder (upload keeps the file's own name); without one, the last component is
the object's name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from deltaglider.errors import InvalidURLError

Scheme = Literal["s3", "file"]

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


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

    def __str__(self) -> str:
        if self.scheme == "s3":
            return f"s3://{self.bucket}/{self.key}"
        return (
            os.path.join(self.bucket, self.key)
            if self.key
            else self.bucket + ("" if self.bucket == "/" else "/")
        )


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


def _parse_s3(url: str) -> Location:
    rest = url[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or any(ch.isspace() for ch in bucket):
        raise InvalidURLError(f"{url!r}: missing or malformed bucket name")
    return Location("s3", bucket, key)


def _parse_local(path_text: str, original: str) -> Location:
    if not path_text:
        raise InvalidURLError(f"{original!r}: empty path")
    folder_syntax = path_text.endswith("/") or path_text.endswith(os.sep)
    absolute = os.path.abspath(os.path.expanduser(path_text))
    if folder_syntax or absolute == "/":
        return Location("file", absolute, "")
    parent, name = os.path.split(absolute)
    return Location("file", parent, name)


def parse_url(url: str | os.PathLike[str]) -> Location:
    """Parses ``s3://bucket/key``, ``file:///abs/path`` or a plain local path."""
    if isinstance(url, os.PathLike):
        text = os.fspath(url)
        # A Path drops the trailing slash; an existing folder is meant as one.
        if Path(text).is_dir() and not text.endswith("/"):
            text += "/"
        return _parse_local(text, text)
    if not isinstance(url, str):
        raise InvalidURLError(f"expected a URL string or a path, not {type(url).__name__}")
    match = _SCHEME_RE.match(url)
    if match is None:
        return _parse_local(url, url)
    scheme = match.group(1).lower()
    if scheme == "s3":
        return _parse_s3(url)
    if scheme == "file":
        rest = url[len("file://") :]
        host, slash, path = rest.partition("/")
        if host not in ("", "localhost") or not slash:
            raise InvalidURLError(f"{url!r}: only local file:/// URLs are supported")
        return _parse_local("/" + unquote(path), url)
    raise InvalidURLError(f"{url!r}: unsupported scheme {scheme!r} (use s3://, file:// or a path)")


def object_url(bucket: str, key: str) -> str:
    """How to show a stored object in messages: a path for a local folder store, else an s3:// URL."""
    if bucket.startswith("/"):
        return os.path.join(bucket, key)
    return f"s3://{bucket}/{key}"
