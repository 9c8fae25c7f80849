"""The original DeltaGlider's result dataclasses, with its names, fields and field types, so that code
reading them (``stats.space_saved``, ``estimate.should_use_delta``...) runs unchanged.

Where the original filled a field wrongly, ours holds what its name says (see each field's comment).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CompressionEstimate:
    """What storing a file would cost (``estimate_compression``)."""

    original_size: int
    estimated_compressed_size: int  # the bytes the upload would add to the store
    estimated_ratio: float  # the share saved: 1 - compressed / original, within 0..1
    confidence: float  # 0..1
    recommended_reference: str | None = None  # the key of the base the delta would be made against
    should_use_delta: bool = True


@dataclass
class ObjectInfo:
    """One stored file with its compression figures (``get_object_info``)."""

    key: str  # the file's key, as a download names it (no ``.delta``)
    size: int  # the file's size, as a download gives it (the original put the stored size here)
    last_modified: str  # ISO 8601
    etag: str | None = None
    storage_class: str = "STANDARD"

    original_size: int | None = None
    compressed_size: int | None = None  # the stored object's size
    compression_ratio: float | None = None  # the share saved: 1 - compressed / original
    is_delta: bool = False
    reference_key: str | None = None  # the base a delta is made against
    delta_chain_length: int = 0  # decodes to rebuild it: 0 whole, 1 against a full base, 2 via a snapshot


@dataclass
class ListObjectsResponse:
    """A page of a listing, as the original's dataclass form of ``list_objects``."""

    name: str  # the bucket
    prefix: str = ""
    delimiter: str = ""
    max_keys: int = 1000
    common_prefixes: list[dict[str, str]] = field(default_factory=list)
    contents: list[ObjectInfo] = field(default_factory=list)
    is_truncated: bool = False
    next_continuation_token: str | None = None
    continuation_token: str | None = None
    key_count: int = 0

    @property
    def objects(self) -> list[ObjectInfo]:
        """``contents``, by the original's other name."""
        return self.contents


@dataclass
class BucketStats:
    """Totals of a bucket's files (``get_bucket_stats``). Sizes in bytes; the bases that deltas need
    (``reference.bin`` and ours) count in ``compressed_size`` but are no objects of their own."""

    bucket: str
    object_count: int  # files: delta_objects + direct_objects
    total_size: int  # the files' own sizes
    compressed_size: int  # every byte stored for them, bases included
    space_saved: int  # total_size - compressed_size, never below 0
    average_compression_ratio: float  # space_saved / total_size, within 0..1
    delta_objects: int  # files stored as deltas (the first file of a folder, as the original counts it, too)
    direct_objects: int  # files stored whole
    object_limit_reached: bool = False  # always False here: every object is counted
