"""Downloading a file: whole objects are copied, deltas rebuilt against their reference; either way the
bytes reach the destination only after their SHA-256 matched.

A download GETs the stored object straight away (``locate.get_located``: the likely form first, the
metadata coming with the bytes), into the temporary file beside the destination, so a file stored
whole is never copied again; a delta is copied aside and the file rebuilt into it. A destination
that is a FIFO or a device gets its temporary file in a scratch folder instead, and the checked
bytes written into it (:mod:`deltaglider.core.get.destination`).
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Final

from deltaglider.atomic import StrPath
from deltaglider.core import protocol
from deltaglider.core.context import Context
from deltaglider.core.format import forms
from deltaglider.core.format.layout import (
    DELTA_SUFFIX,
    VERSION_ID_RE,
    delta_key,
    display_name,
    lookup_keys,
    split_key,
    version_key,
    whole_key,
)
from deltaglider.core.format.locate import check_object_key, get_located, likely_keys
from deltaglider.core.format.metadata import Kind, StoredInfo, parse
from deltaglider.core.get.destination import atomic_output, resolve_output
from deltaglider.core.models import GetSummary, ObjectKey
from deltaglider.core.rebuild import sources
from deltaglider.core.rebuild.sources import BaseUnavailableError
from deltaglider.errors import IntegrityError, InvalidURLError, MetadataError, NotFoundError
from deltaglider.ports.storage import ObjectHead, ProgressCallback
from deltaglider.transforms import body

_VCDIFF_MAGIC: Final = b"\xd6\xc3\xc4"
#: What a delta's body starts with: VCDIFF, or the transform header of a delta of decoded content.
_DELTA_MAGICS: Final = (_VCDIFF_MAGIC, body.MAGIC)


def _place(src: Path, dest: Path) -> None:
    """Moves a file; across filesystems (scratch in TMPDIR, the destination elsewhere) by copying."""
    try:
        os.replace(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copyfile(src, dest)
        src.unlink()


def _refuse_bare_delta(url: str, key: str, path: Path | None) -> None:
    """An object without a SHA-256 is served as it is, unless it is a delta that lost its metadata:
    its own bytes are not the file, and nothing could tell."""
    if key.endswith(DELTA_SUFFIX):
        reason = "its name ends in .delta"
    elif path is not None:
        with open(path, "rb") as f:
            if not f.read(len(body.MAGIC)).startswith(_DELTA_MAGICS):
                return
        reason = "its content is a delta"
    else:
        return
    raise MetadataError(
        f"{url}: {reason} but it has no deltaglider metadata (no SHA-256, no reference): it is a delta "
        "whose metadata was lost, and its bytes are not the file; nothing written"
    )


def checked_whole(ctx: Context, url: str, key: str, info: StoredInfo, path: Path) -> str:
    """The SHA-256 of an object stored whole, whose bytes are at ``path``; an object with no metadata
    that is in fact a delta is refused (its bytes are not the file)."""
    if info.kind is Kind.PLAIN:
        _refuse_bare_delta(url, key, path)
    return ctx.hasher.sha256_file(path)


def get(
    ctx: Context,
    obj: ObjectKey,
    output_path: StrPath,
    progress: ProgressCallback | None = None,
    *,
    version: str | None = None,
) -> GetSummary:
    """Writes the file to ``output_path``: into it when it is a folder or ends in a separator, into
    the FIFO or device it names, else under that name. ``version``: that version of the name (an ID
    of ``list_versions``), current or kept in its history."""
    started = time.monotonic()
    if version is None:
        # Finding the object and reading it are one GET: no upload can change the name's form in
        # between.
        head, info, dest, actual, size = _get_once(ctx, obj, output_path, progress)
    else:
        head, info, dest, actual, size = _get_version(ctx, obj, version, output_path, progress)
    reconstructed = info.kind is Kind.DELTA
    operation = "GET_DELTA" if reconstructed else "GET"
    ctx.metrics.increment("get", operation=operation)
    ctx.metrics.increment("get.bytes", size, operation=operation)
    ctx.metrics.timing("get.seconds", time.monotonic() - started, operation=operation)
    ctx.logger.info("fetched", key=head.key, size=size, reconstructed=reconstructed)
    return GetSummary(
        operation=operation,
        bucket=obj.bucket,
        key=head.key,
        size=size,
        hash=actual,
        reconstructed=reconstructed,
        path=str(dest),
    )


def _stored_name(key: str) -> str:
    # Into a folder, the file goes under the name it was stored as (app.zip, not app.zip.delta).
    return split_key(display_name(key) or key)[1]


def _get_once(
    ctx: Context, obj: ObjectKey, output_path: StrPath, progress: ProgressCallback | None
) -> tuple[ObjectHead, StoredInfo, Path, str, int]:
    names = {_stored_name(key) for key in likely_keys(obj.key, original_compatible=ctx.original_compatible)}
    if len(names) == 1:
        # Either form lands at the same destination: GET straight into its temporary file.
        dest = resolve_output(output_path, names.pop())
        with atomic_output(dest, spool=ctx.scratch) as tmp:
            head = get_located(ctx, obj, tmp, progress)
            try:
                info, actual = _into(ctx, obj, head, stored=tmp, path=tmp, progress=progress)
            except BaseUnavailableError as gone:
                # A delta whose base is gone (or replaced) while the form it replaces is still there: a
                # write of the name's new form is under way (re-packing, or an upload yet to check its
                # base).
                other = protocol.other_form(head)
                if other is None:
                    raise
                try:
                    head = ctx.storage.get_file(obj.bucket, other, tmp, progress)
                except NotFoundError:
                    raise gone from None
                info, actual = _into(ctx, obj, head, stored=tmp, path=tmp, progress=progress)
            size = tmp.stat().st_size  # a FIFO or device the bytes go into has no size of its own
        return head, info, dest, actual, size
    # A name like the layout's own (``x.delta``): where it goes depends on the form found.
    with ctx.scratch() as scratch:
        fetched = scratch / "object"
        head = get_located(ctx, obj, fetched, progress)
        dest = resolve_output(output_path, _stored_name(head.key))
        with atomic_output(dest, spool=ctx.scratch) as tmp:
            info, actual = _into(ctx, obj, head, stored=fetched, path=tmp, progress=progress)
            size = tmp.stat().st_size
    return head, info, dest, actual, size


class _NotThatVersionError(Exception):
    """The name's object holds another version than the one asked for."""


#: A version is looked for in the history, then at the name; a version moved from the name into the
#: history between those two looks is found on the second round.
_VERSION_ROUNDS = 2


def _get_version(
    ctx: Context, obj: ObjectKey, version: str, output_path: StrPath, progress: ProgressCallback | None
) -> tuple[ObjectHead, StoredInfo, Path, str, int]:
    if not VERSION_ID_RE.match(version):
        raise InvalidURLError(f"{version!r} is not a version ID (as list_versions gives them)")
    check_object_key(ctx, obj)
    prefix, name = split_key(obj.key)
    kept = version_key(prefix, name, version)
    dest = resolve_output(output_path, name)
    for _ in range(_VERSION_ROUNDS):
        try:
            with atomic_output(dest, spool=ctx.scratch) as tmp:
                head = _fetch_version(ctx, obj, kept, version, tmp, progress=progress)
                # A kept version is read as its name's object: rebuilt against the bases of the
                # name's own DeltaSpace (its key says where that is, not its metadata).
                home = head
                if head.key == kept:
                    stored = parse(head.metadata, kept).kind is Kind.DELTA
                    home = replace(head, key=delta_key(prefix, name) if stored else whole_key(prefix, name))
                info, actual = _into(ctx, obj, home, stored=tmp, path=tmp, progress=progress)
                size = tmp.stat().st_size
            return head, info, dest, actual, size
        except _NotThatVersionError:
            continue
    raise NotFoundError(f"{ctx.storage.url(obj.bucket, obj.key)} has no version {version}")


def _fetch_version(
    ctx: Context, obj: ObjectKey, kept: str, version: str, dest: Path, *, progress: ProgressCallback | None
) -> ObjectHead:
    """The stored object of ``version`` into ``dest``: kept in the history, else at the name while
    it is still the current version there."""
    try:
        head = ctx.storage.get_file(obj.bucket, kept, dest, progress)
    except NotFoundError:
        pass
    else:
        if forms.version_id(head) != version:
            raise IntegrityError(
                f"{ctx.storage.url(obj.bucket, kept)} holds version {forms.version_id(head)}, "
                f"not {version}: nothing written"
            )
        return head
    try:
        head = get_located(ctx, obj, dest, progress)
    except NotFoundError:
        raise _NotThatVersionError from None
    if forms.version_id(head) == version:
        return head
    # A writer killed (or still under way) between writing one form of the name and removing the
    # other leaves both, and the version asked for may be the form not found first.
    for key in lookup_keys(obj.key):
        if key == head.key:
            continue
        try:
            head = ctx.storage.get_file(obj.bucket, key, dest, progress)
        except NotFoundError:
            continue
        if forms.version_id(head) == version:
            return head
    raise _NotThatVersionError


def _into(
    ctx: Context,
    obj: ObjectKey,
    head: ObjectHead,
    *,
    stored: Path,
    path: Path,
    progress: ProgressCallback | None,
) -> tuple[StoredInfo, str]:
    """``stored`` holds the stored object's bytes (it may be ``path`` itself); leaves the file's at
    ``path``, checked against its SHA-256."""
    info = parse(head.metadata, head.key)
    url = ctx.storage.url(obj.bucket, head.key)
    if info.kind is Kind.DELTA:
        with ctx.scratch() as scratch:
            delta = stored
            if stored == path:
                # Moved out, so that the file is written under a free name: ext4 flushes a file whose
                # old content a rename or a truncation replaces (auto_da_alloc).
                delta = scratch / "delta"
                shutil.move(stored, delta)
            actual = sources.rebuild(
                ctx, obj.bucket, head.key, info, stored=delta, dest=path, progress=progress
            )
    else:
        if stored != path:
            _place(stored, path)
        actual = checked_whole(ctx, url, head.key, info, path)
    if info.kind is Kind.PLAIN:
        ctx.logger.warning("object has no SHA-256 recorded; served unverified", key=head.key)
    elif actual != info.file_sha256:
        raise IntegrityError(
            f"{url}: SHA-256 mismatch: expected {info.file_sha256}, got {actual}; nothing written"
        )
    return info, actual
