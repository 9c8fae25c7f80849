"""Helpers of the boto3-shaped call tests (tests/boto_api): the store a test runs on, similar payloads,
and the comparison of an answer's shape with boto3's (the same fields, or the same keys all the way
down)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from deltaglider import DeltaGliderClient


@dataclass
class Store:
    """Our client and an empty bucket in its store; ``s3`` is a plain boto3 client on the same
    store (None for a folder store)."""

    kind: str
    client: DeltaGliderClient
    bucket: str
    s3: Any | None


def releases(count: int, *, size: int = 60_000, seed: int = 5) -> list[bytes]:
    """``count`` similar payloads (each a few bytes off the last): the second on is stored as a delta."""
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(size))
    out = []
    for i in range(count):
        data[rng.randrange(size)] = i % 256
        out.append(bytes(data))
    return out


#: Keys boto3 gives that a deltaglider answer leaves out on purpose: S3's checksums of the stored
#: bytes (a delta's are not the file's), the tag count, and the EncodingType botocore asks for itself.
NOT_OURS = frozenset(
    {"ChecksumCRC32", "ChecksumCRC64NVME", "ChecksumType", "ChecksumAlgorithm", "TagCount", "EncodingType"}
)


def assert_fields_like(ours: dict[str, Any], boto: dict[str, Any], where: str = "") -> None:
    """Every key boto3 gives (but :data:`NOT_OURS`) is in our dict, with a value of the same type."""
    for key, value in boto.items():
        if key in NOT_OURS or key == "ResponseMetadata":
            continue
        assert key in ours, f"{where}: boto3 gives {key!r}, we do not ({sorted(ours)})"
        if key == "Body":
            continue
        assert isinstance(ours[key], type(value)), f"{where}{key}: {type(ours[key])} vs boto3's {type(value)}"


def assert_shape_like(ours: dict[str, Any], boto: dict[str, Any], where: str = "") -> None:
    """An answer: boto3's fields (:func:`assert_fields_like`), and boto3's HTTP status."""
    assert_fields_like(ours, boto, where)
    meta = ours["ResponseMetadata"]
    assert isinstance(meta["HTTPStatusCode"], int)
    assert meta["HTTPStatusCode"] == boto["ResponseMetadata"]["HTTPStatusCode"], where


def assert_same_shape(ours: Any, theirs: Any, where: str = "response") -> None:
    """The same keys as boto3's answer, each value of the same type, all the way down (lists compared
    by their first item)."""
    assert type(ours) is type(theirs), (
        f"{where}: {type(ours).__name__} where boto3 has {type(theirs).__name__}"
    )
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), f"{where}: keys {sorted(ours)} where boto3 has {sorted(theirs)}"
        for name in theirs:
            if name != "ResponseMetadata":  # request ids, dates and headers differ by nature
                assert_same_shape(ours[name], theirs[name], f"{where}[{name!r}]")
    elif isinstance(theirs, list) and theirs:
        assert ours, f"{where}: empty where boto3 has items"
        assert_same_shape(ours[0], theirs[0], f"{where}[0]")
