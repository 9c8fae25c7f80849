"""How many requests an upload sends to S3, counted on the wire (botocore's ``before-send``, once per
HTTP request, retries included) against moto's HTTP server.

A delta upload into a folder whose bases the client already knows sends at most five: a look at its
name before it writes (is its other form there, whose write stamp the new one must pass?), the PUT,
and the looks the removal protocol needs once it is stored (:mod:`deltaglider.core.protocol`): the
markers of its base's removal, then the base (two requests, in that order: a listing of both would
read the base first), then the name's two forms and their markers, in one listing.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.moto_server import MotoServer
from support.s3_backend import REGION
from support.wire import Wire, s3_service

from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.service import DeltaService

SIZE = 300_000


@pytest.fixture
def wired(moto_server: MotoServer) -> Iterator[tuple[Any, Wire, str]]:
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_server.url)
    bucket = f"dg-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    yield client, Wire(client), bucket


def service(client: Any) -> DeltaService:
    return s3_service(client)


def releases(folder: Path, count: int) -> list[Path]:
    """Consecutive releases of a disk image: each a few patches on the one before."""
    rng = random.Random(20)
    blob = bytearray(rng.randbytes(SIZE))
    paths = []
    for n in range(count):
        for _ in range(4 if n else 0):
            at = rng.randrange(SIZE - 32)
            blob[at : at + 32] = rng.randbytes(32)
        path = folder / f"app-1.{n}.iso"
        path.write_bytes(bytes(blob))
        paths.append(path)
    return paths


def test_a_delta_upload_into_a_folder_whose_bases_are_known_sends_at_most_five_requests(
    wired: tuple[Any, Wire, str], tmp_path: Path
) -> None:
    client, wire, bucket = wired
    space = DeltaSpace(bucket, "rel")
    first, second, third, fourth = releases(tmp_path, 4)
    dg = service(client)
    dg.put(first, space)
    # The client learns the folder's bases on its first delta upload there...
    summary, learning = wire.during(lambda: dg.put(second, space))
    assert summary.operation == "PUT_DELTA"
    # ...and the uploads after it ask for them no more.
    for later in (third, fourth):
        summary, sent = wire.during(lambda path=later: dg.put(path, space))
        assert summary.operation == "PUT_DELTA"
        assert len(sent) <= 5, sent
        assert [op for op, _ in sent].count("PutObject") == 1
    assert len(learning) <= 7, learning
    out = tmp_path / "out"
    service(client).get(ObjectKey(bucket, f"rel/{fourth.name}"), out)
    assert out.read_bytes() == fourth.read_bytes()


def test_a_client_that_sees_its_base_replaced_learns_the_folder_again(
    wired: tuple[Any, Wire, str], tmp_path: Path
) -> None:
    """The memo of a folder's bases is a shortcut, not a source of truth: another client's change of
    the reference is found by the re-check after the write, and the next upload lists again."""
    client, wire, bucket = wired
    space = DeltaSpace(bucket, "rel")
    first, second, third, fourth = releases(tmp_path, 4)
    dg = service(client)
    dg.put(first, space)
    dg.put(second, space)
    other = service(boto3.client("s3", region_name=REGION, endpoint_url=client.meta.endpoint_url))
    other.delete(ObjectKey(bucket, f"rel/{first.name}"))
    other.delete(ObjectKey(bucket, f"rel/{second.name}"))
    other.delete(ObjectKey(bucket, "rel/reference.bin"), force=True)
    other.put(fourth, space)  # the folder's reference is now another file
    dg.put(third, space)  # against the reference it remembers, which the re-check finds replaced
    _, sent = wire.during(lambda: dg.put(second, space))
    assert ("HeadObject", "rel/reference.bin") in sent and ("ListObjectsV2", "rel/") in sent
    for path in (second, third, fourth):
        out = tmp_path / f"{path.name}.out"
        service(client).get(ObjectKey(bucket, f"rel/{path.name}"), out)
        assert out.read_bytes() == path.read_bytes()
