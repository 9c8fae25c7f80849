"""A container file to (decoded stream, recipe) and back, byte for byte."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Final, TypeAlias

from deltaglider.atomic import StrPath, write_beside
from deltaglider.errors import RecipeError
from deltaglider.transforms import ar_form, bzip2_form, gzip_form, xz_form, zip_form, zstd_form
from deltaglider.transforms.builder import Builder, Layout
from deltaglider.transforms.bzip2 import Bzip2Params, pinned_libbzip2
from deltaglider.transforms.deflater import SYSTEM_ZLIB, Compressor, default_compressor
from deltaglider.transforms.known import KnownStreams
from deltaglider.transforms.lzma2 import Lzma2Params, pinned_liblzma
from deltaglider.transforms.recipe import Recipe, pack, unpack
from deltaglider.transforms.recompress import Encoder, Params, write_segments
from deltaglider.transforms.reconstruct import Rebuilder, ReconstructParams
from deltaglider.transforms.reconstruct import name as reconstructor_name
from deltaglider.transforms.sniff import detect, detect_bytes
from deltaglider.transforms.zstd_frame import ZstdParams, pinned_libzstd

_LAYOUTS: Final[dict[str, Layout]] = {
    "gzip": gzip_form.build,
    "zip": zip_form.build,
    "xz": xz_form.build,
    "ar": ar_form.build,
    "bzip2": bzip2_form.build,
    "zstd": zstd_form.build,
}
#: The containers :func:`encode_container` decodes.
CONTAINERS: Final = frozenset(_LAYOUTS)
#: A decoded stream may be this many times the original (plus a fixed allowance) before the members
#: that would exceed it stay raw: far above what real archives compress by, far below what a deflate
#: bomb expands to (bench/RESULTS.md, "Figures the code once held").
EXPANSION_LIMIT: Final = 64
EXPANSION_ALLOWANCE: Final = 64 << 20


def decoded_limit(size: int) -> int:
    """The largest decoded stream made of a container of ``size`` bytes: past it, members stay raw
    (a deflate bomb does not fill the disk), and a recipe that claims more was not made here."""
    return size * EXPANSION_LIMIT + EXPANSION_ALLOWANCE


def check_sizes(recipe: Recipe, recorded_size: int | None) -> None:
    """Refuses (:class:`RecipeError`), before anything is decoded, a recipe that rebuilds another size
    than the file's recorded one, one with a segment that decodes to more than its compressed bytes
    can, or one whose decoded stream is larger than :func:`decoded_limit`."""
    if recorded_size is not None and recipe.original_size != recorded_size:
        raise RecipeError(f"the recipe rebuilds {recipe.original_size} bytes, recorded {recorded_size}")
    # Every level of a nested recipe is checked; the decoded stream of the whole tree (the outermost
    # recipe's, which holds the nested ones') is bounded by the outermost container's size.
    for level in recipe.walk():
        for seg in level.segments:
            if seg.input_size > seg.max_decoded_size:
                raise RecipeError(
                    f"a segment of the recipe decodes to {seg.input_size} bytes from {seg.compressed_size}: "
                    "more than its compression format ever expands"
                )
    if recipe.decoded_size > decoded_limit(recipe.original_size):
        raise RecipeError(
            f"the recipe decodes to {recipe.decoded_size} bytes, more than any "
            f"{recipe.original_size}-byte container is decoded to"
        )


def layout_for(kind: str | None) -> Layout | None:
    """How a container of ``kind`` is walked, or None for kinds the transform does not decode."""
    return _LAYOUTS.get(kind) if kind is not None else None


def nested_layout(head: bytes) -> tuple[str, Layout] | None:
    """The container a decoded member starting with ``head`` is, and its layout, when it is one the
    transforms lay out again inside an archive (a gzip'd file in a wheel, a jar in a war)."""
    kind = detect_bytes(head)
    layout = layout_for(kind)
    return None if kind is None or layout is None else (kind, layout)


class _DeclinedError(Exception):
    """Unwinds ``write_beside`` so that no decoded file is left behind."""


@dataclass(frozen=True)
class Encoded:
    """What :func:`encode_container` made, and how well it went."""

    recipe: bytes
    container: str
    decoded_size: int
    streams_decoded: int  # deflate streams (gzip member, zip members) that reproduced
    streams_raw: int  # deflate streams kept as their raw bytes
    tries: int  # parameter sets tried in all
    unproven: int = 0  # streams whose setting only their first ``checked_prefix`` bytes confirmed
    reconstructed: int = 0  # of streams_decoded, those rebuilt from their choices (.reconstruct)
    nests: int = 0  # members decoded as containers of their own, at any depth
    known_raw: int = 0  # of streams_raw, those kept raw as the base holds them (.known)


def encode_container(
    path: StrPath,
    decoded_path: StrPath,
    *,
    compressor: Compressor | None = None,
    exhaustive: bool = True,
    checked_prefix: int | None = None,
    kind: str | None = None,
    nested: bool = True,
    known: KnownStreams | None = None,
) -> Encoded | None:
    """Writes the decoded form of the container at ``path`` to ``decoded_path``.

    ``None`` when the transform has nothing to offer (not a gzip or zip file, a gzip stream that no
    known deflate setting reproduces, a zip none of whose members does); then nothing is written. The
    rebuild is exact by construction: every decoded member was recompressed and compared with its
    original bytes, the rest is copied. With ``checked_prefix``, only the first that many compressed
    bytes of each stream were compared (``Encoded.unproven`` counts the streams that had more): the
    caller must rebuild the file to know, as an upload's proof does anyway. ``kind``: the container
    the caller already read from the file's head (:func:`deltaglider.transforms.sniff.read_head`),
    so that the head is not read again. ``nested``: members that are containers themselves (a gzip'd
    file in a wheel, a jar in a war) are decoded in turn, up to :data:`.recipe.MAX_DEPTH` levels, when
    a stream inside them reproduces (:meth:`.builder.Builder.nest`). ``known``: the streams of the
    reference the decoded stream's delta is made against; of those no zlib setting reproduces, the
    ones it holds are kept raw instead of reconstructed where the base holds their raw bytes too
    (:mod:`.known`).
    """
    compressor = compressor or default_compressor()
    kind = detect(path) if kind is None else kind
    if kind is None or layout_for(kind) is None:
        return None
    try:
        recipe, builder = _encode(
            path,
            decoded_path,
            kind,
            compressor,
            exhaustive=exhaustive,
            checked_prefix=checked_prefix,
            nested=nested,
            known=known,
        )
    except _DeclinedError:
        return None
    return Encoded(
        pack(recipe),
        kind,
        recipe.decoded_size,
        builder.deflated,
        builder.kept_raw,
        builder.tries,
        builder.unproven,
        builder.reconstructed,
        builder.nests,
        builder.known_raw,
    )


def _encode(
    path: StrPath,
    decoded_path: StrPath,
    kind: str,
    compressor: Compressor,
    *,
    exhaustive: bool,
    checked_prefix: int | None,
    nested: bool,
    known: KnownStreams | None,
) -> tuple[Recipe, Builder]:
    layout = _LAYOUTS[kind]
    with open(path, "rb") as src, write_beside(decoded_path) as part:
        size = os.fstat(src.fileno()).st_size
        reader = os.open(part.path, os.O_RDONLY)
        with os.fdopen(reader, "rb") as back, os.fdopen(part.fd, "wb", closefd=False) as out:
            builder = Builder(
                src,
                out,
                back.fileno(),
                compressor,
                max_decoded=decoded_limit(size),
                exhaustive=exhaustive,
                checked_prefix=checked_prefix,
                nested=nested_layout if nested else None,
                names=compressor_names,
                scratch=os.path.dirname(os.path.abspath(decoded_path)),
                known=known,
                raw_in_base=_raw_in_base(kind, known),
            )
            if not layout(builder, size) or not builder.deflated:
                raise _DeclinedError
            recipe = Recipe(kind, compressor_names(builder.kinds, compressor), tuple(builder.segments))
            if recipe.original_size != size:
                raise AssertionError("layout left bytes out")  # a bug here, never bad input
    return recipe, builder


def _raw_in_base(kind: str, known: KnownStreams | None) -> bool:
    """Whether a member of a ``kind`` container kept raw is found in the base: the base ends with the
    raw reference when that is a zip (:mod:`.base`), whose members a zip's match."""
    return known is not None and kind == "zip" and known.raw_copy


#: Called on (the container, the decoded stream) after :func:`decode_all` laid it out.
Appendix: TypeAlias = Callable[[BinaryIO, BinaryIO, str], None]


def decode_all(
    path: StrPath,
    out: StrPath,
    *,
    appendix: Appendix | None = None,
    kind: str | None = None,
    zstd_members: bool = True,
    bzip2_members: bool = True,
    nested: bool = True,
    digests: set[bytes] | None = None,
    known: KnownStreams | None = None,
) -> int:
    """Writes ``path``'s layout to ``out`` with every stream that decodes decoded, whether or not a
    known compressor setting reproduces it: no parameter search, no recipe (a stream only ever read).
    How many streams it decoded; 0 (and nothing written) when none does. :func:`encode_container`
    decodes a subset of these streams (those that reproduce), so when it decodes as many its stream is
    this one, byte for byte. ``kind`` and ``nested``: as for :func:`encode_container` (a member is
    laid out again when a stream inside it decodes); ``zstd_members``: whether zstd members of a zip
    or ar are decoded; ``digests``: gets the digest of each stream decoded; ``known``: as for
    :func:`encode_container`, its streams kept raw (:mod:`.known`)."""
    kind = detect(path) if kind is None else kind
    layout = layout_for(kind)
    if kind is None or layout is None:
        return 0
    try:
        with open(path, "rb") as src, write_beside(out) as part:
            size = os.fstat(src.fileno()).st_size
            reader = os.open(part.path, os.O_RDONLY)  # nesting reads a decoded member back
            with os.fdopen(reader, "rb") as back, os.fdopen(part.fd, "wb", closefd=False) as sink:
                builder = Builder(
                    src,
                    sink,
                    back.fileno(),
                    SYSTEM_ZLIB,
                    max_decoded=decoded_limit(size),
                    reproduce=False,
                    zstd_members=zstd_members,
                    bzip2_members=bzip2_members,
                    nested=nested_layout if nested else None,
                    scratch=os.path.dirname(os.path.abspath(out)),
                    digests=digests,
                    known=known,
                    raw_in_base=_raw_in_base(kind, known),
                )
                if not layout(builder, size) or not builder.deflated:
                    raise _DeclinedError
                if appendix is not None:
                    appendix(src, sink, kind)
    except _DeclinedError:
        return 0
    return builder.deflated


def compressor_names(kinds: set[str], compressor: Compressor) -> str:
    """What a recipe records of the compressors its segments need: their names joined by ``+``."""
    names = []
    if "deflate" in kinds:
        names.append(compressor.name)
    if "lzma2" in kinds:
        names.append(pinned_liblzma().name)
    if "bzip2" in kinds:
        names.append(pinned_libbzip2().name)
    if "zstd" in kinds:
        names.append(pinned_libzstd().name)
    if "reconstruct" in kinds:
        names.append(reconstructor_name())
    return "+".join(names)


def _kind_of(params: Params) -> str:
    if isinstance(params, ReconstructParams):
        return "reconstruct"
    if isinstance(params, ZstdParams):
        return "zstd"
    if isinstance(params, Lzma2Params):
        return "lzma2"
    return "bzip2" if isinstance(params, Bzip2Params) else "deflate"


def rebuild(
    decoded_path: StrPath,
    recipe_bytes: bytes,
    out_path: StrPath,
    *,
    compressor: Compressor | None = None,
    workers: int | None = None,
) -> int:
    """Writes the original container to ``out_path`` from its decoded stream and recipe; returns its
    size. :class:`RecipeError` (and nothing at ``out_path``) if the recipe is unusable, was made with
    another compressor, or does not fit the decoded stream. ``workers`` (default: one per core)
    recompress members side by side (:mod:`.recompress`); the bytes are the same with any number."""
    compressor = compressor or default_compressor()
    recipe = unpack(recipe_bytes)
    kinds: set[str] = set()
    for level in recipe.walk():  # each nested container names its own compressors
        level_kinds = {_kind_of(s.params) for s in level.segments if s.params}
        expected = compressor_names(level_kinds, compressor)
        if level.compressor != expected:
            raise RecipeError(
                f"recipe was made with {level.compressor}, this build recompresses with {expected}"
            )
        kinds |= level_kinds
    lzma = pinned_liblzma() if "lzma2" in kinds else None
    bz = pinned_libbzip2() if "bzip2" in kinds else None
    zstd = pinned_libzstd() if "zstd" in kinds else None

    def new(params: Params) -> Encoder:
        if isinstance(params, ReconstructParams):
            return Rebuilder(params)
        if isinstance(params, ZstdParams):
            assert zstd is not None
            return zstd.new(params)
        if isinstance(params, Lzma2Params):
            assert lzma is not None
            return lzma.new(params)
        if isinstance(params, Bzip2Params):
            assert bz is not None
            return bz.new(params)
        return compressor.new(params)

    with open(decoded_path, "rb") as src:
        if os.fstat(src.fileno()).st_size != recipe.decoded_size:
            raise RecipeError("the decoded stream is not the size its recipe expects")
        with write_beside(out_path) as part, os.fdopen(part.fd, "wb", closefd=False) as out:
            write_segments(src.fileno(), recipe.segments, out, new, workers=workers)
    return recipe.original_size
