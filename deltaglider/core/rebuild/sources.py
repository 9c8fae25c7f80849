"""Getting a DeltaSpace's reference onto local disk, checked against its SHA-256, through the cache.

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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias

from deltaglider.core.context import Context
from deltaglider.core.format.layout import (
    DELTA_SUFFIX,
    base_key,
    is_base_name,
    join_key,
    reference_key,
    split_key,
)
from deltaglider.core.format.metadata import read_field
from deltaglider.errors import DeltaGliderError, IntegrityError, NotFoundError
from deltaglider.ports.storage import ProgressCallback


class BaseUnavailableError(DeltaGliderError):
    """No key holds the base with that SHA-256 any more (removed or replaced meanwhile): an upload
    that chose it chooses again."""


class BaseNotFoundError(BaseUnavailableError, NotFoundError):
    pass


class BaseMismatchError(BaseUnavailableError, IntegrityError):
    pass


#: Rebuilds a base stored as a delta (a snapshot): (its key, its metadata, the object's bytes, where
#: to write the base) -> the base's SHA-256. See core.bases; ``get.fetch`` supplies it.
Rebuild: TypeAlias = Callable[[str, Mapping[str, str], Path, Path], str]


def may_hold_a_base(name: str) -> bool:
    """Whether an object of this name (a key's last part) may be a base: one of the DeltaSpace's
    hidden bases, or a file stored whole, which may serve as one (core.bases); never a delta."""
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


def derived_origin(ctx: Context, bucket: str, key: str) -> str:
    """The cache origin of what is derived from the bases of ``key``'s folder (their decoded
    content): scoped to that folder, as the bases themselves are, and known before any of them is
    looked at, so a warm download of a delta there needs nothing but the delta."""
    prefix, _ = split_key(key)
    return ctx.storage.url(bucket, join_key(prefix, "")) + "#derived"


@contextmanager
def reference_file(
    ctx: Context,
    bucket: str,
    keys: Sequence[str],
    sha256: str,
    *,
    use_cache: bool = True,
    rebuild: Rebuild | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[Path]:
    """Yields a local file with the reference whose SHA-256 is ``sha256``: from the cache entry one
    of ``keys`` left there, else downloaded from the first of ``keys`` that holds it (then cached
    under that key). Without ``use_cache`` it is always downloaded, to check what is stored. A base
    stored as a delta is rebuilt with ``rebuild``; without one, such an object does not count as the
    reference. ``progress`` gets the bytes of a base that is downloaded. ``keys`` must be bases of one
    DeltaSpace (see :func:`candidate_keys`); a key that
    cannot hold one is skipped unread."""
    # Whatever else a caller was handed is never read.
    keys = [key for key in keys if may_hold_a_base(split_key(key)[1])]
    if keys:
        # Where the protocol keeps a base that was removed or replaced while a delta was stored
        # against it: its content's own base key (core.protocol).
        own = base_key(split_key(keys[0])[0], sha256, snapshot=False)
        keys = [keys[0], *([own] if own not in keys else []), *keys[1:]]
    if use_cache:
        for key in keys:
            with ctx.cache.use(sha256, origin=ctx.storage.url(bucket, key)) as cached:
                if cached is not None:
                    ctx.metrics.increment("cache.hit")
                    yield cached
                    return
        ctx.metrics.increment("cache.miss")
    mismatched: list[str] = []
    with ctx.scratch() as scratch:
        for key in keys:
            head = ctx.storage.head(bucket, key)
            if head is None:
                continue
            recorded = read_field(head.metadata, "file_sha256")
            if recorded and recorded.lower() != sha256:
                mismatched.append(key)
                continue
            local = scratch / "reference"
            if read_field(head.metadata, "ref_key"):
                if rebuild is None:
                    mismatched.append(key)
                    continue
                stored = scratch / "stored-base"
                try:
                    ctx.storage.get_file(bucket, key, stored, progress)
                except NotFoundError:
                    continue  # removed since its HEAD
                actual = rebuild(key, head.metadata, stored, local)
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
            ctx.cache.store(sha256, local, origin=ctx.storage.url(bucket, key))
            yield local
            return
    where = ", ".join(ctx.storage.url(bucket, key) for key in keys)
    if mismatched:
        raise BaseMismatchError(
            f"no reference with SHA-256 {sha256} found: {', '.join(mismatched)} hold(s) other content "
            f"(looked at {where}); the deltas made against it cannot be rebuilt"
        )
    raise BaseNotFoundError(f"reference with SHA-256 {sha256} not found (looked at {where})")
