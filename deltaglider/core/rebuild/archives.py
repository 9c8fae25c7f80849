"""Rebuilding a delta of decoded content: a zip, gzip, xz or ar file stored as the delta of its decoded
stream against its reference's base (:mod:`deltaglider.transforms.base`), plus the recipe that
recompresses it. The encode half is :mod:`deltaglider.core.put.archives`.

The stored body is the transform header (the recipe) followed by the VCDIFF delta
(:mod:`deltaglider.transforms.body`); the metadata names the container, the base's format and the
base's SHA-256.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Final, TypeAlias

from deltaglider.core.context import Context
from deltaglider.core.format.metadata import Transform
from deltaglider.errors import DecodeError, IntegrityError, MetadataError, RecipeError
from deltaglider.transforms import body, rebuild, unpack
from deltaglider.transforms.base import BASE_FORMAT, derive_base
from deltaglider.transforms.container import CONTAINERS, check_sizes


class _BaseShas:
    """The SHA-256 of each reference's base, once this process derived it: a cached base is then
    found without decoding the reference again."""

    def __init__(self) -> None:
        self._known: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, ref_sha256: str) -> str | None:
        with self._lock:
            return self._known.get(ref_sha256)

    def remember(self, ref_sha256: str, base_sha256: str) -> None:
        with self._lock:
            self._known[ref_sha256] = base_sha256


_BASES: Final = _BaseShas()


#: Opens the reference (a download, a rebuild or a cache hit), only when its base must be derived.
ReferenceSource: TypeAlias = Callable[[], AbstractContextManager[Path]]


def base_origin(ref_sha256: str) -> str:
    """What the cache keeps a reference's decoded base under."""
    return f"decoded base of {ref_sha256}"


def local_reference(path: Path) -> ReferenceSource:
    return lambda: nullcontext(path)


@contextmanager
def base_file(
    ctx: Context,
    reference: ReferenceSource,
    ref_sha256: str,
    *,
    expected: str | None = None,
    use_cache: bool = True,
    origin: str | None = None,
) -> Iterator[tuple[Path, str]]:
    """Yields (path, SHA-256) of the base of the reference: from the cache when this process knows its
    SHA-256 (or ``expected`` names it) without opening the reference at all, else derived and cached
    under ``origin`` (by default :func:`base_origin`). A reference that is no container is its own
    base. :class:`IntegrityError` if the base is not ``expected``."""
    if expected == ref_sha256:  # the reference is no container: its own base, nothing to derive
        with reference() as path:
            yield path, ref_sha256
        return
    origin = base_origin(ref_sha256) if origin is None else origin
    known = expected or _BASES.get(ref_sha256)
    if use_cache and known is not None and known != ref_sha256:
        with ctx.cache.use(known, origin=origin) as cached:
            if cached is not None:
                yield cached, known
                return
    with reference() as reference_path, ctx.scratch() as scratch:
        derived = scratch / "base"
        if derive_base(reference_path, derived):
            path, sha = derived, ctx.hasher.sha256_file(derived)
        else:
            path, sha = reference_path, ref_sha256
        if expected is not None and sha != expected:
            # What it holds instead stays untold (a hash of content the caller did not ask for).
            raise IntegrityError(
                f"the reference's decoded base is not the one the delta was made against ({expected})"
            )
        _BASES.remember(ref_sha256, sha)
        if path is derived:
            ctx.cache.store(sha, derived, origin=origin)
        yield path, sha


def decode(
    ctx: Context,
    reference: ReferenceSource,
    stored: Path,
    dest: Path,
    *,
    url: str,
    ref_sha256: str,
    transform: Transform,
    use_cache: bool = True,
    expected_size: int | None = None,
    origin: str | None = None,
) -> None:
    """Rebuilds into ``dest`` the file whose transformed body (stored at ``url``) is ``stored``, and
    whose recorded size is ``expected_size``: a recipe for another size, or one that would decode to
    more than its container can, is refused before anything is decoded. ``origin``: see
    :func:`base_file`."""
    if transform.base_format != BASE_FORMAT or transform.container not in CONTAINERS:
        raise MetadataError(
            f"{url}: delta of decoded {transform.container!r} content against a "
            f"{transform.base_format!r} base: written by a newer deltaglider; upgrade to read it"
        )
    try:
        _decode(
            ctx,
            reference,
            stored,
            dest,
            ref_sha256=ref_sha256,
            transform=transform,
            use_cache=use_cache,
            expected_size=expected_size,
            origin=origin,
        )
    except RecipeError as exc:
        raise IntegrityError(f"{url}: the stored transform does not rebuild the file: {exc}") from exc
    except DecodeError as exc:
        raise IntegrityError(f"{url}: the stored delta does not decode against its base: {exc}") from exc
    except IntegrityError as exc:
        raise IntegrityError(f"{url}: {exc}") from exc


def _decode(
    ctx: Context,
    reference: ReferenceSource,
    stored: Path,
    dest: Path,
    *,
    ref_sha256: str,
    transform: Transform,
    use_cache: bool,
    expected_size: int | None,
    origin: str | None,
) -> None:
    with ctx.scratch() as scratch:
        delta = scratch / "delta"
        with open(stored, "rb") as src:
            recipe = body.read_header(src)
            sizes = unpack(recipe)
            check_sizes(sizes, expected_size)
            with open(delta, "wb") as sink:
                shutil.copyfileobj(src, sink)
        decoded = scratch / "decoded"
        with base_file(
            ctx, reference, ref_sha256, expected=transform.base_sha256, use_cache=use_cache, origin=origin
        ) as (base, _):
            ctx.diff.decode(base, delta, decoded, expected_size=sizes.decoded_size)
        rebuild(decoded, recipe, dest)
