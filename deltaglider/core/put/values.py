"""The value types of one upload: its state (:class:`Upload`), the base it is encoded against
(:class:`Reference`), and what encoding gives (:class:`Candidate`, or :class:`TooLarge`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeAlias

from deltaglider.core.format.metadata import Transform
from deltaglider.core.models import DeltaSpace
from deltaglider.core.put.private_copy import PrivateCopy
from deltaglider.ports.storage import ObjectHead, ProgressCallback, PutOptions
from deltaglider.transforms.sniff import Container


@dataclass(frozen=True)
class Upload:
    copy: PrivateCopy  # the private copy: what is hashed, sniffed, fingerprinted and stored
    source: Path  # the user's file, named in messages
    space: DeltaSpace
    name: str
    max_ratio: float
    progress: ProgressCallback | None
    created_at: datetime  # recorded as dg-created-at: now, or what re-packing carries over
    source_mtime: datetime | None = None  # the user's file's modification time, recorded for retention
    replaces: ObjectHead | None = None  # a rewrite: the version of the name it may replace, and no other
    #: How the upload's objects are stored (tags, storage class...), by role (core.put.policy).
    options: PutOptions = field(default_factory=PutOptions)

    @property
    def file(self) -> Path:
        return self.copy.path

    @property
    def size(self) -> int:
        return self.copy.size

    @property
    def sha256(self) -> str:
        return self.copy.sha256

    @property
    def container(self) -> Container | None:
        """What the file's first bytes make it (transforms.sniff)."""
        return self.copy.head.container


@dataclass(frozen=True)
class Reference:
    """A base as the upload names it: its key, its content's SHA-256, its metadata, and the ETag of
    the version they describe (None where the upload did not learn it)."""

    key: str
    sha256: str
    metadata: Mapping[str, str]
    etag: str | None = None


@dataclass(frozen=True)
class Candidate:
    """A body proven to rebuild the file, ready to store: a plain delta (``transform`` None) or the
    delta of the decoded content with its recipe."""

    path: Path
    size: int
    transform: Transform | None = None


@dataclass(frozen=True)
class TooLarge:
    """No body fits ``max_ratio``: ``ratio`` is the plain delta's size over the file's."""

    ratio: float


Encoded: TypeAlias = Candidate | TooLarge
