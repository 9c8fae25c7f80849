"""The on-storage metadata schema: what we write (the original 6.2.0's ``dg-`` keys) and what we read
(every spelling it or the Rust gateway ever wrote).

Keys are lowercase user metadata without the ``x-amz-meta-`` prefix.
"""

from __future__ import annotations

import base64
import enum
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from typing import TYPE_CHECKING, Final

from deltaglider.core.format.layout import REFERENCE_NAME, split_key
from deltaglider.errors import MetadataError

if TYPE_CHECKING:
    from deltaglider.ports.storage import ObjectHead

_SHA256_RE: Final = re.compile(r"^[0-9a-f]{64}$")
ZERO_DIFF_NOTE: Final = "zero-diff (reference identical)"
REFERENCE_NOTE: Final = "reference"
#: A base stored as a delta against a full reference (ours only: a snapshot).
SNAPSHOT_NOTE: Final = "snapshot"
#: Ours, on bases: what recent uploads of each container kind chose (family.choices). Read in this
#: spelling only: no earlier writer used another, and user metadata may not start with ``dg-``.
CHOICES_KEY: Final = "dg-choices"


def aliases(field: str) -> tuple[str, ...]:
    """The spellings of a field, in the order the original tried them: dg-kebab, dg_snake, snake,
    kebab. ``field`` is given in snake_case."""
    kebab = field.replace("_", "-")
    return (f"dg-{kebab}", f"dg_{field}", field, kebab)


def encode_value(value: str) -> str:
    """S3 user metadata travels as HTTP headers, which carry ASCII only: a non-ASCII value (a file
    named ``résumé.zip``) is written as an RFC 2047 encoded word, the form S3 itself returns such
    metadata in."""
    if value.isascii():
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def decode_value(value: str) -> str:
    """The inverse of :func:`encode_value`, for any RFC 2047 word (S3 may also use Q-encoding)."""
    if not value.startswith("=?"):
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeDecodeError):
        return value  # not an encoded word after all: keep it as written


def _encoded(metadata: dict[str, str]) -> dict[str, str]:
    return {key: encode_value(value) for key, value in metadata.items()}


def read_field(metadata: Mapping[str, str], field: str) -> str | None:
    """The first non-empty value among the field's spellings, decoded."""
    for key in aliases(field):
        value = metadata.get(key)
        if value:
            return decode_value(value)
    return None


class Kind(enum.Enum):
    PLAIN = "plain"  # no SHA-256: written by another tool or the original's --no-delta
    WHOLE = "whole"  # a file stored as is, with its SHA-256
    REFERENCE = "reference"  # a DeltaSpace's reference.bin
    DELTA = "delta"


@dataclass(frozen=True)
class Transform:
    """How a transformed delta's body is read: ``container`` (``zip``/``gzip``) decoded, against the
    reference's base of ``base_format`` whose SHA-256 is ``base_sha256``."""

    container: str
    base_format: str
    base_sha256: str


@dataclass(frozen=True)
class StoredInfo:
    """What an object's metadata says about it."""

    kind: Kind
    file_sha256: str | None = None
    file_size: int | None = None
    original_name: str | None = None
    ref_key: str | None = None  # already resolved to a full key in the same bucket
    ref_sha256: str | None = None
    delta_size: int | None = None
    note: str | None = None
    tool: str | None = None
    #: Set for a delta of decoded content (ours only): the container, and the base it was made against.
    transform: Transform | None = None


def _int_field(metadata: Mapping[str, str], field: str, key: str) -> int | None:
    raw = read_field(metadata, field)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise MetadataError(f"{key}: metadata {field}={raw!r} is not an integer") from None
    if value < 0:
        raise MetadataError(f"{key}: metadata {field}={raw!r} is negative")
    return value


def _resolve_ref_path(delta_key: str, ref_path: str) -> str:
    """The Rust gateway's ``dg-ref-path`` is relative to the delta's own prefix."""
    prefix, _ = split_key(delta_key)
    joined = posixpath.normpath(posixpath.join(prefix, ref_path)) if prefix else posixpath.normpath(ref_path)
    if ref_path.startswith("/") or joined == ".." or joined.startswith("../"):
        raise MetadataError(f"{delta_key}: dg-ref-path {ref_path!r} leaves the bucket")
    return joined


def parse(metadata: Mapping[str, str], key: str) -> StoredInfo:
    """Classifies an object from its metadata, as the original's read path does, plus references and
    the gateway's ``dg-ref-path``."""
    sha = read_field(metadata, "file_sha256")
    note = read_field(metadata, "note")
    tool = read_field(metadata, "tool")
    if not sha:
        return StoredInfo(kind=Kind.PLAIN, note=note, tool=tool)
    sha = sha.lower()
    size = _int_field(metadata, "file_size", key)
    original_name = read_field(metadata, "original_name") or read_field(metadata, "source_name")
    compression = read_field(metadata, "compression")
    # "passthrough": the Rust gateway's note for a file stored whole.
    if (compression or "").lower() == "none" or note == "passthrough":
        return StoredInfo(Kind.WHOLE, sha, size, original_name, note=note, tool=tool)
    ref_key = read_field(metadata, "ref_key")
    ref_path = read_field(metadata, "ref_path")
    if ref_key is None and ref_path is not None:
        ref_key = _resolve_ref_path(key, ref_path)
    if ref_key is None:
        _, name = split_key(key)
        kind = Kind.REFERENCE if note == REFERENCE_NOTE or name == REFERENCE_NAME else Kind.WHOLE
        return StoredInfo(kind, sha, size, original_name, note=note, tool=tool)
    ref_sha = read_field(metadata, "ref_sha256")
    container = read_field(metadata, "transform")
    transform = None
    if container is not None:
        base_format = read_field(metadata, "base_format")
        base_sha = read_field(metadata, "base_sha256")
        if not base_format or not base_sha:
            raise MetadataError(f"{key}: dg-transform without dg-base-format and dg-base-sha256")
        if not _SHA256_RE.match(base_sha.lower()):
            raise MetadataError(f"{key}: dg-base-sha256={base_sha!r} is not a SHA-256")
        transform = Transform(container, base_format, base_sha.lower())
    return StoredInfo(
        Kind.DELTA,
        sha,
        size,
        original_name,
        ref_key=ref_key,
        ref_sha256=ref_sha.lower() if ref_sha else None,
        delta_size=_int_field(metadata, "delta_size", key),
        note=note,
        tool=tool,
        transform=transform,
    )


def format_created_at(moment: datetime) -> str:
    """The original's form: naive UTC ``isoformat()`` plus ``Z``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat() + "Z"


def parse_head(head: ObjectHead | None) -> StoredInfo | None:
    """What a HEAD's metadata says; None for no object, or metadata no writer we know of wrote."""
    if head is None:
        return None
    try:
        return parse(head.metadata, head.key)
    except MetadataError:
        return None


def parse_created_at(raw: str | None) -> datetime | None:
    """The inverse of :func:`format_created_at` (UTC), or None for a missing or foreign value."""
    if raw:
        for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
            try:
                return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
    return None


def reference_metadata(
    *,
    tool: str,
    source_name: str,
    sha256: str,
    created_at: datetime,
    fingerprint: str | None = None,
    choices: str | None = None,
) -> dict[str, str]:
    """A DeltaSpace's ``reference.bin``; with ``fingerprint`` and ``choices``, what later uploads
    choose by (family.bases, family.choices)."""
    meta = {
        "dg-tool": tool,
        "dg-source-name": source_name,
        "dg-file-sha256": sha256,
        "dg-created-at": format_created_at(created_at),
        "dg-note": REFERENCE_NOTE,
    }
    if fingerprint is not None:
        # Ours: lets an upload pick among several bases without fetching them (family.bases).
        meta["dg-fingerprint"] = fingerprint
    _add_choices(meta, choices)
    return _encoded(meta)


def delta_metadata(
    *,
    tool: str,
    original_name: str,
    sha256: str,
    size: int,
    created_at: datetime,
    ref_key: str,
    ref_sha256: str,
    delta_size: int,
    write_stamp: str,
    zero_diff: bool = False,
    transform: Transform | None = None,
    snapshot_fingerprint: str | None = None,
    source_mtime: datetime | None = None,
    choices: str | None = None,
) -> dict[str, str]:
    """A delta's metadata; with ``snapshot_fingerprint``, a snapshot base's (family.bases), which
    may also record ``choices`` (family.choices)."""
    meta = {
        "dg-tool": tool,
        "dg-original-name": original_name,
        "dg-file-sha256": sha256,
        "dg-file-size": str(size),
        "dg-created-at": format_created_at(created_at),
        "dg-ref-key": ref_key,
        "dg-ref-sha256": ref_sha256,
        "dg-delta-size": str(delta_size),
        # Informational only, as the original wrote it; no command is run.
        "dg-delta-cmd": f"xdelta3 -e -9 -s {REFERENCE_NAME} {original_name} {original_name}.delta",
        # Ours, not the original's (which ignores it): which of two uploads of one name is the later.
        "dg-write-stamp": write_stamp,
    }
    if zero_diff:
        meta["dg-note"] = ZERO_DIFF_NOTE
    if snapshot_fingerprint is not None:
        # S3 user metadata is capped at 2 KB and the fingerprint takes about 1 KB: the informational
        # command line goes.
        del meta["dg-delta-cmd"]
        meta["dg-note"] = SNAPSHOT_NOTE
        meta["dg-fingerprint"] = snapshot_fingerprint
        _add_choices(meta, choices)
    if transform is not None:
        # Ours only. The original 6.2.0 ignores these keys, and its xdelta3 then refuses the body
        # (it does not start with VCDIFF's magic): an error, never a wrong file.
        meta["dg-transform"] = transform.container
        meta["dg-base-format"] = transform.base_format
        meta["dg-base-sha256"] = transform.base_sha256
    _add_source_mtime(meta, source_mtime)
    return _encoded(meta)


def whole_metadata(
    *,
    tool: str,
    original_name: str,
    sha256: str,
    size: int,
    created_at: datetime,
    write_stamp: str,
    fingerprint: str | None = None,
    source_mtime: datetime | None = None,
    choices: str | None = None,
) -> dict[str, str]:
    """A file stored whole; with ``fingerprint``, one that later uploads may use as a base
    (family.bases), which may also record ``choices`` (family.choices)."""
    meta = {
        "dg-tool": tool,
        "dg-original-name": original_name,
        "dg-file-sha256": sha256,
        "dg-file-size": str(size),
        "dg-created-at": format_created_at(created_at),
        "dg-compression": "none",
        "dg-write-stamp": write_stamp,
    }
    if fingerprint is not None:
        meta["dg-fingerprint"] = fingerprint
        _add_choices(meta, choices)
    _add_source_mtime(meta, source_mtime)
    return _encoded(meta)


def _add_source_mtime(meta: dict[str, str], source_mtime: datetime | None) -> None:
    # Ours: when the user's file was made, which orders a family better than when it was uploaded
    # (a parallel upload stores releases in any order). Retention reads it (core.retention).
    if source_mtime is not None:
        meta["dg-source-mtime"] = format_created_at(source_mtime)


def _add_choices(meta: dict[str, str], choices: str | None) -> None:
    # Ours, on a base only: which delta the recent uploads of each container kind chose, so that an
    # upload in another process knows whether to make the decoded one (family.choices).
    if choices is not None:
        meta[CHOICES_KEY] = choices
