"""What a command-line location names, and what is read from each kind.

As with ``aws s3``, a plain path is the user's own file or folder; a store is named only by URL:
``s3://bucket/prefix/`` or ``file:///srv/store/prefix/``. A location ending in ``/`` is a folder.
``-`` is standard input or output (``cp`` only), told apart here before any URL is parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from deltaglider import sync
from deltaglider.batch import Item
from deltaglider.urls import parse_url

if TYPE_CHECKING:
    from deltaglider.client import DeltaGliderClient

_HASH_CHUNK = 1 << 20
STDIO = "-"


@dataclass(frozen=True)
class Place:
    text: str  # as given
    is_store: bool

    @property
    def is_folder(self) -> bool:
        return self.text.endswith("/")

    @property
    def is_stdio(self) -> bool:
        """``-``: standard input as a source, standard output as a destination."""
        return not self.is_store and self.text == STDIO

    def as_folder(self) -> Place:
        return self if self.is_folder else Place(self.text + "/", self.is_store)

    def child(self, name: str) -> str:
        """The location of ``name`` (relative, ``/``-separated) inside this folder."""
        folder = self.as_folder().text
        if self.text.lower().startswith("file:"):
            return folder + quote(name)  # file:// URLs are percent-decoded when parsed
        return folder + name

    @property
    def name(self) -> str:
        """The last component, as the file is named (``file://`` URLs are percent-decoded)."""
        last = self.text.rstrip("/").rpartition("/")[2]
        return unquote(last) if self.text.lower().startswith("file:") else last


def sibling(url: str, key: str) -> str:
    """The location of the stored ``key`` that lives in the same folder as ``url`` (the reference
    removed with a delta, for the report)."""
    name = key.rpartition("/")[2]
    return url.rpartition("/")[0] + "/" + (quote(name) if url.lower().startswith("file:") else name)


#: What is meant as a URL, well-formed or not: ``s3://b/``, ``S3:b/``, ``file:/x``, ``http://...``. A
#: plain name with a colon (``a:b.zip``) stays a local path, as in ``aws s3``.
_URL_LIKE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:/|(?:s3|file|https?):)", re.IGNORECASE)


def place(text: str) -> Place:
    """Classifies a location, refusing a malformed URL now (a usage error) rather than mid-batch."""
    if _URL_LIKE.match(text):
        parse_url(text)  # anything but s3:// and file:// raises InvalidURLError, naming the accepted forms
        return Place(text, is_store=True)
    return Place(text, is_store=False)


def store_items(client: DeltaGliderClient, folder: Place) -> list[Item]:
    """The files stored under a folder, recursively, by name relative to it."""
    return sync.store_items(client, folder.as_folder().text)
