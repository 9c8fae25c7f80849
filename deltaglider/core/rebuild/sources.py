"""The one source of verified content by SHA-256: a DeltaSpace's base, or the decoded base of a reference,
taken from the cache, or downloaded, or rebuilt (a snapshot: a base stored as a delta against a full
reference), or derived (the decoded base of an archive reference); and the rebuild of a delta's file
from them. Uploads and downloads alike get their content here, through :func:`open`.

Whatever it downloads, rebuilds or derives is hashed once, as it is written, and then adopted by the
cache as it is (``CachePort.adopt``): neither copied nor hashed a second time. Nothing is used or
cached before its SHA-256 matched, and every decode stops at the size its metadata records.

A delta is rebuilt only from a base of its own DeltaSpace. Its metadata names the base by key, but
that key is written by whoever wrote the delta: followed as is, a delta planted in one folder would
rebuild a file out of another folder's reference (or, on a folder store, out of any file under the
same top-level folder). So a named key counts only by its name, looked up in the delta's own folder,
and only when that name may hold a base (a delta's name never does); the folder's ``reference.bin``
comes next; the SHA-256 decides.
The cache is asked for the same keys: an entry is found by the key it was fetched from as well as by
its SHA-256, never by the SHA-256 alone.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple, TypeAlias

from deltaglider.core.context import Context
from deltaglider.core.format.layout import (
    DELTA_SUFFIX,
    base_key,
    is_base_name,
    join_key,
    reference_key,
    split_key,
)
from deltaglider.core.format.metadata import Kind, StoredInfo, parse, read_field
from deltaglider.core.rebuild import archives, legacy
from deltaglider.errors import DecodeError, DeltaGliderError, IntegrityError, MetadataError, NotFoundError
from deltaglider.ports.storage import ProgressCallback
from deltaglider.transforms.base import BASE_FORMAT


class BaseUnavailableError(DeltaGliderError):
    """No key holds the base with that SHA-256 any more (removed or replaced meanwhile): an upload
    that chose it chooses again."""


class BaseNotFoundError(BaseUnavailableError, NotFoundError):
    pass


class BaseMismatchError(BaseUnavailableError, IntegrityError):
    pass


def may_hold_a_base(name: str) -> bool:
    """Whether an object of this name (a key's last part) may be a base: one of the DeltaSpace's
    hidden bases, or a file stored whole, which may serve as one (family.bases); never a delta."""
    return is_base_name(name) or (bool(name) and not name.endswith(DELTA_SUFFIX))


def candidate_keys(delta_key: str, ref_key: str | None) -> list[str]:
    """Where a delta's reference may be, all in the delta's own folder: the base its metadata names,
    by that name (a folder copied or renamed still finds it), then the folder's reference.bin. A
    named key that cannot hold a base counts for nothing. Which one is right is decided by SHA-256."""
    prefix, _ = split_key(delta_key)
    keys = []
    if ref_key:
        _, name = split_key(ref_key)
        if may_hold_a_base(name):
            keys.append(join_key(prefix, name))
    sibling = reference_key(prefix)
    if sibling not in keys:
        keys.append(sibling)
    return keys


def lookup_order(keys: Sequence[str], sha256: str) -> list[str]:
    """The keys a base with the SHA-256 ``sha256`` is looked for at, in order: the first of ``keys``
    that may hold a base, then where the protocol keeps a base that was removed or replaced while a
    delta was stored against it (its content's own base key, core.protocol), then the rest. Whatever
    else a caller was handed is never read."""
    keys = [key for key in keys if may_hold_a_base(split_key(key)[1])]
    if not keys:
        return []
    own = base_key(split_key(keys[0])[0], sha256, snapshot=False)
    return [keys[0], *([own] if own not in keys else []), *keys[1:]]


def derived_origin(ctx: Context, bucket: str, key: str) -> str:
    """The cache origin of what is derived from the bases of ``key``'s folder (their decoded
    content): scoped to that folder, as the bases themselves are, and known before any of them is
    looked at, so a warm download of a delta there needs nothing but the delta."""
    prefix, _ = split_key(key)
    return ctx.storage.url(bucket, join_key(prefix, "")) + "#derived"


def base_origin(ref_sha256: str) -> str:
    """What the cache keeps a reference's decoded base under when no folder scopes it."""
    return f"decoded base of {ref_sha256}"


@dataclass(frozen=True)
class Base:
    """A DeltaSpace's base with the SHA-256 ``sha256``, at one of ``keys`` of ``bucket`` (all in one
    folder: see :func:`candidate_keys`). Stored whole, or as a snapshot."""

    bucket: str
    keys: tuple[str, ...]
    sha256: str


@dataclass(frozen=True)
class Held:
    """Content the caller holds already, checked against ``sha256``."""

    path: Path
    sha256: str


@dataclass(frozen=True)
class Decoded:
    """The decoded base (:mod:`deltaglider.transforms.base`) of the reference ``of``, cached under
    ``origin`` (:func:`derived_origin`; :func:`base_origin` when None). ``sha256``, when known (a
    delta names the base it was made against), is what it must hash to."""

    of: Base | Held
    origin: str | None = None
    sha256: str | None = None
    base_format: str = BASE_FORMAT  # the rules it was derived by (transforms.base)


#: What :func:`open` is asked for.
Want: TypeAlias = Base | Held | Decoded


class Verified(NamedTuple):
    """A local file and the SHA-256 it was checked to have."""

    path: Path
    sha256: str


class _Derivations:
    """The SHA-256 of each reference's decoded base, once this process derived it: a cached decoded
    base is then found without decoding the reference again (an upload is not told it)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, ref_sha256: str, base_format: str) -> str | None:
        with self._lock:
            return self._known.get((ref_sha256, base_format))

    def remember(self, ref_sha256: str, base_format: str, base_sha256: str) -> None:
        with self._lock:
            self._known[(ref_sha256, base_format)] = base_sha256


_DERIVED: Final = _Derivations()


# Named for what callers write, ``sources.open(...)``; this module reads no file by the builtin's name.
@contextmanager
def open(
    ctx: Context, want: Want, *, fresh: bool = False, progress: ProgressCallback | None = None
) -> Iterator[Verified]:
    """Yields a local file with the content ``want`` names, checked against its SHA-256. ``fresh``:
    never from the cache (what is stored is checked; what is checked is still cached). ``progress``
    gets the bytes of a base that is downloaded. Raises :class:`BaseUnavailableError` when no key
    holds the base, :class:`IntegrityError` when a decoded base is not the one named."""
    with _open(ctx, want, fresh=fresh, progress=progress, snapshots=True) as verified:
        yield verified


def _open(
    ctx: Context, want: Want, *, fresh: bool, progress: ProgressCallback | None, snapshots: bool
) -> AbstractContextManager[Verified]:
    if isinstance(want, Held):
        return nullcontext(Verified(want.path, want.sha256))
    if isinstance(want, Base):
        return _base(ctx, want, fresh=fresh, progress=progress, snapshots=snapshots)
    return _decoded(ctx, want, fresh=fresh, progress=progress, snapshots=snapshots)


@contextmanager
def _base(
    ctx: Context, want: Base, *, fresh: bool, progress: ProgressCallback | None, snapshots: bool
) -> Iterator[Verified]:
    """A base from the cache entry one of its keys left there, else downloaded (or rebuilt, a
    snapshot) from the first of its keys that holds it, and adopted by the cache under that key.
    Without ``snapshots``, a base stored as a delta does not count: the snapshot's own base must be
    a full reference, so no file is more than two decodes away."""
    bucket, sha256 = want.bucket, want.sha256
    keys = lookup_order(want.keys, sha256)
    if not fresh:
        for key in keys:
            with ctx.cache.use(sha256, origin=ctx.storage.url(bucket, key)) as cached:
                if cached is not None:
                    ctx.metrics.increment("cache.hit")
                    yield Verified(cached, sha256)
                    return
        ctx.metrics.increment("cache.miss")
    mismatched: list[str] = []
    with ctx.cache.scratch() as room:
        for key in keys:
            head = ctx.storage.head(bucket, key)
            if head is None:
                continue
            recorded = read_field(head.metadata, "file_sha256")
            if recorded and recorded.lower() != sha256:
                mismatched.append(key)
                continue
            local = room / "reference"
            if read_field(head.metadata, "ref_key"):
                if not snapshots:
                    mismatched.append(key)
                    continue
                actual = _rebuild_snapshot(
                    ctx, bucket, key, head.metadata, local, fresh=fresh, progress=progress
                )
                if actual is None:
                    continue  # removed since its HEAD
            else:
                try:
                    ctx.storage.get_file(bucket, key, local, progress)
                except NotFoundError:
                    continue  # removed since its HEAD
                actual = ctx.hasher.sha256_file(local)
            if actual != sha256:
                # What it holds instead stays untold: a hash of content the caller did not ask for
                # would let a delta elsewhere name it.
                ctx.logger.warning("reference content does not match its expected SHA-256", key=key)
                mismatched.append(key)
                continue
            with ctx.cache.adopt(sha256, local, origin=ctx.storage.url(bucket, key)) as kept:
                yield Verified(kept, sha256)
            return
    where = ", ".join(ctx.storage.url(bucket, key) for key in keys)
    if mismatched:
        raise BaseMismatchError(
            f"no reference with SHA-256 {sha256} found: {', '.join(mismatched)} hold(s) other content "
            f"(looked at {where}); the deltas made against it cannot be rebuilt"
        )
    raise BaseNotFoundError(f"reference with SHA-256 {sha256} not found (looked at {where})")


def _rebuild_snapshot(
    ctx: Context,
    bucket: str,
    key: str,
    metadata: Mapping[str, str],
    out: Path,
    *,
    fresh: bool,
    progress: ProgressCallback | None,
) -> str | None:
    """Rebuilds the base stored as a delta at ``key`` into ``out``; its SHA-256, or None when the
    object is gone."""
    info = parse(metadata, key)
    if info.kind is not Kind.DELTA:
        raise MetadataError(f"{ctx.storage.url(bucket, key)}: a base that names a reference but is no delta")
    with ctx.scratch() as scratch:
        stored = scratch / "snapshot"
        try:
            ctx.storage.get_file(bucket, key, stored, progress)
        except NotFoundError:
            return None
        return _rebuild(
            ctx, bucket, key, info, stored=stored, dest=out, fresh=fresh, progress=progress, snapshots=False
        )


@contextmanager
def _decoded(
    ctx: Context, want: Decoded, *, fresh: bool, progress: ProgressCallback | None, snapshots: bool
) -> Iterator[Verified]:
    """The decoded base of ``want.of``: from the cache when its SHA-256 is known (named, or derived
    before by this process) without opening the reference at all; else derived from the reference
    and adopted by the cache. A reference that is no container is its own base."""
    ref_sha256 = want.of.sha256
    if want.sha256 == ref_sha256:  # the reference is no container: its own base, nothing to derive
        with _open(ctx, want.of, fresh=fresh, progress=progress, snapshots=snapshots) as reference:
            yield reference
        return
    origin = base_origin(ref_sha256) if want.origin is None else want.origin
    known = want.sha256 or _DERIVED.get(ref_sha256, want.base_format)
    if not fresh and known is not None and known != ref_sha256:
        with ctx.cache.use(known, origin=origin) as cached:
            if cached is not None:
                yield Verified(cached, known)
                return
    with (
        _open(ctx, want.of, fresh=fresh, progress=progress, snapshots=snapshots) as reference,
        ctx.cache.scratch() as room,
    ):
        derived = room / "base"
        if not archives.derive(reference.path, derived, want.base_format):
            found = reference
        else:
            found = Verified(derived, ctx.hasher.sha256_file(derived))
        if want.sha256 is not None and found.sha256 != want.sha256:
            # What it holds instead stays untold (a hash of content the caller did not ask for).
            raise IntegrityError(
                f"the reference's decoded base is not the one the delta was made against ({want.sha256})"
            )
        _DERIVED.remember(ref_sha256, want.base_format, found.sha256)
        if found is reference:
            yield found
            return
        with ctx.cache.adopt(found.sha256, derived, origin=origin) as kept:
            yield Verified(kept, found.sha256)


def rebuild(
    ctx: Context,
    bucket: str,
    key: str,
    info: StoredInfo,
    *,
    stored: Path,
    dest: Path,
    fresh: bool = False,
    progress: ProgressCallback | None = None,
) -> str:
    """Rebuilds into ``dest`` the file of the delta stored at ``key`` (``info``, its parsed metadata),
    whose bytes are at ``stored``, against its base; returns the file's SHA-256, not compared with the
    recorded one (callers decide what a mismatch means). The base may itself be a snapshot: two
    decodes at most. ``fresh`` and ``progress`` as for :func:`open`."""
    return _rebuild(
        ctx, bucket, key, info, stored=stored, dest=dest, fresh=fresh, progress=progress, snapshots=True
    )


def _rebuild(
    ctx: Context,
    bucket: str,
    key: str,
    info: StoredInfo,
    *,
    stored: Path,
    dest: Path,
    fresh: bool,
    progress: ProgressCallback | None,
    snapshots: bool,
) -> str:
    url = ctx.storage.url(bucket, key)
    if info.ref_sha256 is None:
        raise MetadataError(f"{url}: delta without the SHA-256 of its reference (dg-ref-sha256)")
    if info.file_size is None:
        # Nothing would bound its decode: refused before its base is fetched.
        raise MetadataError(f"{url}: a delta with no recorded size (dg-file-size): nothing bounds its decode")
    assert info.file_sha256 is not None  # a DELTA always has one (see metadata.parse)
    base = Base(bucket, tuple(candidate_keys(key, info.ref_key)), info.ref_sha256)
    try:
        if info.transform is not None:
            transform = info.transform
            decoded = Decoded(
                base,
                origin=derived_origin(ctx, bucket, key),
                sha256=transform.base_sha256,
                base_format=transform.base_format,
            )

            def open_base() -> AbstractContextManager[Verified]:
                # A cached decoded base is all it needs: the reference is fetched only to derive one.
                return _open(ctx, decoded, fresh=fresh, progress=progress, snapshots=snapshots)

            archives.decode(
                ctx, open_base, stored, dest, url=url, transform=transform, expected_size=info.file_size
            )
        else:
            header = ctx.diff.inspect(stored)
            with _open(ctx, base, fresh=fresh, progress=progress, snapshots=snapshots) as reference:
                if header.external is None:
                    ctx.diff.decode(reference.path, stored, dest, expected_size=info.file_size)
                else:
                    ctx.logger.info("rebuilding a delta made over externally compressed data", key=key)
                    legacy.rebuild(
                        ctx,
                        reference.path,
                        stored,
                        dest,
                        expected_sha256=info.file_sha256,
                        expected_size=info.file_size,
                        ref_sha256=base.sha256,
                        external=header.external,
                    )
    except DecodeError as exc:
        raise IntegrityError(f"{url}: the stored delta does not decode against its reference: {exc}") from exc
    return ctx.hasher.sha256_file(dest)
