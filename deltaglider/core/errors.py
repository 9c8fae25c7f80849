"""The original DeltaGlider's error names, where its users import them from
(``deltaglider.core.errors``, and ``deltaglider.core``), bound to our classes (``deltaglider.errors``),
so that code written against the original keeps catching what it meant to catch.

Each name is the class of ours that is raised for the same failure, or the nearest parent of them:

- ``NotFoundError``, ``DeltaGliderError``: the same names in ``deltaglider.errors``;
- ``IntegrityMismatchError``: ``IntegrityError`` (bytes do not match their recorded SHA-256);
- ``DiffDecodeError`` and ``DiffEncodeError``: ``CodecError``, which every failure of the codec
  raises, decoding or encoding (a corrupt delta is its ``DecodeError``, a lack of memory its
  ``OutOfMemoryError``...): the original raised its one class for any failure of its xdelta3 run;
- ``StorageIOError``: ``StorageError``;
- ``CacheMissError``, ``CacheCorruptionError``: ``CacheError`` (a miss or a corrupt entry is handled
  inside: the reference is fetched again; what reaches a caller is a cache folder unfit for use);
- ``ReferenceCreationRaceError``: a class of its own under ``DeltaGliderError`` that nothing raises,
  as in the original (which declared it and never raised it): two writers founding one DeltaSpace
  are settled inside the upload, by a conditional write;
- ``PolicyViolationWarning``: a ``Warning`` that nothing emits. The original warned, and stored the
  delta anyway, when a delta was larger than ``max_ratio`` allows; ours stores the file whole, and
  the ``UploadSummary``'s ``reason`` and ``delta_ratio`` say so.
"""

from __future__ import annotations

from deltaglider.errors import (
    CacheError,
    CodecError,
    DeltaGliderError,
    IntegrityError,
    NotFoundError,
    StorageError,
)

IntegrityMismatchError = IntegrityError
DiffDecodeError = CodecError
DiffEncodeError = CodecError
StorageIOError = StorageError
CacheMissError = CacheError
CacheCorruptionError = CacheError


class ReferenceCreationRaceError(DeltaGliderError):
    """The original's name; never raised (module doc)."""


class PolicyViolationWarning(Warning):
    """The original's name; never emitted (module doc)."""


__all__ = [
    "CacheCorruptionError",
    "CacheMissError",
    "DeltaGliderError",
    "DiffDecodeError",
    "DiffEncodeError",
    "IntegrityMismatchError",
    "NotFoundError",
    "PolicyViolationWarning",
    "ReferenceCreationRaceError",
    "StorageIOError",
]
