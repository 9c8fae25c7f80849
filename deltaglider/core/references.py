"""Getting a DeltaSpace's reference onto local disk, checked against its SHA-256, through the cache."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeAlias

from deltaglider.core.context import Context
from deltaglider.core.layout import reference_key, split_key
from deltaglider.core.metadata import read_field
from deltaglider.errors import IntegrityError, NotFoundError

#: Rebuilds a base stored as a delta (a snapshot): (its key, its metadata, the object's bytes, where
#: to write the base) -> the base's SHA-256. See core.bases; ``get.fetch`` supplies it.
Rebuild: TypeAlias = Callable[[str, Mapping[str, str], Path, Path], str]


def candidate_keys(delta_key: str, ref_key: str | None) -> list[str]:
    """Where a delta's reference may be: the key its metadata names, then its own prefix's
    reference.bin (for a prefix that was copied or renamed). Which one is right is decided by SHA-256."""
    prefix, _ = split_key(delta_key)
    keys = [ref_key] if ref_key else []
    sibling = reference_key(prefix)
    if sibling not in keys:
        keys.append(sibling)
    return keys


@contextmanager
def reference_file(
    ctx: Context,
    bucket: str,
    keys: Sequence[str],
    sha256: str,
    *,
    use_cache: bool = True,
    rebuild: Rebuild | None = None,
) -> Iterator[Path]:
    """Yields a local file with the reference whose SHA-256 is ``sha256``: from the cache, else
    downloaded from the first of ``keys`` that holds it (then cached). Without ``use_cache`` it is
    always downloaded, to check what is stored. A base stored as a delta is rebuilt with ``rebuild``;
    without one, such an object does not count as the reference."""
    if use_cache:
        with ctx.cache.use(sha256) as cached:
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
                ctx.storage.get_file(bucket, key, stored)
                actual = rebuild(key, head.metadata, stored, local)
            else:
                ctx.storage.get_file(bucket, key, local)
                actual = ctx.hasher.sha256_file(local)
            if actual != sha256:
                ctx.logger.warning(
                    "reference content does not match its expected SHA-256", key=key, actual=actual
                )
                mismatched.append(key)
                continue
            ctx.cache.store(sha256, local)
            yield local
            return
    where = ", ".join(ctx.storage.url(bucket, key) for key in keys)
    if mismatched:
        raise IntegrityError(
            f"no reference with SHA-256 {sha256} found: {', '.join(mismatched)} hold(s) other content "
            f"(looked at {where}); the deltas made against it cannot be rebuilt"
        )
    raise NotFoundError(f"reference with SHA-256 {sha256} not found (looked at {where})")
