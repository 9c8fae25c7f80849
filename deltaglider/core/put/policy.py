"""How each object an upload writes is stored, beyond its bytes and deltaglider's metadata: tags,
storage class, Content-Type and user metadata, as a plain function of the object's role and the
upload's options.

- a base (``reference.bin``, a snapshot) gets no tags, no user metadata and no archive storage class:
  every delta of its DeltaSpace needs it readable at once, and it is not the file of any one upload;
- a file stored whole that serves as a base gets the user's tags, metadata and Content-Type, but
  neither an archive storage class nor :data:`FILE_TAG`: a lifecycle rule must not expire or archive
  it under the deltas that need it (it goes by retention, which keeps it for them);
- a delta gets the tags, the user metadata and the storage class, and is sent as
  :data:`DELTA_CONTENT_TYPE` (its bytes are a VCDIFF delta, not the file);
- a file stored whole gets all of it, with the Content-Type given or guessed from its name.

Every object but a base carries :data:`FILE_TAG`: the lifecycle rules that ``lifecycle_policy`` writes
filter on it, so that they archive and expire files and deltas while never touching a base (S3 rules
cannot exclude a key, only select by prefix and tags).
"""

from __future__ import annotations

import enum
import mimetypes
from dataclasses import replace
from typing import Final

from deltaglider.ports.storage import PutOptions

#: The tag on every object but bases; lifecycle rules select by it.
FILE_TAG: Final = ("dg-kind", "file")

#: Storage classes whose objects cannot be read at once (or only at a retrieval fee per read): a base
#: is never put there.
ARCHIVE_CLASSES: Final = frozenset({"GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"})

#: What a delta's bytes are, whatever the file's type.
DELTA_CONTENT_TYPE: Final = "application/octet-stream"


class Role(enum.Enum):
    """What an object an upload writes is to the DeltaSpace."""

    BASE = "base"  # reference.bin or a snapshot: hidden, needed by deltas
    BASE_FILE = "base-file"  # a user's file stored whole that records a fingerprint: a base too
    DELTA = "delta"  # a user's file stored as a delta (a zero-diff one included)
    FILE = "file"  # a user's file stored whole


def guess_type(name: str) -> str:
    """The Content-Type a file stored whole gets when the upload names none."""
    kind, encoding = mimetypes.guess_type(name, strict=False)
    if encoding is not None:
        # ``app.tar.gz`` is a gzip stream to anyone fetching it.
        return {"gzip": "application/gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz"}.get(
            encoding, DELTA_CONTENT_TYPE
        )
    return kind or DELTA_CONTENT_TYPE


def policy(role: Role, options: PutOptions, name: str) -> PutOptions:
    """What the store is asked for when writing an object of ``role`` for an upload of ``name`` with
    ``options`` (module doc)."""
    kept_class = None if options.storage_class in ARCHIVE_CLASSES else options.storage_class
    if role is Role.BASE:
        return PutOptions(storage_class=kept_class)
    content_type = options.content_type or guess_type(name)
    if role is Role.BASE_FILE:
        return replace(options, content_type=content_type, storage_class=kept_class)
    tags = {**options.tags, FILE_TAG[0]: FILE_TAG[1]}
    if role is Role.DELTA:
        return replace(options, content_type=DELTA_CONTENT_TYPE, tags=tags)
    return replace(options, content_type=content_type, tags=tags)
