"""A bucket's totals in the original's three modes, with a cache kept in the bucket that is used only
while the bucket is as it was when the totals were made.

Modes, as in the original 6.2.0:

- ``quick``: one listing, no HEAD. A listing says no delta's file size: a delta whose size this
  cache learned from an earlier HEAD of the same version of it counts that size; any other counts
  its stored size, so that ``quick`` never claims a saving it has not seen.
- ``sampled``: the listing, and one HEAD per folder holding deltas of unknown size; that file's size
  stands for the other unknown deltas of its folder (versions of one file are about the same size).
- ``detailed``: the listing and a HEAD of every delta (the service's own ``stats``): exact.

The cache is one object, ``.deltaglider/stats_native.json`` in the bucket (the folder the original
keeps its ``stats_<mode>.json`` in, which listings hide; its own files are left alone). It holds the
totals of each mode made for one listing, named by a SHA-256 of every object's key, size and version
(ETag, or modification time where the store lists no ETag), and the file sizes that HEADs found, per
key and version. Any upload, overwrite or delete changes that digest, so totals are reused only for
the very objects they were made of (the original compares the object count and total size only,
which a same-size overwrite, or an upload and a delete together, leave as they were). The digest
and the totals come from one listing; the cache object itself and the rest of ``.deltaglider/`` are
not part of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, cast, get_args

from deltaglider.boto_api.models import BucketStats
from deltaglider.core.format.layout import (
    DELTA_SUFFIX,
    HELPER_FOLDER,
    is_base_name,
    is_helper_key,
    is_version_key,
    split_key,
)
from deltaglider.core.format.metadata import parse_head
from deltaglider.core.models import DeltaSpace, StatsSummary
from deltaglider.core.service import DeltaService
from deltaglider.errors import DeltaGliderError, NotFoundError
from deltaglider.ports.storage import ObjectHead, StoragePort
from deltaglider.read_once import ReadOnce

log = logging.getLogger(__name__)

StatsMode: TypeAlias = Literal["quick", "sampled", "detailed"]
MODES: Final[tuple[StatsMode, ...]] = get_args(StatsMode)

#: Where the cache lives in the bucket: beside the original's stats files, hidden from listings.
CACHE_KEY: Final = HELPER_FOLDER + "stats_native.json"
_FORMAT: Final = "deltaglider-native-stats"
_VERSION: Final = 1
#: A cache object larger than this is not read (it is rewritten by the next computation).
_MAX_CACHE_BYTES: Final = 256 << 20
#: The cached totals that answer a request for a mode, best first: exact ones made of the same
#: objects beat an estimate.
_ANSWERS: Final[dict[StatsMode, tuple[StatsMode, ...]]] = {
    "quick": ("detailed", "quick"),
    "sampled": ("detailed", "sampled"),
    "detailed": ("detailed",),
}


def check_mode(mode: str) -> StatsMode:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; not {mode!r}")
    return mode


def to_bucket_stats(summary: StatsSummary) -> BucketStats:
    """The original's shape of the totals. Files stored as references of their own are stored as
    deltas (their bytes are in the base): the original counts them among ``delta_objects`` too."""
    saved = max(0, summary.original_bytes - summary.stored_bytes)
    return BucketStats(
        bucket=summary.bucket,
        object_count=summary.file_count,
        total_size=summary.original_bytes,
        compressed_size=summary.stored_bytes,
        space_saved=saved,
        average_compression_ratio=saved / summary.original_bytes if summary.original_bytes else 0.0,
        delta_objects=summary.delta_count + summary.reference_file_count,
        direct_objects=summary.whole_count,
        object_limit_reached=False,
    )


def bucket_summary(
    service: DeltaService,
    bucket: str,
    mode: StatsMode = "quick",
    *,
    use_cache: bool = True,
    refresh_cache: bool = False,
) -> StatsSummary:
    """The totals of every file in ``bucket`` in ``mode`` (module doc). ``use_cache`` False neither
    reads nor writes the cache; ``refresh_cache`` computes afresh and writes the result."""
    mode = check_mode(mode)
    reads = _Reads(service.storage)
    listed = _listed(reads, bucket)
    versions = _kept_versions(reads, bucket)
    # The names' histories count apart (history_count, history_bytes), and a change to them is a
    # change to the totals.
    digest = _digest(listed + versions)
    cached = _load(service.storage, bucket) if use_cache and not refresh_cache else None
    if cached is not None and cached.listing == digest:
        for answering in _ANSWERS[mode]:
            found = cached.results.get(answering)
            if found is not None:
                log.debug("bucket stats from the cache", extra={"bucket": bucket, "mode": answering})
                return found
    known = cached.sizes_for(listed) if cached is not None else {}
    if mode == "detailed":
        # The service's exact totals, from the very listing the digest was taken of.
        summary = service.with_storage(cast(StoragePort, reads)).stats(DeltaSpace(bucket, ""), recursive=True)
    else:
        summary = _estimated(reads, bucket, listed, known, sampled=mode == "sampled")
        summary.history_count = len(versions)
        summary.history_bytes = sum(obj.size for obj in versions)
    if use_cache:
        kept = dict(cached.results) if cached is not None and cached.listing == digest else {}
        kept[mode] = summary
        sizes = {**known, **_learned(reads.heads, listed)}
        _save(service.storage, bucket, _Cache(digest, kept, sizes))
    return summary


class _Reads:
    """The store read through :class:`ReadOnce` (one listing serves the digest and the totals), with
    a record of what each HEAD found."""

    def __init__(self, inner: StoragePort) -> None:
        self._once = ReadOnce(inner)
        self.heads: dict[str, ObjectHead] = {}
        self._lock = threading.Lock()

    def list(self, bucket: str, prefix: str, *, recursive: bool = True) -> Iterator[ObjectHead]:
        return self._once.list(bucket, prefix, recursive=recursive)

    def head(self, bucket: str, key: str) -> ObjectHead | None:
        found = self._once.head(bucket, key)
        if found is not None:
            with self._lock:
                self.heads[key] = found
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._once, name)


def _listed(reads: _Reads, bucket: str) -> list[ObjectHead]:
    """Every object of the bucket the totals are made of, in key order (``.deltaglider/`` left out,
    as the service's ``stats`` leaves it out)."""
    return [
        obj
        for obj in reads.list(bucket, "", recursive=True)
        if not obj.is_prefix and not is_helper_key(obj.key)
    ]


def _kept_versions(reads: _Reads, bucket: str) -> list[ObjectHead]:
    """The versions kept in the bucket's histories (inside ``.deltaglider/`` folders), from the same
    listing as :func:`_listed`."""
    return [
        obj for obj in reads.list(bucket, "", recursive=True) if not obj.is_prefix and is_version_key(obj.key)
    ]


def _version(obj: ObjectHead) -> str:
    """What tells one version of an object from the next, as a listing gives it."""
    if obj.etag:
        return obj.etag
    return obj.last_modified.isoformat() if obj.last_modified is not None else ""


def _digest(listed: list[ObjectHead]) -> str:
    sha = hashlib.sha256()
    for obj in listed:
        sha.update(f"{obj.key}\0{obj.size}\0{_version(obj)}\n".encode())
    return sha.hexdigest()


def _file_size(head: ObjectHead | None) -> int | None:
    info = parse_head(head)
    return info.file_size if info is not None else None


@dataclass(frozen=True)
class _Known:
    """A delta's file size, as a HEAD found it, for one version of the delta."""

    version: str
    stored_size: int
    file_size: int


def _learned(heads: Mapping[str, ObjectHead], listed: list[ObjectHead]) -> dict[str, _Known]:
    """The file sizes the HEADs of this computation found, for the deltas as listed."""
    found: dict[str, _Known] = {}
    for obj in listed:
        size = _file_size(heads.get(obj.key)) if obj.key.endswith(DELTA_SUFFIX) else None
        if size is not None:
            found[obj.key] = _Known(_version(obj), obj.size, size)
    return found


def _estimated(
    reads: _Reads, bucket: str, listed: list[ObjectHead], known: Mapping[str, _Known], *, sampled: bool
) -> StatsSummary:
    """``quick`` and ``sampled`` totals (module doc), classifying objects by key as a listing can."""
    summary = StatsSummary(bucket=bucket, prefix="")
    unknown: defaultdict[str, list[ObjectHead]] = defaultdict(list)
    for obj in listed:
        summary.stored_bytes += obj.size
        folder, name = split_key(obj.key)
        if is_base_name(name):
            summary.reference_count += 1
            summary.reference_bytes += obj.size
            continue
        summary.file_count += 1
        if not obj.key.endswith(DELTA_SUFFIX):
            summary.whole_count += 1
            summary.original_bytes += obj.size
            continue
        summary.delta_count += 1
        if obj.key in known:
            summary.original_bytes += known[obj.key].file_size
        else:
            unknown[folder].append(obj)
    for deltas in unknown.values():
        stand_in = _file_size(reads.head(bucket, deltas[0].key)) if sampled else None
        for obj in deltas:
            summary.original_bytes += stand_in if stand_in is not None else obj.size
    return summary


@dataclass(frozen=True)
class _Cache:
    listing: str
    results: dict[StatsMode, StatsSummary]
    sizes: dict[str, _Known]

    def sizes_for(self, listed: list[ObjectHead]) -> dict[str, _Known]:
        """The sizes known of the deltas as listed now: a delta rewritten since is not known."""
        found: dict[str, _Known] = {}
        for obj in listed:
            known = self.sizes.get(obj.key)
            if known is not None and known.version == _version(obj) and known.stored_size == obj.size:
                found[obj.key] = known
        return found

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _FORMAT,
                "version": _VERSION,
                "listing": self.listing,
                "results": {mode: asdict(summary) for mode, summary in self.results.items()},
                "sizes": {key: [k.version, k.stored_size, k.file_size] for key, k in self.sizes.items()},
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> _Cache:
        """Raises ``ValueError`` (or ``TypeError``, ``KeyError``) for anything but what ``to_json`` wrote."""
        doc = json.loads(text)
        if doc.get("format") != _FORMAT or doc.get("version") != _VERSION:
            raise ValueError("not a cache of this version")
        listing = doc["listing"]
        if not isinstance(listing, str):
            raise TypeError("listing")
        results = {check_mode(mode): _summary(value) for mode, value in doc["results"].items()}
        sizes = {str(key): _known(value) for key, value in doc["sizes"].items()}
        return cls(listing, results, sizes)


_SUMMARY_FIELDS: Final = {f.name: f.type for f in fields(StatsSummary)}


def _summary(value: Mapping[str, object]) -> StatsSummary:
    if set(value) != set(_SUMMARY_FIELDS):
        raise ValueError("unexpected totals")
    for name, item in value.items():
        wanted = str if _SUMMARY_FIELDS[name] in ("str", str) else int
        if not isinstance(item, wanted) or isinstance(item, bool):
            raise TypeError(name)
    return StatsSummary(**cast(dict[str, Any], value))


def _known(value: object) -> _Known:
    if not isinstance(value, list) or len(value) != 3:
        raise TypeError("size record")
    version, stored, size = value
    if not isinstance(version, str) or not all(type(n) is int and n >= 0 for n in (stored, size)):
        raise TypeError("size record")
    return _Known(version, stored, size)


def _load(storage: StoragePort, bucket: str) -> _Cache | None:
    """The bucket's cache, or None when there is none or it cannot be read as one."""
    with tempfile.TemporaryDirectory(prefix="deltaglider-stats-") as folder:
        path = Path(folder) / "cache.json"
        try:
            storage.get_file(bucket, CACHE_KEY, path)
            if path.stat().st_size > _MAX_CACHE_BYTES:
                return None
            return _Cache.from_json(path.read_text("utf-8"))
        except NotFoundError:
            return None
        except (DeltaGliderError, OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("the bucket stats cache %s cannot be read; computing afresh: %s", CACHE_KEY, exc)
            return None


def _save(storage: StoragePort, bucket: str, cache: _Cache) -> None:
    """Writes the cache; a store that refuses it (read-only credentials) only loses the cache."""
    with tempfile.TemporaryDirectory(prefix="deltaglider-stats-") as folder:
        path = Path(folder) / "cache.json"
        path.write_text(cache.to_json(), "utf-8")
        try:
            storage.put_file(bucket, CACHE_KEY, path, {})
        except DeltaGliderError as exc:
            log.warning("the bucket stats cache %s was not written: %s", CACHE_KEY, exc)
