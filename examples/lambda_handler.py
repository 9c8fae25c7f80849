"""An AWS Lambda function that files each new object of an "incoming" bucket into a DeltaGlider store.

Wire it to the incoming bucket's ``s3:ObjectCreated:*`` notifications and set ``DG_DESTINATION`` to a
folder of the store (``s3://releases/app/``). Each object is copied to ``/tmp`` (the only writable path
in Lambda), stored as a delta against the folder's reference, checked, and the copy removed.
Packaging: docs/lambda.md.

The client and the boto3 client are built once per execution environment, on the first event, and
reused by warm invocations; the reference cache (``/tmp/.deltaglider/cache`` by default) survives with
them, so later files of the same folder skip the reference download.
"""

from __future__ import annotations

import functools
import os
import tempfile
import urllib.parse
from pathlib import PurePosixPath
from typing import Any

from deltaglider import DeltaGliderClient, create_client


@functools.cache
def _clients() -> tuple[Any, DeltaGliderClient]:
    # On the first event rather than at import, so that importing this module needs no AWS settings.
    import boto3

    s3 = boto3.client("s3")
    return s3, create_client(s3_client=s3)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    destination = os.environ["DG_DESTINATION"]
    if not destination.endswith("/"):
        destination += "/"
    s3, client = _clients()
    stored = []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        # Keys arrive URL-encoded in S3 notifications (spaces as '+').
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        name = PurePosixPath(key).name
        with tempfile.TemporaryDirectory() as work:
            local = os.path.join(work, name)
            s3.download_file(bucket, key, local)
            summary = client.upload(local, destination)
        stored.append(
            {
                "source": f"s3://{bucket}/{key}",
                "stored_as": f"s3://{summary.bucket}/{summary.key}",
                "operation": summary.operation,
                "original_size": summary.original_size,
                "stored_size": summary.stored_size,
                # Rebuilds the file from the store and checks its SHA-256.
                "verified": client.verify(destination + name),
            }
        )
    return {"stored": stored}
