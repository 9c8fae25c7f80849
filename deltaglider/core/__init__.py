"""The core: models, the on-storage format, and the service's flows. It talks to the world through
the ports, with one exception: rebuilding the original's deltas over gzip/bzip2/xz/compress data
(:mod:`deltaglider.core.rebuild.legacy`) runs those programs when Python's own compressors differ
from them.

Its wings, each a folder, hold one flow or one kind of knowledge:

- ``format/``: what is stored where, under which name (layout, metadata, the two forms of a name,
  finding a stored file);
- ``rebuild/``: content verified by SHA-256, and the bodies files are rebuilt from;
- ``put/``: the upload flow; ``get/``: the download flow;
- ``family/``: a DeltaSpace's bases, their fingerprints, and retention;
- ``history/``: the versions a name's overwrites and deletes replaced, when history is kept.

Flows that use several wings (delete, verify, listing, repack, many transfers at once) and what every
flow shares (the service, its context, the models, the removal protocol) stay at this level.
"""

# The original DeltaGlider exported its error classes here: its users' imports keep working.
from deltaglider.core.errors import (
    DeltaGliderError,
    DiffDecodeError,
    DiffEncodeError,
    IntegrityMismatchError,
    NotFoundError,
    PolicyViolationWarning,
    ReferenceCreationRaceError,
    StorageIOError,
)

__all__ = [
    "DeltaGliderError",
    "DiffDecodeError",
    "DiffEncodeError",
    "IntegrityMismatchError",
    "NotFoundError",
    "PolicyViolationWarning",
    "ReferenceCreationRaceError",
    "StorageIOError",
]
