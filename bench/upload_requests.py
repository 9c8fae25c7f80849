"""Requests per kind of upload on moto's HTTP server, counted on the wire (botocore's ``before-send``,
once per HTTP request), for bench/RESULTS.md. Run by hand against any checkout:
``PYTHONPATH=<checkout> python bench/upload_requests.py``; the counts do not vary between runs.
"""

from __future__ import annotations

import bz2
import os
import random
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import boto3
from support.moto_server import run_moto_server, use_fake_aws_env
from support.wire import Wire, s3_service

import deltaglider
from deltaglider.core.models import DeltaSpace
from deltaglider.core.service import DeltaService

SIZE = 2_000_000
LOGGER = "deltaglider.bench.requests"


def main() -> None:
    use_fake_aws_env(os.environ.__setitem__, lambda name: os.environ.pop(name, None))
    print(f"deltaglider from {Path(deltaglider.__file__).parent}")
    with tempfile.TemporaryDirectory() as scratch, run_moto_server(Path(scratch) / "log") as server:
        folder = Path(scratch)
        client = boto3.client("s3", region_name="us-east-1", endpoint_url=server.url)
        bucket = f"dg-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=bucket)
        wire = Wire(client)
        space = DeltaSpace(bucket, "rel")
        rng = random.Random(3)
        blob = bytearray(rng.randbytes(SIZE))

        def release(n: int) -> Path:
            for _ in range(8):
                at = rng.randrange(SIZE - 64)
                blob[at : at + 64] = rng.randbytes(64)
            path = folder / f"app-1.{n}.iso"
            path.write_bytes(bytes(blob))
            return path

        ours = s3_service(client, LOGGER)

        def count(label: str, path: Path, uploader: DeltaService = ours) -> None:
            before = len(wire.sent)
            summary = uploader.put(path, space)
            sent = wire.sent[before:]
            shown = " ".join(f"{op.replace('Object', '')}:{key.rsplit('/', 1)[-1]}" for op, key in sent)
            print(f"| {label} | {summary.operation} | {len(sent)} | {shown} |")

        steps: list[tuple[str, Callable[[], Path], DeltaService]] = [
            ("first upload of a folder", lambda: release(0), ours),
            ("later delta, a new client", lambda: release(1), s3_service(client, LOGGER)),
            ("later delta, bases not yet known to the client", lambda: release(2), ours),
            ("later delta, bases known", lambda: release(3), ours),
        ]
        print("| upload | stored as | requests | which |\n|---|---|---:|---|")
        for label, make, uploader in steps:
            count(label, make(), uploader)
        whole = folder / "data.bz2"
        whole.write_bytes(bz2.compress(rng.randbytes(50_000)))
        count("a file stored whole (bzip2 content)", whole)
        other = folder / "other-1.iso"
        other.write_bytes(random.Random(9).randbytes(SIZE))
        count("a new base (an unrelated file stored whole)", other)


if __name__ == "__main__":
    main()
