"""What is stored and what would be: object info, bucket statistics, estimates, similar files, the
reference cache; and the batch calls (:mod:`deltaglider.boto_api.batch`)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from deltaglider.boto_api import stats as bucket_stats
from deltaglider.boto_api.batch import BatchCalls
from deltaglider.boto_api.models import BucketStats, CompressionEstimate, ObjectInfo
from deltaglider.core import scratch
from deltaglider.core.family.fingerprint import Fingerprint, estimate_delta_ratio
from deltaglider.core.format.layout import DELTA_SUFFIX, REFERENCE_NAME, display_name, join_key, split_key
from deltaglider.core.format.metadata import parse_head, read_field
from deltaglider.core.models import DeltaSpace, ListEntry, StoredObject
from deltaglider.core.put.private_copy import PrivateCopy
from deltaglider.errors import InvalidURLError, MetadataError
from deltaglider.urls import Location, check_relative_key, parse_url

if TYPE_CHECKING:
    from deltaglider.core.service import DeltaService

#: Files ``find_similar_files`` returns by default, as in the original.
SIMILAR_LIMIT: Final = 5
#: Above this, a file is a candidate (the original's threshold on its name score).
_SIMILAR_ABOVE: Final = 0.5
_VERSION_RE: Final = re.compile(r"v?\d+[\.\d]*")


class _Stored(Protocol):
    """What the info calls use of the client."""

    service: DeltaService

    def _service_for(self, loc: Location) -> DeltaService: ...

    def head(self, url: str) -> StoredObject: ...

    def list(self, url: str, *, recursive: bool = False) -> Iterator[ListEntry]: ...


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


class InfoCalls(BatchCalls):
    """Mixed into DeltaGliderClient."""

    def get_object_info(self, s3_url: str) -> ObjectInfo:
        """What is stored for the file at ``s3_url`` (found as its name or its ``.delta``), from two
        HEADs at most and no download: its size, the stored object's size, the share saved, and for
        a delta the base it is made against. ``NotFoundError`` when there is no such file."""
        client = cast(_Stored, self)
        found = client.head(s3_url)
        loc = parse_url(s3_url)
        head = client._service_for(loc).storage.head(found.bucket, found.key)
        info = parse_head(head) if found.is_delta else None
        base = info.ref_key if info is not None else None
        size = found.size if found.size is not None else found.stored_size
        saved = 1.0 - found.stored_size / size if size and found.is_delta else 0.0
        return ObjectInfo(
            key=display_name(found.key) or found.key,
            size=size,
            last_modified=_iso(found.last_modified),
            etag=head.etag if head is not None else None,
            original_size=size,
            compressed_size=found.stored_size,
            compression_ratio=max(0.0, saved),
            is_delta=found.is_delta,
            reference_key=base,
            delta_chain_length=(2 if base is not None and base.endswith(DELTA_SUFFIX) else 1)
            if found.is_delta
            else 0,
        )

    def get_bucket_stats(
        self,
        bucket: str,
        mode: bucket_stats.StatsMode = "quick",
        use_cache: bool = True,
        refresh_cache: bool = False,
    ) -> BucketStats:
        """Totals of every file in ``bucket`` on the client's store. ``quick``: one listing, no HEAD
        (a delta whose size no earlier HEAD learned counts its stored size: no saving is claimed for
        it); ``sampled``: one HEAD per folder of such deltas, whose size stands for the others;
        ``detailed``: a HEAD of every delta, exact. Totals are cached in the bucket
        (``.deltaglider/stats_native.json``) and reused only while no object of the bucket was
        written or removed since; ``use_cache=False`` neither reads nor writes that cache,
        ``refresh_cache=True`` computes afresh (see :mod:`deltaglider.boto_api.stats`)."""
        service = cast(_Stored, self).service
        summary = bucket_stats.bucket_summary(
            service, _bucket_name(bucket), mode, use_cache=use_cache, refresh_cache=refresh_cache
        )
        return bucket_stats.to_bucket_stats(summary)

    def estimate_compression(
        self,
        file_path: str | Path,
        bucket: str,
        prefix: str = "",
        sample_size: int = 1024 * 1024,
    ) -> CompressionEstimate:
        """What uploading ``file_path`` into ``bucket``/``prefix`` would store now, found by running
        the upload itself with nothing written: the base its fingerprint picks among the folder's
        bases, the delta actually encoded against it (or the reason it would be stored whole), with
        the client's ``max_ratio``. It costs what an upload costs, less the writes: the file read
        and hashed, a listing and a few HEADs, the base fetched unless cached, the encode (within
        the memory gate) and its check. ``confidence`` is 1.0: only a write by someone else in
        between can change the outcome. ``sample_size`` is accepted for the original's signature;
        the whole file is encoded, as the upload would."""
        if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
            raise ValueError(f"sample_size must be a positive number of bytes, not {sample_size!r}")
        file = Path(file_path)
        if not file.is_file():
            raise FileNotFoundError(f"{file}: no such file")
        folder = prefix.strip("/")
        if folder:
            check_relative_key(folder, f"prefix {prefix!r}")
        service = cast(_Stored, self).service
        run = service.dry_run_put(file, DeltaSpace(_bucket_name(bucket), folder))
        summary = run.summary
        size = summary.file_size
        adds = summary.stored_size
        return CompressionEstimate(
            original_size=size,
            estimated_compressed_size=adds,
            estimated_ratio=min(1.0, max(0.0, 1.0 - adds / size)) if size else 0.0,
            confidence=1.0,
            recommended_reference=run.base_key,
            should_use_delta=summary.operation == "PUT_DELTA",
        )

    def find_similar_files(
        self, bucket: str, prefix: str, filename: str, limit: int = SIMILAR_LIMIT
    ) -> list[dict[str, Any]]:
        """Stored files under ``prefix`` (a key prefix) that could serve as bases for ``filename``,
        best first: ``[{"Key", "Size", "Similarity", "LastModified"}]``, ``Size`` the file's size.
        ``Similarity`` (0..1) scores names as the original does (same extension, one name inside the
        other, both versioned); when ``filename`` is a file on this machine, a folder's reference is
        scored by its recorded fingerprint against that file's instead when that is higher (the
        share of the file a delta against it would copy), so content alike under other names counts.
        Only scores above 0.5 are returned."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"limit must be a number of files, not {limit!r}")
        client = cast(_Stored, self)
        name = _bucket_name(bucket)
        folder = prefix.rpartition("/")[0]
        entries = [
            entry
            for entry in client.list(f"s3://{name}/{join_key(folder, '')}", recursive=True)
            if not entry.is_prefix
        ]
        keys = {id(entry): join_key(folder, entry.name) for entry in entries}
        scores = {
            id(entry): _name_score(filename, keys[id(entry)])
            for entry in entries
            if keys[id(entry)].startswith(prefix)
        }
        local = Path(filename)
        if local.is_file():
            by_key = {keys[id(entry)]: entry for entry in entries if id(entry) in scores}
            for key, score in _content_scores(client.service, name, local, by_key).items():
                ident = id(by_key[key])
                scores[ident] = max(scores[ident], score)
        found = [
            {
                "Key": keys[id(entry)],
                "Size": entry.original_size if entry.original_size is not None else entry.stored_size,
                "Similarity": scores[id(entry)],
                "LastModified": entry.last_modified,
            }
            for entry in entries
            if scores.get(id(entry), 0.0) > _SIMILAR_ABOVE
        ]
        found.sort(key=lambda item: -cast(float, item["Similarity"]))
        return found[:limit]

    def clear_cache(self) -> None:
        """Empties the client's reference cache (the entries no transfer is reading now) and forgets
        what it learned of each folder's bases: the next transfer fetches what it needs again.
        Touches nothing but the cache's own entries."""
        cast(_Stored, self).service.clear_cache()


def _bucket_name(bucket: str) -> str:
    """A bucket as the original takes it: a bare name, or ``s3://name`` with or without ``/``."""
    text = bucket.strip()
    if text.lower().startswith("s3://"):
        loc = parse_url(text)
        if loc.key:
            raise InvalidURLError(f"{bucket!r}: a bucket is named here, not a key")
        return loc.bucket
    if not text or "/" in text:
        raise InvalidURLError(f"{bucket!r} is not a bucket name")
    return text


def _name_score(filename: str, key: str) -> float:
    """The original's score of ``key`` as a base for ``filename``, by name alone."""
    mine, theirs = Path(filename), Path(key)
    score = 0.0
    if mine.suffix == theirs.suffix:
        score += 0.5
    if mine.stem in theirs.stem or theirs.stem in mine.stem:
        score += 0.3
    if _VERSION_RE.search(mine.stem) and _VERSION_RE.search(theirs.stem):
        score += 0.2
    return round(score, 6)


def _content_scores(
    service: DeltaService, bucket: str, local: Path, files: dict[str, ListEntry]
) -> dict[str, float]:
    """For the file each folder's ``reference.bin`` was made of (named by it, among ``files``), the
    share of ``local`` that a delta against it would copy, by their fingerprints: one HEAD per
    folder. Fingerprints of the form the reference recorded (``local`` decoded for an archive, in a
    scratch copy: the file itself is only read)."""
    folders = {split_key(key)[0] for key in files}
    found: dict[str, float] = {}
    heads = [
        (folder, service.storage.head(bucket, join_key(folder, REFERENCE_NAME))) for folder in sorted(folders)
    ]
    recorded: list[tuple[str, Fingerprint]] = []
    for folder, head in heads:
        text = read_field(head.metadata, "fingerprint") if head is not None else None
        source = read_field(head.metadata, "source_name") if head is not None else None
        if text is None or source is None or join_key(folder, source) not in files:
            continue
        try:
            recorded.append((join_key(folder, source), Fingerprint.from_text(text)))
        except MetadataError:
            continue
    if not recorded:
        return found
    room = scratch.make()
    try:
        copy_path = room / "file"
        shutil.copyfile(local, copy_path)
        copy = PrivateCopy(copy_path, copy_path.stat().st_size, "", decodes=not service.original_compatible)
        for key, base in recorded:
            taken = copy.fingerprint(base.form)
            if taken is not None:
                found[key] = _copied_share(base, taken)
        copy.release()
    finally:
        shutil.rmtree(room, ignore_errors=True)
    return found


def _copied_share(base: Fingerprint, target: Fingerprint) -> float:
    """The share of ``target`` a delta against ``base`` copies, by their fingerprints: the predicted
    delta ratio is the new share times how well new data packs."""
    packed = target.packed_permille / 1000
    if not target.hashes or packed == 0:
        return 0.0
    return round(min(1.0, max(0.0, 1.0 - estimate_delta_ratio(base, target) / packed)), 6)
