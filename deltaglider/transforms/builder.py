"""Writes the decoded stream segment by segment while recording the recipe.

Memory stays bounded whatever the sizes: the original is read with ``pread`` in chunks, inflation is
capped per call, and the parameter search re-reads the decoded bytes from the file being written.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import BinaryIO, Final, TypeAlias

from deltaglider.errors import CodecError
from deltaglider.transforms import bzip2, lzma2, memo, reconstruct, zstd_frame
from deltaglider.transforms.deflater import Compressor, DeflateParams, Deflater, likely_params, other_params
from deltaglider.transforms.known import KnownStreams, digest
from deltaglider.transforms.recipe import MAX_DEPTH, Recipe, Segment

CHUNK: Final = 1 << 16
_INFLATE_STEP: Final = 1 << 18
#: Compressed bytes a zstd setting must get right, written single-threaded, before its frame is
#: compressed in full: a wrong level differs in its first block, and a multi-threaded frame starts as
#: the single-threaded one does (its first job runs far past this).
ZSTD_QUICK: Final = 16 << 10
#: Bytes of a decoded member read to tell whether it is itself a container (a tar's magic sits at 257).
NEST_HEAD: Final = 262
#: What a nested stream's search tries after zlib's defaults per level (:func:`.deflater.likely_params`):
#: the larger literal buffer of GNU gzip's and Info-ZIP's deflaters. A nested container's many small
#: files are not searched through every rarer setting: what none of these writes goes to the
#: reconstructor, as a stream of an outer container does after the full search.
NESTED_EXTRA: Final = (DeflateParams(9, 15, 9), DeflateParams(6, 15, 9))
#: Bytes a builder's tree may decode in all, kept or undone, per byte of its ``max_decoded``: a member
#: decoded and then decoded again inside costs each level once; a zip of bombs that each fill what is
#: left of ``max_decoded`` and are undone stops here instead of inflating each in turn.
WORK_PER_DECODED: Final = 3

#: Lays out a container (the layouts of :mod:`.container`): ``False`` when it is none it can read.
Layout: TypeAlias = Callable[["Builder", int], bool]
#: The container a decoded member's first bytes say it is, and how to lay it out; None when none.
NestedLayout: TypeAlias = Callable[[bytes], tuple[str, Layout] | None]
#: Names what a nested recipe's segments need (:func:`.container.compressor_names`).
NameCompressors: TypeAlias = Callable[[set[str], Compressor], str]


def pread_exact(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset``, fewer only at the end of the file."""
    parts = []
    while size > 0:
        part = os.pread(fd, min(size, 1 << 20), offset)
        if not part:
            break
        parts.append(part)
        size -= len(part)
        offset += len(part)
    return b"".join(parts)


def _same_output(
    new: Callable[[], Deflater],
    decoded: tuple[int, int, int],
    original: tuple[int, int, int],
    *,
    enough: int | None = None,
) -> bool:
    """Whether compressing the decoded range gives the original range, stopping at the first
    differing byte (most wrong guesses differ in the first block, a few KiB in), or once ``enough``
    bytes of output agreed."""
    dec_fd, dec_off, dec_size = decoded
    src_fd, src_off, src_size = original
    deflater = new()
    made = 0

    def agrees(out: bytes) -> bool:
        nonlocal made
        if not out:
            return True
        if made + len(out) > src_size or pread_exact(src_fd, len(out), src_off + made) != out:
            return False
        made += len(out)
        return True

    pos = 0
    while pos < dec_size:
        data = pread_exact(dec_fd, min(CHUNK, dec_size - pos), dec_off + pos)
        if not data:
            return False
        pos += len(data)
        if not agrees(deflater.compress(data)):
            return False
        if enough is not None and made >= enough:
            return True
    return agrees(deflater.flush()) and made == src_size


class _Nothing:
    """What :meth:`Builder.nest` says of a nested container none of whose streams reproduces."""


_NOTHING_REPRODUCED: Final = _Nothing()


class Work:
    """What the builders of one tree have decoded, shared by all of them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.limit

    @property
    def left(self) -> int:
        return max(0, self.limit - self.spent)

    def spend(self, size: int) -> bool:
        """Counts ``size`` more bytes; False once the tree has decoded more than its limit."""
        self.spent += size
        return self.spent <= self.limit


def _copy_range(fd: int, offset: int, size: int, out: BinaryIO) -> None:
    while size > 0:
        data = pread_exact(fd, min(size, 1 << 20), offset)
        if not data:
            raise EOFError("the decoded stream ended early")
        out.write(data)
        size -= len(data)
        offset += len(data)
    out.flush()


class Builder:
    """Copies or inflates regions of ``src`` into ``out`` in order, remembering each as a segment.

    The parameter search reads back what was decoded through ``out_reader``.

    ``max_decoded`` bounds the whole decoded stream (a deflate bomb stays raw instead of filling the
    disk); ``exhaustive`` also tries the rarer deflate settings, not only zlib's defaults per level.
    Without ``reproduce`` every stream that inflates is decoded and no recipe is kept: the stream is
    only ever read, never rebuilt (a reference's base, see :mod:`.base`).

    With ``checked_prefix`` a setting is taken once that many bytes of its output agree: a stream
    longer than that (counted in ``unproven``) is known to rebuild only once the caller has rebuilt it.
    A deflate stream that no setting reproduces is handed to the reconstructor (:mod:`.reconstruct`);
    what it takes is proven in full before it is recorded.

    Nesting: a member whose decoded bytes ``nested`` recognises as a container is laid out again by a
    child builder writing into the same ``out`` (:meth:`nest`), down to :data:`.recipe.MAX_DEPTH`
    containers. The whole tree shares ``max_decoded`` (``decoded`` counts from the top of ``out``)
    and one :class:`Work` bound on what it decodes, kept or undone.
    """

    def __init__(
        self,
        src: BinaryIO,
        out: BinaryIO,
        out_reader: int,
        compressor: Compressor,
        *,
        max_decoded: int,
        exhaustive: bool = True,
        reproduce: bool = True,
        checked_prefix: int | None = None,
        zstd_members: bool = True,
        bzip2_members: bool = True,
        nested: NestedLayout | None = None,
        names: NameCompressors | None = None,
        depth: int = 1,
        decoded_start: int = 0,
        scratch: str | None = None,
        work: Work | None = None,
        known: KnownStreams | None = None,
        raw_in_base: bool = False,
        digests: set[bytes] | None = None,
    ) -> None:
        self.src_fd = src.fileno()
        self.out = out
        self.out_reader = out_reader  # a descriptor open for reading on what ``out`` writes
        self.compressor = compressor
        self.max_decoded = max_decoded
        self.exhaustive = exhaustive
        self.reproduce = reproduce
        self.checked_prefix = checked_prefix
        # Whether a container's zstd members are laid out (base format inflated-v2 on): an older
        # base's rules leave them as they are (transforms.base).
        self.zstd_members = zstd_members
        # Whether an ar's bzip2 members (an older .deb's data.tar.bz2) are laid out (inflated-v3 on).
        self.bzip2_members = bzip2_members
        self.reconstructed = 0  # deflate streams rebuilt from their choices
        self.unproven = 0  # streams taken on their first ``checked_prefix`` bytes alone
        self.segments: list[Segment] = []
        self.pos = 0  # next byte of the original to account for
        self.decoded = decoded_start  # where the next decoded byte goes in ``out``
        self.nested = nested
        self.names = names
        self.depth = depth
        self.scratch = scratch  # the folder a member laid out again is copied to meanwhile
        self.nests = 0  # members decoded as nested containers, at every depth below this one
        self.work = work or Work(WORK_PER_DECODED * max_decoded)
        # A deflate stream that ``known`` holds is kept raw, neither searched nor analysed
        # (:mod:`.known`), where a member kept raw is found in the base (``raw_in_base``).
        self.known = known
        self.raw_in_base = raw_in_base
        self.known_raw = 0  # streams kept raw so, at every depth
        self.digests = digests  # where ``reproduce`` off notes the digest of each stream it decodes
        self.tries = 0
        self.deflated = 0  # segments that reproduced
        self.kept_raw = 0  # deflate streams that did not
        self._last: DeflateParams | None = None
        #: The setting the last nested container's streams matched: its siblings (a wheel's other
        #: gzip'd files) were most likely written the same way.
        self._last_nested: DeflateParams | None = None
        self._last_lzma2: lzma2.Lzma2Params | None = None
        self._last_zstd: zstd_frame.ZstdParams | None = None
        self.kinds: set[str] = set()  # "deflate", "lzma2", "bzip2", "zstd": what the recipe's segments use

    def raw(self, size: int) -> None:
        """Copies the next ``size`` bytes as they are."""
        if size <= 0:
            return
        left = size
        while left:
            data = pread_exact(self.src_fd, min(left, 1 << 20), self.pos)
            if not data:
                raise EOFError("the file ended early")
            self.out.write(data)
            left -= len(data)
            self.pos += len(data)
        self.decoded += size
        if self.segments and self.segments[-1].params is None and self.segments[-1].inner is None:
            size += self.segments[-1].decoded_size
            self.segments.pop()
        self.segments.append(Segment(size))

    def deflate(self, compressed_size: int | None) -> bool:
        """Decodes the raw deflate stream that starts here if a known setting reproduces it exactly.

        ``compressed_size`` is the stream's length when the container says it (zip), else the stream
        runs to its end marker (gzip). On ``False`` nothing was consumed or written.
        """
        start_out, start_pos = self.decoded, self.pos
        used = self._inflate(compressed_size)
        if used is not None and self._in_base(start_pos, used):
            self._undo(start_out)
            return False
        if used is not None and not self.reproduce:
            return self._take(start_out, start_pos, used)
        if used is not None:
            size = self.decoded - start_out
            params: DeflateParams | reconstruct.ReconstructParams | None
            params = self._search((self.out_reader, start_out, size), (self.src_fd, start_pos, used))
            if params is None:
                params = self._reconstruct(start_out, size, start_pos, used)
            if isinstance(params, reconstruct.ReconstructParams):
                if self._record(start_out, start_pos, used, params, "reconstruct"):
                    self.reconstructed += 1
                    return True
            elif params is not None:
                self._last = params
                if self._record(start_out, start_pos, used, params, "deflate"):
                    self._count_unproven(used)
                    return True
        self._undo(start_out)
        if self.kept_raw - self.known_raw >= 4 and not self.deflated:
            # A producer that matched nothing so far will not match the rare settings later either;
            # keep the cost per member bounded.
            self.exhaustive = False
        return False

    def _in_base(self, start_pos: int, used: int) -> bool:
        """Whether the stream of ``used`` bytes at ``start_pos`` is kept raw as the base holds it
        (:mod:`.known`): then neither searched nor analysed."""
        if not self.raw_in_base or self.known is None:
            return False
        if digest(pread_exact(self.src_fd, used, start_pos)) in self.known:
            self.known_raw += 1
            return True
        return False

    def _take(self, start_out: int, start_pos: int, used: int) -> bool:
        """Takes the stream just decoded, without a recipe (``reproduce`` off): its decoded bytes are
        laid out again when they are a container. False (the stream undone, kept raw) when they are
        one whose streams the base holds raw (:meth:`nest`), as :meth:`_record` keeps it."""
        if self.digests is not None:
            self.digests.add(digest(pread_exact(self.src_fd, used, start_pos)))
        self.pos = start_pos + used
        if isinstance(self.nest(start_out), _Nothing):
            self.pos = start_pos
            self._undo(start_out)
            return False
        self.deflated += 1
        return True

    def _record(
        self,
        start_out: int,
        start_pos: int,
        used: int,
        params: DeflateParams
        | lzma2.Lzma2Params
        | bzip2.Bzip2Params
        | zstd_frame.ZstdParams
        | reconstruct.ReconstructParams,
        kind: str,
    ) -> bool:
        """Records the stream just decoded at ``start_out`` (``used`` bytes of the original at
        ``start_pos``, reproduced by ``params``), its decoded bytes laid out again first when they are
        a container. False when they are one none of whose streams reproduces (:meth:`nest`): the
        caller then keeps the stream raw."""
        self.pos = start_pos + used
        inner = self.nest(start_out)
        if isinstance(inner, _Nothing):
            self.pos = start_pos
            return False
        self.segments.append(Segment(self.decoded - start_out, params, used, inner))
        self.deflated += 1
        self.kinds.add(kind)
        return True

    def nest(self, start_out: int) -> Recipe | _Nothing | None:
        """Lays out again, as a container of its own, the member just decoded at ``start_out`` when
        its first bytes name one that can be laid out, and when that decodes at least one stream
        (reproduces one, when reproducing): its decoded bytes in ``out`` are then replaced by the
        nested container's decoded stream, and its recipe returned (None without a recipe to keep).
        Otherwise ``out`` is left as it was, and None returned; but :data:`_NOTHING_REPRODUCED` when
        the nested container has streams of which none is decoded, and either reproducing (none
        reproduces) or some were kept raw as the base holds them (:mod:`.known`): the caller keeps the
        member raw, as a base (which decodes every stream, :mod:`.base`) holds no such stream's
        compressed bytes decoded once, only the raw container."""
        if self.nested is None or self.depth >= MAX_DEPTH or self.out_reader < 0:
            return None
        size = self.decoded - start_out
        self.out.flush()
        found = self.nested(pread_exact(self.out_reader, NEST_HEAD, start_out))
        if found is None:
            return None
        kind, layout = found
        with tempfile.TemporaryFile(dir=self.scratch) as member:
            _copy_range(self.out_reader, start_out, size, member)
            self.out.seek(start_out)
            self.out.truncate()
            child = Builder(
                member,
                self.out,
                self.out_reader,
                self.compressor,
                max_decoded=self.max_decoded,
                exhaustive=self.exhaustive,
                reproduce=self.reproduce,
                checked_prefix=self.checked_prefix,
                zstd_members=self.zstd_members,
                bzip2_members=self.bzip2_members,
                nested=self.nested,
                names=self.names,
                depth=self.depth + 1,
                decoded_start=start_out,
                scratch=self.scratch,
                work=self.work,
                known=self.known,
                # A gzip'd file whose one stream stays raw stays raw as a whole in this container.
                raw_in_base=self.raw_in_base and kind == "gzip",
                digests=self.digests,
            )
            child._last = self._last_nested
            try:
                laid_out = layout(child, size) and child.deflated > 0 and child.pos == size
            except EOFError:
                laid_out = False
            self.tries += child.tries
            self.known_raw += child.known_raw
            self._last_nested = child._last or self._last_nested
            # Kept raw whole, as a base holds no such stream decoded once: when reproducing, a member
            # none of whose streams reproduces; either way, one whose streams the base holds raw.
            if not laid_out and child.kept_raw and not child.deflated and (self.reproduce or child.known_raw):
                self.out.seek(start_out)
                self.out.truncate()
                self.decoded = start_out
                return _NOTHING_REPRODUCED
            if not laid_out:
                # The member stays as it decoded: its bytes go back where they were.
                self.out.seek(start_out)
                self.out.truncate()
                _copy_range(member.fileno(), 0, size, self.out)
                self.decoded = start_out + size
                return None
        self.decoded = child.decoded
        self.deflated += child.deflated
        self.kept_raw += child.kept_raw
        self.unproven += child.unproven
        self.reconstructed += child.reconstructed
        self.nests += 1 + child.nests
        if not self.reproduce:
            return None
        names = self.names(child.kinds, self.compressor) if self.names else self.compressor.name
        return Recipe(kind, names, tuple(child.segments))

    def _reconstruct(
        self, start_out: int, size: int, start_pos: int, used: int
    ) -> reconstruct.ReconstructParams | None:
        """The choices that rebuild the stream just inflated, if the reconstructor models it: from
        the process's memo when it analysed the same stream before (:mod:`.memo`)."""
        if not reconstruct.may_take(size):
            return None
        deflated = pread_exact(self.src_fd, used, start_pos)
        key = digest(deflated)
        found = memo.CHOICES.get(key)
        if found is not None:
            return found
        self.tries += 1
        decoded = pread_exact(self.out_reader, size, start_out)
        params = reconstruct.analyse(deflated, decoded)
        if params is not None:
            memo.CHOICES.remember(key, params)
        return params

    def _count_unproven(self, compressed_size: int) -> None:
        if self.checked_prefix is not None and compressed_size > self.checked_prefix:
            self.unproven += 1

    def _undo(self, start_out: int) -> None:
        self.out.seek(start_out)
        self.out.truncate()
        self.decoded = start_out
        self.kept_raw += 1

    def lzma2(self, compressed_size: int, dict_size: int, decoded_size: int) -> bool:
        """Decodes the raw LZMA2 stream of an .xz block that starts here (``compressed_size`` bytes,
        ``decoded_size`` once decoded, as the stream's index says) if a preset of the pinned liblzma
        reproduces it exactly. On ``False`` nothing was consumed or written."""
        start_out, start_pos = self.decoded, self.pos
        # A block no preset can rebuild is not decoded only to be kept raw.
        rebuildable = not self.reproduce or dict_size <= lzma2.MAX_DICT
        if rebuildable and self._unlzma(compressed_size, dict_size, decoded_size):
            if not self.reproduce:
                return self._take(start_out, start_pos, compressed_size)
            decoded = (self.out_reader, start_out, decoded_size)
            original = (self.src_fd, start_pos, compressed_size)
            compressor = lzma2.pinned_liblzma()
            for params in lzma2.candidates(dict_size, self._last_lzma2):
                self.tries += 1
                new = partial(compressor.new, params)
                if _same_output(new, decoded, original, enough=self.checked_prefix):
                    self._last_lzma2 = params
                    if not self._record(start_out, start_pos, compressed_size, params, "lzma2"):
                        break
                    self._count_unproven(compressed_size)
                    return True
        self._undo(start_out)
        return False

    def bzip2(self, block_size: int, available: int) -> bool:
        """Decodes the bzip2 stream that starts here (within the next ``available`` bytes, up to its
        end-of-stream marker) if the pinned libbzip2 at ``block_size`` reproduces it exactly. A
        wrong stream differs in its first block, so the comparison stops there. On ``False`` nothing
        was consumed or written."""
        start_out, start_pos = self.decoded, self.pos
        limit = min(self.max_decoded - start_out, self.work.left)
        found = bzip2.decode_stream(partial(self._read_at, start_pos), available, self.out, limit)
        if found is not None:
            used, size = found
            self.decoded += size
            self.out.flush()
            self.work.spend(size)
            if not self.reproduce:
                return self._take(start_out, start_pos, used)
            params = bzip2.Bzip2Params(block_size)
            self.tries += 1
            new = partial(bzip2.pinned_libbzip2().new, params)
            decoded, original = (self.out_reader, start_out, size), (self.src_fd, start_pos, used)
            if _same_output(new, decoded, original, enough=self.checked_prefix) and self._record(
                start_out, start_pos, used, params, "bzip2"
            ):
                self._count_unproven(used)
                return True
        self._undo(start_out)
        return False

    def _read_at(self, base: int, offset: int, size: int) -> bytes:
        return pread_exact(self.src_fd, size, base + offset)

    def _unlzma(self, compressed_size: int, dict_size: int, decoded_size: int) -> bool:
        start = self.decoded
        if start + decoded_size > self.max_decoded or self.work.exhausted:
            return False
        try:
            import lzma  # an interpreter built without liblzma simply keeps .xz blocks raw
        except ImportError:
            return False
        try:
            decoder = lzma.LZMADecompressor(
                format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": dict_size}]
            )
            fed = 0
            while not decoder.eof:
                data = b""
                if decoder.needs_input:
                    want = min(CHUNK, compressed_size - fed)
                    data = pread_exact(self.src_fd, want, self.pos + fed) if want > 0 else b""
                    if not data:
                        return False
                    fed += len(data)
                out = decoder.decompress(data, _INFLATE_STEP)
                self.decoded += len(out)
                if self.decoded - start > decoded_size or not self.work.spend(len(out)):
                    return False
                self.out.write(out)
        except (lzma.LZMAError, MemoryError):
            return False
        self.out.flush()
        # The index's sizes must hold exactly: nothing left over, nothing missing.
        return fed == compressed_size and not decoder.unused_data and self.decoded - start == decoded_size

    def zstd(self, frame_size: int, header: zstd_frame.FrameHeader) -> bool:
        """Decodes the zstd frame of ``frame_size`` bytes that starts here (its ``header`` parsed)
        if a setting of the pinned libzstd reproduces it exactly. On ``False`` nothing was consumed
        or written."""
        start_out, start_pos = self.decoded, self.pos
        decoded_size = self._unzstd(frame_size, header)
        if decoded_size is not None and not self.reproduce:
            return self._take(start_out, start_pos, frame_size)
        if decoded_size is not None:
            decoded = (self.out_reader, start_out, decoded_size)
            original = (self.src_fd, start_pos, frame_size)
            params = self._search_zstd(header, decoded, original)
            if params is not None:
                self._last_zstd = params
                if self._record(start_out, start_pos, frame_size, params, "zstd"):
                    self._count_unproven(frame_size)
                    return True
        self._undo(start_out)
        return False

    def _search_zstd(
        self, header: zstd_frame.FrameHeader, decoded: tuple[int, int, int], original: tuple[int, int, int]
    ) -> zstd_frame.ZstdParams | None:
        compressor = zstd_frame.pinned_libzstd()
        head = pread_exact(original[0], header.size + 3, original[1])
        enough = zstd_frame.quick_check_size(head, header, ZSTD_QUICK)
        for params in zstd_frame.candidates(header, decoded[2], self._last_zstd):
            self.tries += 1
            quick = partial(compressor.new, params.single_threaded())
            if not _same_output(quick, decoded, original, enough=enough):
                continue
            # The zstd tool's worker threads first, then a library's single-threaded encoder: they
            # part only past the first job.
            for variant in (params, params.single_threaded()):
                if _same_output(
                    partial(compressor.new, variant), decoded, original, enough=self.checked_prefix
                ):
                    return variant
        return None

    def _unzstd(self, frame_size: int, header: zstd_frame.FrameHeader) -> int | None:
        """Decodes the frame into ``out``: its decoded size, or None if it is corrupt, is not exactly
        ``frame_size`` bytes long, decodes to another size than its header says, or would pass
        ``max_decoded`` (checked on the header's claim before anything is decoded, and as it goes)."""
        from deltaglider._native.zstd import ZstdFrameDecoder

        start = self.decoded
        if self.work.exhausted or (
            header.content_size is not None and start + header.content_size > self.max_decoded
        ):
            return None
        try:
            decoder = ZstdFrameDecoder()
        except CodecError:
            return None
        try:
            read = 0
            pending = b""
            while not decoder.done:
                if not pending and read < frame_size:
                    pending = pread_exact(self.src_fd, min(CHUNK, frame_size - read), self.pos + read)
                    if not pending:
                        return None
                    read += len(pending)
                out, used = decoder.feed(pending)
                pending = pending[used:]
                self.decoded += len(out)
                if self.decoded > self.max_decoded or not self.work.spend(len(out)):
                    return None
                self.out.write(out)
                if not out and not used and not pending and read >= frame_size and not decoder.done:
                    return None  # the frame ends inside a block
        except (CodecError, MemoryError):
            return None
        finally:
            decoder.close()
        self.out.flush()
        size = self.decoded - start
        if read - len(pending) != frame_size or header.content_size not in (None, size):
            return None
        return size

    def _inflate(self, compressed_size: int | None) -> int | None:
        """Inflates into ``out``; the compressed bytes used, or ``None`` if the stream is broken, too
        large, or not exactly ``compressed_size`` long."""
        if self.work.exhausted:
            return None
        inflater = zlib.decompressobj(-15)
        fed = 0
        try:
            while not inflater.eof:
                want = CHUNK if compressed_size is None else min(CHUNK, compressed_size - fed)
                data = pread_exact(self.src_fd, want, self.pos + fed) if want > 0 else b""
                if not data:
                    return None
                fed += len(data)
                while True:
                    out = inflater.decompress(data, _INFLATE_STEP)
                    self.decoded += len(out)
                    if self.decoded > self.max_decoded or not self.work.spend(len(out)):
                        return None
                    self.out.write(out)
                    # At the end marker the leftover input shows up in both unused_data and
                    # unconsumed_tail, so eof ends this loop; a full output step may leave output
                    # pending inside zlib with no input left, so drain before reading more.
                    data = inflater.unconsumed_tail
                    if inflater.eof or (not data and len(out) < _INFLATE_STEP):
                        break
        except zlib.error:
            return None
        used = fed - len(inflater.unused_data)
        if compressed_size is not None and used != compressed_size:
            return None
        self.out.flush()
        return used

    def _candidates(self) -> Iterator[DeflateParams]:
        seen: set[DeflateParams] = set()
        sources: list[Iterable[DeflateParams]] = [[self._last] if self._last else [], likely_params()]
        if self.depth > 1:
            sources.append(NESTED_EXTRA)
        elif self.exhaustive:
            sources.append(other_params())
        for source in sources:
            for params in source:
                if params not in seen:
                    seen.add(params)
                    yield params

    def _search(self, decoded: tuple[int, int, int], original: tuple[int, int, int]) -> DeflateParams | None:
        for params in self._candidates():
            self.tries += 1
            new = partial(self.compressor.new, params)
            if _same_output(new, decoded, original, enough=self.checked_prefix):
                return params
        return None
