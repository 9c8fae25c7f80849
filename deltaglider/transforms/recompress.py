"""The rebuild's recompression on every core: members compressed side by side, written in order.

Each compressed member of a container (a zip member, a gzip or xz member of a ``.deb``, an xz block,
one of the concatenated streams of a pbzip2 file) is an independent stream: it is rebuilt from its
own decoded bytes and nothing else. So a rebuild hands members to a pool of threads (the pinned zlib,
liblzma and libbzip2 run with the GIL released) while this thread writes their output in the
recipe's order, so the file comes out byte for byte as a serial rebuild writes it.

What it holds at once is bounded, whatever the container:

* at most ``window`` members are started and not yet written;
* a member started ahead of the one being written first reserves its recorded compressed size out
  of ``ahead_bytes`` (it can make no more: past it, it fails), so the output waiting for its turn
  never passes that; a member too large for what is left starts only once it is the one being
  written, and then streams into the file as it is made, as a serial rebuild's does;
* the encoders running together are estimated to need at most ``encoder_memory`` (an LZMA2 encoder
  holds about eleven times its dictionary); a member whose encoder alone needs more runs alone.

A worker never waits for the writer, so no member can hold up the one being written. Members start
in the file's order, except one that alone holds a large share of the work: it starts as soon as its
output fits, since left to its turn it would end the rebuild alone on one core.

A member that does not recompress to its recorded size stops the rebuild with :class:`RecipeError`:
the members still running are told to stop, and the caller discards its output.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final, Protocol, TypeAlias

from deltaglider.errors import RecipeError
from deltaglider.transforms.bzip2 import Bzip2Params
from deltaglider.transforms.deflater import DeflateParams, Deflater
from deltaglider.transforms.lzma2 import Lzma2Params
from deltaglider.transforms.recipe import Segment
from deltaglider.transforms.reconstruct import ReconstructParams
from deltaglider.transforms.reconstruct import memory as reconstruct_memory
from deltaglider.transforms.zstd_frame import ZstdParams
from deltaglider.transforms.zstd_frame import encoder_memory as zstd_encoder_memory

#: Bytes of decoded input handed to an encoder per call.
CHUNK: Final = 1 << 16
#: Members started and not yet written, per worker.
WINDOW_PER_WORKER: Final = 16
#: Output the members started ahead of the one being written may hold together.
AHEAD_BYTES: Final = 16 << 20
#: What the encoders running together may be estimated to hold.
ENCODER_MEMORY: Final = 256 << 20

Params: TypeAlias = DeflateParams | Lzma2Params | Bzip2Params | ZstdParams | ReconstructParams
#: One member's stream being written (a deflate or LZMA2 encoder: ``compressobj``'s shape).
Encoder: TypeAlias = Deflater
#: Makes the encoder of one member from its recorded parameters.
NewEncoder: TypeAlias = Callable[[Params], Encoder]


class Sink(Protocol):
    """Where the rebuilt file goes, in order."""

    def write(self, data: bytes, /) -> int: ...


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def encoder_memory(seg: Segment) -> int:
    """About what the encoder of ``seg`` holds, rounded up: liblzma's match finder keeps up to
    eleven bytes per byte of dictionary plus its buffers; zlib's deflate keeps its window, hash
    chains and pending block; libbzip2's compressor, eight bytes per byte of its block; libzstd
    estimates its own; the reconstructor holds the whole stream several times over."""
    params = seg.params
    assert params is not None
    if isinstance(params, ReconstructParams):
        return reconstruct_memory(seg.input_size)
    if isinstance(params, Bzip2Params):
        return 8 * 100_000 * params.block_size + (1 << 17)
    if isinstance(params, ZstdParams):
        return zstd_encoder_memory(params)
    if isinstance(params, Lzma2Params):
        return 11 * params.dict_size + (6 << 20)
    return (4 << params.wbits) + (4 << (params.mem_level + 9)) + (1 << 17)


def _chunks(
    fd: int, seg: Segment, offset: int, new: NewEncoder, stop: threading.Event | None
) -> Iterator[bytes]:
    """The member's rebuilt bytes, piece by piece, from its ``seg.decoded_size`` decoded bytes at
    ``offset``; :class:`RecipeError` as soon as they outgrow the recorded size, or end short of it."""
    assert seg.params is not None
    encoder = new(seg.params)
    made = 0
    for data in segment_input(fd, seg, offset, new, stop):
        if stop is not None and stop.is_set():
            return
        out = encoder.compress(data)
        made += len(out)
        if made > seg.compressed_size:
            break  # too long already: stop here rather than make the rest
        if out:
            yield out
    else:
        if stop is not None and stop.is_set():
            return
        out = encoder.flush()
        made += len(out)
        if made == seg.compressed_size and out:
            yield out
    if made != seg.compressed_size:
        raise RecipeError("a member recompressed to another size than recorded")


def segment_input(
    fd: int, seg: Segment, offset: int, new: NewEncoder, stop: threading.Event | None = None
) -> Iterator[bytes]:
    """What the segment compresses (or copies), piece by piece: its decoded bytes at ``offset``, or,
    for a nested container, what its inner recipe rebuilds of them (serially, on this thread: the
    members of one nested container are small next to the outer one's many)."""
    if seg.inner is None:
        yield from _read(fd, offset, seg.decoded_size, stop)
        return
    for inner in seg.inner.segments:
        if inner.params is None:
            yield from segment_input(fd, inner, offset, new, stop)
        else:
            yield from _chunks(fd, inner, offset, new, stop)
        offset += inner.decoded_size


def _read(fd: int, offset: int, size: int, stop: threading.Event | None) -> Iterator[bytes]:
    while size:
        if stop is not None and stop.is_set():
            return
        data = os.pread(fd, min(CHUNK, size), offset)
        if not data:
            raise RecipeError("the decoded stream ended early")
        size -= len(data)
        offset += len(data)
        yield data


def _write_raw(fd: int, seg: Segment, offset: int, out: Sink, new: NewEncoder) -> None:
    """Writes a segment kept as it is: its decoded bytes, or its nested container rebuilt."""
    if seg.inner is None:
        copy_raw(fd, offset, seg.decoded_size, out)
    else:
        for piece in segment_input(fd, seg, offset, new):
            out.write(piece)


def tree_memory(seg: Segment) -> int:
    """The encoders a member holds at once: its own and, while it runs, one per nested level."""
    inner = seg.inner
    nested = 0 if inner is None else max((tree_memory(s) for s in inner.segments if s.params), default=0)
    return encoder_memory(seg) + nested


def copy_raw(fd: int, offset: int, size: int, out: Sink) -> None:
    """Writes ``size`` decoded bytes at ``offset`` as they are."""
    while size:
        data = os.pread(fd, min(1 << 20, size), offset)
        if not data:
            raise RecipeError("the decoded stream ended early")
        out.write(data)
        size -= len(data)
        offset += len(data)


@dataclass(eq=False, slots=True)
class _Member:
    """One member on its way: what its worker made and the writer has not taken yet."""

    seg: Segment
    offset: int
    memory: int
    pieces: list[bytes] = field(default_factory=list)
    started: bool = False
    reserved: int = 0  # of the bytes ahead, held until it is written
    done: bool = False
    error: BaseException | None = None


class _Pipeline:
    """Starts members on the pool and writes them in order; one condition for the workers and it."""

    def __init__(
        self,
        fd: int,
        segments: tuple[Segment, ...],
        new: NewEncoder,
        pool: ThreadPoolExecutor,
        *,
        workers: int,
        window: int,
        ahead_bytes: int,
        memory_limit: int,
    ) -> None:
        self.fd = fd
        self.new = new
        self.pool = pool
        self.workers = workers
        self.window = window
        self.ahead_bytes = ahead_bytes
        self.memory_limit = memory_limit
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.items: list[tuple[int, Segment] | _Member] = []
        offset = 0
        for seg in segments:
            if seg.params is None:
                self.items.append((offset, seg))
            else:
                self.items.append(_Member(seg, offset, tree_memory(seg)))
            offset += seg.decoded_size
        self.members = [m for m in self.items if isinstance(m, _Member)]
        work = sum(m.seg.decoded_size for m in self.members)
        share = work // (2 * workers)
        self.dominant = sorted(
            (m for m in self.members if m.seg.decoded_size > share), key=lambda m: -m.seg.decoded_size
        )
        self.next_member = 0  # the first member, in order, that may not have started
        self.running = 0  # members a worker is on
        self.unwritten = 0  # members started and not yet written
        self.reserved = 0
        self.memory = 0
        self.freed = False  # a worker finished since the writer last started members

    def run(self, member: _Member) -> None:
        """A worker: makes the member's bytes."""
        try:
            if not self.stop.is_set():
                for piece in _chunks(self.fd, member.seg, member.offset, self.new, self.stop):
                    with self.cond:
                        member.pieces.append(piece)
                        self.cond.notify_all()
        except BaseException as exc:  # handed to the writer, which raises it in order
            member.error = exc
        finally:
            with self.cond:
                member.done = True
                self.running -= 1
                self.freed = True
                self.cond.notify_all()

    def _fits(self, member: _Member, reserve: int) -> bool:
        if self.reserved + reserve > self.ahead_bytes:
            return False
        return not self.running or self.memory + member.memory <= self.memory_limit

    def _pick(self, head: _Member) -> tuple[_Member, int] | None:
        """The member to start next and the bytes it reserves, or None to wait."""
        if not head.started:
            return (head, 0) if self._fits(head, 0) else None
        if self.unwritten >= self.window:
            return None
        while self.dominant and self.dominant[0].started:
            self.dominant.pop(0)
        if self.dominant and self._fits(self.dominant[0], self.dominant[0].seg.compressed_size):
            return self.dominant[0], self.dominant[0].seg.compressed_size
        while self.next_member < len(self.members) and self.members[self.next_member].started:
            self.next_member += 1
        if self.next_member < len(self.members):
            member = self.members[self.next_member]
            if self._fits(member, member.seg.compressed_size):
                return member, member.seg.compressed_size
        return None

    def _start_more(self, head: _Member) -> None:
        with self.cond:
            self.freed = False
            while self.running < self.workers:
                picked = self._pick(head)
                if picked is None:
                    return
                member, reserve = picked
                member.started = True
                member.reserved = reserve
                self.running += 1
                self.unwritten += 1
                self.reserved += reserve
                self.memory += member.memory
                self.pool.submit(self.run, member)

    def _write_member(self, member: _Member, out: Sink) -> None:
        while True:
            self._start_more(member)
            with self.cond:
                # Not started yet: it waits for a worker (one is running) to finish.
                while not member.pieces and not member.done and not self.freed:
                    self.cond.wait()
                pieces = list(member.pieces)
                member.pieces.clear()
                done, error = member.done, member.error
            for piece in pieces:
                out.write(piece)
            if error is not None:
                raise error
            if done:
                break
        with self.cond:
            self.unwritten -= 1
            self.reserved -= member.reserved
            self.memory -= member.memory

    def write(self, out: Sink) -> None:
        """Writes every segment into ``out``, in order."""
        try:
            for item in self.items:
                if isinstance(item, _Member):
                    self._write_member(item, out)
                else:
                    _write_raw(self.fd, item[1], item[0], out, self.new)
        except BaseException:
            with self.cond:
                self.stop.set()
            self.pool.shutdown(cancel_futures=True)
            raise


def write_segments(
    fd: int,
    segments: tuple[Segment, ...],
    out: Sink,
    new: NewEncoder,
    *,
    workers: int | None = None,
    window: int | None = None,
    ahead_bytes: int = AHEAD_BYTES,
    encoder_memory_limit: int = ENCODER_MEMORY,
) -> None:
    """Writes into ``out`` the file the ``segments`` rebuild from the decoded stream open at ``fd``
    (read with ``pread``, from offset 0): raw segments copied, the others recompressed with ``new``.
    ``workers`` (default: one per core) compress members side by side, at most ``window`` started
    and not yet written (default :data:`WINDOW_PER_WORKER` per worker); with one worker every member
    is compressed here, in turn."""
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError("a rebuild needs at least one worker")
    window = WINDOW_PER_WORKER * workers if window is None else window
    if window < 1:
        raise ValueError("a rebuild's window holds at least one member")
    if workers == 1 or sum(1 for s in segments if s.params is not None) < 2:
        _write_serial(fd, segments, out, new)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="dg-rebuild") as pool:
        _Pipeline(
            fd,
            segments,
            new,
            pool,
            workers=workers,
            window=window,
            ahead_bytes=ahead_bytes,
            memory_limit=encoder_memory_limit,
        ).write(out)


def _write_serial(fd: int, segments: tuple[Segment, ...], out: Sink, new: NewEncoder) -> None:
    offset = 0
    for seg in segments:
        if seg.params is None:
            _write_raw(fd, seg, offset, out, new)
        else:
            for piece in _chunks(fd, seg, offset, new, None):
                out.write(piece)
        offset += seg.decoded_size
