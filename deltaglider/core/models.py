"""The value types the service takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DeltaSpace:
    """Files stored against one reference: a bucket and a prefix (no trailing slash; "" is the root)."""

    bucket: str
    prefix: str

    def key_for(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name


@dataclass(frozen=True)
class ObjectKey:
    """One stored object, or the name a user gave it (the service finds ``key`` or ``key.delta``)."""

    bucket: str
    key: str


@dataclass
class PutSummary:
    operation: str  # "PUT" (stored whole) or "PUT_DELTA"
    bucket: str
    key: str  # where the file's bytes live (reference.bin for the first file of a DeltaSpace)
    file_size: int
    file_hash: str
    delta_size: int | None = None
    delta_hash: str | None = None
    delta_ratio: float | None = None  # measured even when the delta was refused for exceeding max_ratio
    reference_hash: str | None = None
    stored_size: int = 0  # bytes this upload added to the store
    reason: str = ""  # why the file was stored the way it was
    transform: str | None = None  # "zip", "gzip", "xz", "ar", "bzip2": stored as the delta of decoded content


@dataclass
class GetSummary:
    operation: str  # "GET" or "GET_DELTA"
    bucket: str
    key: str  # the stored key that was read
    size: int
    hash: str
    reconstructed: bool
    path: str = ""  # the file written


@dataclass
class VerifyResult:
    valid: bool
    operation: str  # "VERIFY" or "VERIFY_DELTA"
    expected_hash: str
    actual_hash: str | None
    details: str | None
    key: str = ""  # the stored key that was checked


@dataclass
class DeleteResult:
    bucket: str
    key: str  # the stored key asked for
    deleted: list[str] = field(default_factory=list)  # every key removed, the orphaned reference included
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StoredObject:
    """What is recorded about one stored file, read without downloading it."""

    bucket: str
    key: str  # the stored key (``name.delta`` for a delta)
    size: int | None  # the file's original size; None when not recorded
    stored_size: int
    sha256: str | None  # None when the object records none (written without deltaglider)
    is_delta: bool
    last_modified: datetime | None = None


@dataclass(frozen=True)
class ListEntry:
    """One user-visible file, or a sub-folder (``is_prefix``) of a non-recursive listing.

    ``name`` is relative to the folder listed, as the user knows it (no ``.delta``; ``sub/`` for a
    sub-folder), the same on S3 and on a local folder.
    """

    bucket: str
    name: str
    key: str  # the stored key (the folder's key, ending in "/", for a sub-folder)
    original_size: int | None  # None when the object has no recorded size, and for a sub-folder
    stored_size: int
    is_delta: bool
    last_modified: datetime | None = None
    is_prefix: bool = False
    url: str = ""  # the full URL (or local path) of the file as the user names it, or of the sub-folder
    #: The hidden bases that exist only for this file (no other file depends on them): what the file
    #: costs is ``stored_size + base_size``.
    base_size: int = 0
    #: Stored as a full reference made of itself: a base holding the file, its name a zero-diff delta.
    is_reference: bool = False


@dataclass
class StatsSummary:
    bucket: str
    prefix: str
    file_count: int = 0
    delta_count: int = 0
    whole_count: int = 0
    reference_count: int = 0  # bases (references and snapshots), which are not files
    #: Files stored as a full reference of their own (``ListEntry.is_reference``), not counted as deltas.
    reference_file_count: int = 0
    original_bytes: int = 0
    stored_bytes: int = 0  # references included
    reference_bytes: int = 0
    #: The versions kept in the names' histories (not in the counts and bytes above): how many, and
    #: what they take in the store.
    history_count: int = 0
    history_bytes: int = 0

    @property
    def saved_bytes(self) -> int:
        return self.original_bytes - self.stored_bytes

    @property
    def savings_percent(self) -> float:
        if self.original_bytes == 0:
            return 0.0
        return 100.0 * (1.0 - self.stored_bytes / self.original_bytes)


@dataclass
class RetentionResult:
    """What a retention pass removed (or, with ``dry_run``, would remove)."""

    bucket: str
    prefix: str
    dry_run: bool
    kept: list[str] = field(default_factory=list)  # file names
    removed: list[str] = field(default_factory=list)  # file names
    bases_removed: list[str] = field(default_factory=list)  # stored keys
    bytes_freed: int = 0
    warnings: list[str] = field(default_factory=list)
    #: Versions removed from the names' histories, as ``name@version_id``.
    versions_removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VersionInfo:
    """One version of a name: the current one (``is_current``) or one kept in its history.

    ``version_id`` orders a name's versions (a later upload's is greater); ``created_at`` is the
    version's upload time; ``size`` and ``sha256`` are the file's; ``stored_size`` is what the
    version costs in the store (its delta, or the file stored whole). ``name`` is relative to the
    folder listed, as :class:`ListEntry` names files."""

    name: str
    version_id: str
    created_at: datetime | None
    size: int | None
    sha256: str | None
    stored_size: int
    is_current: bool
    is_delta: bool
    key: str  # the stored key of the version's object


@dataclass
class RepackResult:
    """Bytes stored before and after (with ``dry_run``, only what would be re-encoded)."""

    bucket: str
    prefix: str
    dry_run: bool
    files: list[str] = field(default_factory=list)
    stored_before: int = 0
    stored_after: int = 0
    bases_removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # written or deleted since listed: left as they are
