"""Bindings of the xdelta3 glue: encoder plans, encode and decode, in memory and file to file.

Every encode runs from one plan (:class:`EncodePlan`): planned from the content first (the reach
probe, and a sample of the target to tell compressed content), then run as planned, so that what a
caller reserved for an encode is what it uses. The native calls release the GIL for their whole
length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from deltaglider._native import NO_LIMIT, load
from deltaglider._native.status import Files, raise_for_status

Secondary: TypeAlias = Literal["lzma", "djw", "fgk", "auto"] | None


@dataclass(frozen=True)
class EncodePlan:
    """How the encoder will run for a pair (see ``native/dg_plan.c``).

    ``window`` is the source window: the whole source when ``covers_source`` (content is found however
    far it moved), else a sliding window of that size. A plan from sizes alone
    (:func:`deltaglider.codec.plan_encode`) is the widest an encode of those sizes will use; a plan
    from the content (:func:`deltaglider.codec.plan_encode_files`) narrows a whole-source window to
    a sliding one when a probe shows content did not move far (narrower finds better-placed copies),
    and is what the encode then runs.
    """

    window: int
    block_size: int
    large_step: int
    target_window: int
    hash_bytes: int
    memory: int
    covers_source: bool
    usize_bytes: int
    lzma_preset: int
    #: The ``dg_encode_plan`` an encode runs; None for a plan from sizes alone, which no encode runs.
    native: object = field(default=None, repr=False, compare=False)


def _secondary_code(secondary: Secondary) -> int:
    _, lib = load()
    codes = {
        None: lib.DG_SECONDARY_NONE,
        "lzma": lib.DG_SECONDARY_LZMA,
        "djw": lib.DG_SECONDARY_DJW,
        "fgk": lib.DG_SECONDARY_FGK,
        "auto": lib.DG_SECONDARY_AUTO,
    }
    try:
        return int(codes[secondary])
    except (KeyError, TypeError):
        raise ValueError(
            f"secondary must be one of 'lzma', 'auto', 'djw', 'fgk' or None, not {secondary!r}"
        ) from None


def params(level: int, secondary: Secondary, memory_budget: int) -> Any:
    """The ``dg_encode_params`` of these settings; ``ValueError`` for a setting out of range."""
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
        raise ValueError(f"level must be an integer from 0 to 9, not {level!r}")
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, int) or memory_budget <= 0:
        raise ValueError(f"memory_budget must be a positive integer, not {memory_budget!r}")
    ffi, _ = load()
    made = ffi.new("dg_encode_params *")
    made.level = level
    made.secondary = _secondary_code(secondary)
    made.memory_budget = memory_budget
    return made


def _planned(rc: int, plan: Any, status: Any, *, runnable: bool, files: Files | None = None) -> EncodePlan:
    _, lib = load()
    if rc != lib.DG_OK:
        if status.code == lib.DG_ERR_CODEC:
            # Only arguments fail the plan itself, above all a budget smaller than the target window
            # needs; reading the content for it can fail otherwise (I/O, memory).
            raise ValueError(load()[0].string(status.msg).decode("utf-8", "replace"))
        raise_for_status(status, files=files)
    return EncodePlan(
        window=int(plan.window),
        block_size=int(plan.blksize),
        large_step=int(plan.large_step),
        target_window=int(plan.winsize),
        hash_bytes=int(plan.hash_bytes),
        memory=int(plan.memory),
        covers_source=bool(plan.covers_source),
        usize_bytes=int(plan.usize_bytes),
        lzma_preset=int(plan.lzma_preset),
        native=plan if runnable else None,
    )


def plan_sizes(source_size: int, target_size: int, settings: Any) -> EncodePlan:
    """The plan from sizes alone (the content unknown)."""
    ffi, lib = load()
    plan = ffi.new("dg_encode_plan *")
    status = ffi.new("dg_status *")
    rc = lib.dg_plan_encode(source_size, target_size, NO_LIMIT, settings, plan, status)
    return _planned(rc, plan, status, runnable=False)


def plan_memory(source: Any, target: Any, settings: Any) -> EncodePlan:
    """The plan of an encode of ``target`` against ``source`` (buffers of ``ffi.from_buffer``)."""
    ffi, lib = load()
    plan = ffi.new("dg_encode_plan *")
    status = ffi.new("dg_status *")
    rc = lib.dg_plan_memory(source, len(source), target, len(target), settings, plan, status)
    return _planned(rc, plan, status, runnable=True)


def plan_files(source_fd: int, target_fd: int, settings: Any, files: Files) -> EncodePlan:
    """The plan of an encode of the open files (the probe and sniff read them, through mappings)."""
    ffi, lib = load()
    plan = ffi.new("dg_encode_plan *")
    status = ffi.new("dg_status *")
    rc = lib.dg_plan_file(source_fd, target_fd, settings, plan, status)
    return _planned(rc, plan, status, runnable=True, files=files)


def check_plan(plan: EncodePlan, settings: Any) -> Any:
    """The native plan of ``plan``, which must come from the content and for these settings."""
    native: Any = plan.native
    if native is None:
        raise ValueError("this plan was made from sizes alone; an encode runs a plan of its files")
    made = native.params
    if (made.level, made.secondary, made.memory_budget) != (
        settings.level,
        settings.secondary,
        settings.memory_budget,
    ):
        raise ValueError("the plan was made with other level, secondary or memory_budget settings")
    return native


def encode_memory(source: Any, target: Any, plan: EncodePlan) -> bytes:
    ffi, lib = load()
    out = ffi.new("dg_buffer *")
    status = ffi.new("dg_status *")
    rc = lib.dg_encode_memory(source, len(source), target, len(target), plan.native, out, status)
    if rc != lib.DG_OK:
        lib.dg_buffer_free(out)
        raise_for_status(status)
    return _take_buffer(out)


def encode_files(source_fd: int, target_fd: int, delta_fd: int, plan: Any, files: Files) -> int:
    """Runs ``plan`` (a native plan, see :func:`check_plan`); returns the bytes written."""
    ffi, lib = load()
    written = ffi.new("uint64_t *")
    status = ffi.new("dg_status *")
    if lib.dg_encode_file(source_fd, target_fd, delta_fd, plan, written, status) != lib.DG_OK:
        raise_for_status(status, files=files)
    return int(written[0])


def decode_memory(source: Any, delta: Any, limit: int, allow_external: bool) -> bytes:
    """Decodes, stopping past ``limit`` bytes (:data:`NO_LIMIT`: none)."""
    ffi, lib = load()
    out = ffi.new("dg_buffer *")
    status = ffi.new("dg_status *")
    rc = lib.dg_decode_memory(source, len(source), delta, len(delta), limit, int(allow_external), out, status)
    if rc != lib.DG_OK:
        lib.dg_buffer_free(out)
        raise_for_status(status)
    return _take_buffer(out)


def decode_files(
    source_fd: int, delta_fd: int, output_fd: int, limit: int, *, allow_external: bool, files: Files
) -> int:
    """Decodes file to file; returns the bytes written."""
    ffi, lib = load()
    written = ffi.new("uint64_t *")
    status = ffi.new("dg_status *")
    rc = lib.dg_decode_file(source_fd, delta_fd, output_fd, limit, int(allow_external), written, status)
    if rc != lib.DG_OK:
        raise_for_status(status, files=files)
    return int(written[0])


def buffer(data: Any) -> Any:
    """A C view of a bytes-like object, for the calls above (no copy)."""
    return load()[0].from_buffer(data)


def _take_buffer(out: Any) -> bytes:
    ffi, lib = load()
    try:
        return bytes(ffi.buffer(out.data, out.len)) if out.len else b""
    finally:
        lib.dg_buffer_free(out)
