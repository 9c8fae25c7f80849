"""The one translation of a failed native call's ``dg_status`` into an exception of
:mod:`deltaglider.errors`, for every binding module.

An I/O failure names its file: the glue says which one by role (source, target, delta, output), the
caller passes the paths of those roles, and the exception carries the path.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from typing import Any, NoReturn, TypeAlias

from deltaglider._native import load
from deltaglider._native.appheader import EXTERNAL_COMPRESSION_IDENTS, external_idents
from deltaglider.errors import (
    CodecError,
    CodecIOError,
    DecodeError,
    OutOfMemoryError,
    UnsupportedDeltaError,
)

StrPath: TypeAlias = str | os.PathLike[str]
#: The paths of a call's files by role: the ``lib.DG_FILE_*`` code, its path.
Files: TypeAlias = Mapping[int, StrPath]


def file_roles(
    *,
    source: StrPath,
    target: StrPath | None = None,
    delta: StrPath | None = None,
    output: StrPath | None = None,
) -> dict[int, StrPath]:
    """The paths of one file-to-file call by role (those it has)."""
    _, lib = load()
    given = {
        lib.DG_FILE_SOURCE: source,
        lib.DG_FILE_TARGET: target,
        lib.DG_FILE_DELTA: delta,
        lib.DG_FILE_OUTPUT: output,
    }
    return {role: path for role, path in given.items() if path is not None}


def raise_for_status(status: Any, *, files: Files | None = None, library: str = "xdelta3") -> NoReturn:
    """Raises what ``status`` (a ``dg_status *`` a call filled in) reports. ``library`` names, in the
    message of a plain codec failure, which library failed."""
    ffi, lib = load()
    code = status.code
    name = ffi.string(status.name).decode("ascii", "replace")
    detail = ffi.string(status.msg).decode("utf-8", "replace")
    if code == lib.DG_ERR_EXTERNAL:
        appheader = ffi.string(status.msg)
        marker, source_marker = external_idents(appheader) or ("", "")
        program = EXTERNAL_COMPRESSION_IDENTS.get(marker or source_marker, "external")
        raise UnsupportedDeltaError(
            f"delta was written by the xdelta3 binary over {program}-compressed data "
            f"(application header {detail!r}); the VCDIFF alone does not rebuild the stored file",
            appheader=detail,
            marker=marker,
            source_marker=source_marker,
        )
    if code in (lib.DG_ERR_DECODE, lib.DG_ERR_TOO_LARGE):
        raise DecodeError(f"cannot decode delta: {detail} ({name})", name=name, detail=detail)
    if code == lib.DG_ERR_IO:
        err = int(status.sys_errno) or errno.EIO
        path = (files or {}).get(int(status.file))
        filename = None if path is None else os.fsdecode(path)
        raise CodecIOError(err, os.strerror(err), filename, detail=detail)
    if code == lib.DG_ERR_NOMEM:
        raise OutOfMemoryError(f"out of memory in the codec: {detail}", name=name, detail=detail)
    raise CodecError(f"{library} failed: {detail} ({name})", name=name, detail=detail)
