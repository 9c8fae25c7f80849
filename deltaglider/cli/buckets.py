"""The BUCKET argument of the bucket commands: ``name``, ``s3://name`` or ``s3://name/``, as the
original DeltaGlider takes it; a key or prefix after the name is refused (these act on the bucket)."""

from __future__ import annotations

import click


def bucket_argument(text: str) -> str:
    name = text[5:] if text.lower().startswith("s3://") else text
    name = name.removesuffix("/")
    if not name or "/" in name:
        raise click.UsageError(f"{text!r} is not a bucket: give its name, or s3://name")
    return name
