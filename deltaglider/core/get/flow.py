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
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Final

from deltaglider.atomic import StrPath
from deltaglider.core import protocol
from deltaglider.core.context import Context
from deltaglider.core.format.layout import DELTA_SUFFIX, display_name, split_key
from deltaglider.core.format.locate import get_located, likely_keys
from deltaglider.core.format.metadata import Kind, StoredInfo, parse
from deltaglider.core.get.destination import atomic_output, resolve_output
from deltaglider.core.models import GetSummary, ObjectKey
from deltaglider.core.rebuild import archives, legacy
from deltaglider.core.rebuild.sources import (
    BaseUnavailableError,
    Rebuild,
    candidate_keys,
    derived_origin,
    reference_file,
)
from deltaglider.errors import DecodeError, IntegrityError, MetadataError, NotFoundError
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


def fetch(
    ctx: Context,
    bucket: str,
    key: str,
    info: StoredInfo,
    dest: Path,
    *,
    progress: ProgressCallback | None = None,
    use_cache: bool = True,
    stored: Path | None = None,
    snapshot_base: bool = True,
) -> str:
    """Writes the file stored at ``key`` into ``dest`` (a scratch path) and returns its SHA-256.
    Does not compare it with the recorded one: callers decide what a mismatch means. Without
    ``use_cache``, a delta's reference is downloaded and checked rather than taken from the cache.
    ``stored`` is where the object's bytes already are, if they were fetched (``dest`` itself for
    a whole object, a path of the caller's for a delta). With ``snapshot_base`` a delta's base may
    itself be stored as a delta against a full reference (core.bases): two decodes at most."""
    url = ctx.storage.url(bucket, key)
    if info.kind is Kind.PLAIN:
        _refuse_bare_delta(url, key, None)
    if info.kind is not Kind.DELTA:
        if stored is None:
            ctx.storage.get_file(bucket, key, dest, progress)
        elif stored != dest:
            _place(stored, dest)
        if info.kind is Kind.PLAIN:
            _refuse_bare_delta(url, key, dest)
        return ctx.hasher.sha256_file(dest)
    if info.ref_sha256 is None:
        raise MetadataError(f"{url}: delta without the SHA-256 of its reference (dg-ref-sha256)")
    if info.file_size is None:
        # Nothing would bound its decode: refused before its base is fetched.
        raise MetadataError(f"{url}: a delta with no recorded size (dg-file-size): nothing bounds its decode")
    assert info.file_sha256 is not None  # a DELTA always has one (see metadata.parse)
    with ctx.scratch() as scratch:
        delta = stored if stored is not None else scratch / "delta"
        if stored is None:
            ctx.storage.get_file(bucket, key, delta, progress)
        keys = candidate_keys(key, info.ref_key)
        try:
            header = None if info.transform else ctx.diff.inspect(delta)
            rebuild = snapshot_rebuilder(ctx, bucket, use_cache) if snapshot_base else None
            ref_sha256 = info.ref_sha256

            def reference() -> AbstractContextManager[Path]:
                return reference_file(
                    ctx, bucket, keys, ref_sha256, use_cache=use_cache, rebuild=rebuild, progress=progress
                )

            if info.transform is not None:
                # A cached decoded base is all it needs: the reference is fetched only to derive one.
                archives.decode(
                    ctx,
                    reference,
                    delta,
                    dest,
                    url=url,
                    ref_sha256=ref_sha256,
                    transform=info.transform,
                    use_cache=use_cache,
                    expected_size=info.file_size,
                    origin=derived_origin(ctx, bucket, key),
                )
            else:
                with reference() as local:
                    if header is None or header.external is None:
                        ctx.diff.decode(local, delta, dest, expected_size=info.file_size)
                    else:
                        ctx.logger.info("rebuilding a delta made over externally compressed data", key=key)
                        legacy.rebuild(
                            ctx,
                            local,
                            delta,
                            dest,
                            expected_sha256=info.file_sha256,
                            expected_size=info.file_size,
                            ref_sha256=ref_sha256,
                            external=header.external,
                        )
        except DecodeError as exc:
            raise IntegrityError(
                f"{url}: the stored delta does not decode against its reference: {exc}"
            ) from exc
    return ctx.hasher.sha256_file(dest)


def snapshot_rebuilder(ctx: Context, bucket: str, use_cache: bool) -> Rebuild:
    """How ``reference_file`` rebuilds a base stored as a delta (a snapshot, see core.bases)."""

    def rebuild(key: str, metadata: Mapping[str, str], stored: Path, out: Path) -> str:
        info = parse(metadata, key)
        if info.kind is not Kind.DELTA:
            raise MetadataError(
                f"{ctx.storage.url(bucket, key)}: a base that names a reference but is no delta"
            )
        # The snapshot's own base must be a full reference: no file is more than two decodes away.
        return fetch(ctx, bucket, key, info, out, use_cache=use_cache, stored=stored, snapshot_base=False)

    return rebuild


def get(
    ctx: Context, obj: ObjectKey, output_path: StrPath, progress: ProgressCallback | None = None
) -> GetSummary:
    """Writes the file to ``output_path``: into it when it is a folder or ends in a separator, into
    the FIFO or device it names, else under that name."""
    started = time.monotonic()
    # Finding the object and reading it are one GET: no upload can change the name's form in between.
    head, info, dest, actual, size = _get_once(ctx, obj, output_path, progress)
    reconstructed = info.kind is Kind.DELTA
    ctx.metrics.timing("get.seconds", time.monotonic() - started, delta=str(reconstructed))
    ctx.logger.info("fetched", key=head.key, size=size, reconstructed=reconstructed)
    return GetSummary(
        operation="GET_DELTA" if reconstructed else "GET",
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
                info, actual = _rebuild_in_place(ctx, obj, head, tmp, progress)
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
                info, actual = _rebuild_in_place(ctx, obj, head, tmp, progress)
            size = tmp.stat().st_size  # a FIFO or device the bytes go into has no size of its own
        return head, info, dest, actual, size
    # A name like the layout's own (``x.delta``): where it goes depends on the form found.
    with ctx.scratch() as scratch:
        fetched = scratch / "object"
        head = get_located(ctx, obj, fetched, progress)
        dest = resolve_output(output_path, _stored_name(head.key))
        with atomic_output(dest, spool=ctx.scratch) as tmp:
            _place(fetched, tmp)
            info, actual = _rebuild_in_place(ctx, obj, head, tmp, progress)
            size = tmp.stat().st_size
    return head, info, dest, actual, size


def _rebuild_in_place(
    ctx: Context, obj: ObjectKey, head: ObjectHead, path: Path, progress: ProgressCallback | None
) -> tuple[StoredInfo, str]:
    """``path`` holds the stored object's bytes; leaves the file's there, checked against its SHA-256."""
    info = parse(head.metadata, head.key)
    url = ctx.storage.url(obj.bucket, head.key)
    if info.kind is Kind.DELTA:
        with ctx.scratch() as scratch:
            # Moved out, so that the rebuilt file is renamed onto a free name: ext4 flushes a file that
            # a rename puts over another one (auto_da_alloc), ~8 ms for 12.5 MB on this machine.
            delta = scratch / "delta"
            shutil.move(path, delta)
            actual = fetch(ctx, obj.bucket, head.key, info, path, progress=progress, stored=delta)
    else:
        actual = fetch(ctx, obj.bucket, head.key, info, path, progress=progress, stored=path)
    if info.kind is Kind.PLAIN:
        ctx.logger.warning("object has no SHA-256 recorded; served unverified", key=head.key)
    elif actual != info.file_sha256:
        raise IntegrityError(
            f"{url}: SHA-256 mismatch: expected {info.file_sha256}, got {actual}; nothing written"
        )
    return info, actual
