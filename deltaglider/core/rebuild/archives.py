"""Rebuilding a delta of decoded content: a zip, gzip, xz or ar file stored as the delta of its decoded
stream against its reference's base (:mod:`deltaglider.transforms.base`), plus the recipe that
recompresses it. The encode half is :mod:`deltaglider.core.put.archives`.

The stored body is the transform header (the recipe) followed by the VCDIFF delta
(:mod:`deltaglider.transforms.body`); the metadata names the container, the base's format and the
base's SHA-256. Where the decoded base comes from (the cache, or derived from the reference) is
:mod:`deltaglider.core.rebuild.sources`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeAlias

from deltaglider.core.context import Context
from deltaglider.core.format.metadata import Transform
from deltaglider.errors import DecodeError, IntegrityError, MetadataError, RecipeError
from deltaglider.transforms import body, rebuild, unpack
from deltaglider.transforms.base import BASE_FORMAT, BASE_FORMATS, derive_base
from deltaglider.transforms.container import CONTAINERS, check_sizes

#: Opens the decoded base a delta was made against (``sources.open`` of a ``Decoded``): called only
#: once the stored body's recipe was read and its sizes checked, so a refused body fetches nothing.
OpenBase: TypeAlias = Callable[[], AbstractContextManager[tuple[Path, str]]]


def derive(reference: Path, out: Path, base_format: str = BASE_FORMAT) -> bool:
    """Writes the ``base_format`` decoded base of ``reference`` into ``out``; False (nothing written)
    when the reference is no container that format decodes, and so its own base."""
    return derive_base(reference, out, base_format)


def decode(
    ctx: Context,
    open_base: OpenBase,
    stored: Path,
    dest: Path,
    *,
    url: str,
    transform: Transform,
    expected_size: int | None = None,
) -> None:
    """Rebuilds into ``dest`` the file whose transformed body (stored at ``url``) is ``stored``, and
    whose recorded size is ``expected_size``, against the decoded base ``open_base`` yields: a recipe
    for another size, or one that would decode to more than its container can, is refused before
    anything is decoded."""
    if transform.base_format not in BASE_FORMATS or transform.container not in CONTAINERS:
        raise MetadataError(
            f"{url}: delta of decoded {transform.container!r} content against a "
            f"{transform.base_format!r} base: written by a newer deltaglider; upgrade to read it"
        )
    try:
        _decode(
            ctx,
            open_base,
            stored,
            dest,
            expected_size=expected_size,
        )
    except RecipeError as exc:
        raise IntegrityError(f"{url}: the stored transform does not rebuild the file: {exc}") from exc
    except DecodeError as exc:
        raise IntegrityError(f"{url}: the stored delta does not decode against its base: {exc}") from exc
    except IntegrityError as exc:
        raise IntegrityError(f"{url}: {exc}") from exc


def _decode(
    ctx: Context,
    open_base: OpenBase,
    stored: Path,
    dest: Path,
    *,
    expected_size: int | None,
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
        with open_base() as (base, _):
            ctx.diff.decode(base, delta, decoded, expected_size=sizes.decoded_size)
        rebuild(decoded, recipe, dest)
