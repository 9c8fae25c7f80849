"""Checking a stored file against its recorded SHA-256: whole objects, references and deltas alike.

By default a delta's reference is downloaded and hashed, so that a damaged ``reference.bin`` is found
even while the local cache still holds a good copy; ``use_cache=True`` trusts the cache instead.
"""

from __future__ import annotations

from deltaglider.core.context import Context
from deltaglider.core.format.locate import locate
from deltaglider.core.format.metadata import Kind, parse, read_field
from deltaglider.core.get.flow import checked_whole
from deltaglider.core.models import ObjectKey, VerifyResult
from deltaglider.core.rebuild import sources
from deltaglider.errors import CodecError, IntegrityError, MetadataError, NotFoundError, NotVerifiableError


def verify(ctx: Context, obj: ObjectKey, *, use_cache: bool = False) -> VerifyResult:
    head = locate(ctx, obj)
    url = ctx.storage.url(obj.bucket, head.key)
    try:
        info = parse(head.metadata, head.key)
    except MetadataError as exc:
        recorded = read_field(head.metadata, "file_sha256") or ""
        return VerifyResult(False, "VERIFY", recorded.lower(), None, str(exc), key=head.key)
    if info.kind is Kind.PLAIN or info.file_sha256 is None:
        raise NotVerifiableError(
            f"{url} has no SHA-256 recorded (stored by another tool, or without metadata), "
            "so it cannot be verified"
        )
    operation = "VERIFY_DELTA" if info.kind is Kind.DELTA else "VERIFY"
    expected = info.file_sha256
    with ctx.scratch() as scratch:
        try:
            stored = scratch / "stored"
            ctx.storage.get_file(obj.bucket, head.key, stored)
            if info.kind is Kind.DELTA:
                actual = sources.rebuild(
                    ctx, obj.bucket, head.key, info, stored=stored, dest=scratch / "file", fresh=not use_cache
                )
            else:
                actual = checked_whole(ctx, url, head.key, info, stored)
        except (IntegrityError, CodecError, MetadataError) as exc:
            return VerifyResult(False, operation, expected, None, str(exc), key=head.key)
        except NotFoundError as exc:
            # The object is there (we just saw it); what is missing is its reference.
            return VerifyResult(False, operation, expected, None, f"cannot rebuild: {exc}", key=head.key)
    if actual != expected:
        details = f"{url}: SHA-256 mismatch: expected {expected}, got {actual}"
        ctx.logger.warning("verification failed", key=head.key, expected=expected, actual=actual)
        return VerifyResult(False, operation, expected, actual, details, key=head.key)
    return VerifyResult(True, operation, expected, actual, None, key=head.key)
