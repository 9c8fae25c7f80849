"""Bounded work: 200 readers of one delta-stored file at once cause one rebuild, each reading every
byte; and a 10,000-key listing comes in pages of at most 1,000, every key once, in order."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import deltaglider
from deltaglider.serve.store import Rebuilt, Store

from .conftest import BUCKET, Served, start_server
from .test_s3_boto3 import family


class CountingStore(Store):
    """Counts the rebuilds the server asks for, each held a while so that readers pile up."""

    def __init__(self, root: Path, hold: float) -> None:
        super().__init__(deltaglider.create_client(endpoint_url=f"file://{root}"))
        self.rebuilt = 0
        self.hold = hold
        self._lock = threading.Lock()

    def rebuild(self, bucket: str, key: str, path: Path) -> Rebuilt:
        with self._lock:
            self.rebuilt += 1
        time.sleep(self.hold)
        return super().rebuild(bucket, key, path)


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[tuple[Served, CountingStore, list[bytes]]]:
    (tmp_path / BUCKET).mkdir()
    store = CountingStore(tmp_path, hold=1.0)
    files = family(7, 300_000, 2)
    for number, data in enumerate(files, 1):
        source = tmp_path / f"app-{number}.iso"
        source.write_bytes(data)
        store.client.upload(source, f"s3://{BUCKET}/hot/")
    assert (tmp_path / BUCKET / "hot" / "app-2.iso.delta").exists()
    with start_server(tmp_path, store=store, cache_bytes=0, max_rebuilds=2) as running:
        yield running, store, files


def test_concurrent_readers_share_one_rebuild(counted: tuple[Served, CountingStore, list[bytes]]) -> None:
    served, store, files = counted
    url = served.boto3().generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "hot/app-2.iso"}, ExpiresIn=300
    )
    readers = 200
    start = threading.Barrier(readers)

    def read(_: int) -> bytes:
        start.wait()
        with urllib.request.urlopen(url, timeout=120) as answer:
            return bytes(answer.read())

    with ThreadPoolExecutor(readers) as pool:
        bodies = list(pool.map(read, range(readers)))
    assert all(body == files[1] for body in bodies)
    assert store.rebuilt == 1
    stats = served.app.state.s3.rebuilds.stats
    assert stats.rebuilds == 1 and stats.shared + stats.cache_hits == readers - 1
    # No reader holds it any more and the cache keeps nothing: the rebuilt file is gone.
    assert not any((served.app.state.s3.scratch / "rebuilds").iterdir())


def test_a_finished_file_is_kept_for_later_readers(tmp_path: Path) -> None:
    (tmp_path / BUCKET).mkdir()
    store = CountingStore(tmp_path, hold=0.0)
    files = family(8, 200_000, 2)
    for number, data in enumerate(files, 1):
        (tmp_path / f"f-{number}.iso").write_bytes(data)
        store.client.upload(tmp_path / f"f-{number}.iso", f"s3://{BUCKET}/warm/")
    with start_server(tmp_path, store=store) as served:
        client = served.boto3()
        for _ in range(3):
            assert client.get_object(Bucket=BUCKET, Key="warm/f-2.iso")["Body"].read() == files[1]
        assert store.rebuilt == 1
        client.put_object(Bucket=BUCKET, Key="warm/f-2.iso", Body=files[0][:-5] + b"again")
        assert client.get_object(Bucket=BUCKET, Key="warm/f-2.iso")["Body"].read() == files[0][:-5] + b"again"
        assert store.rebuilt == 2  # a new version is a new rebuild


@pytest.mark.slow
def test_ten_thousand_keys_page_within_limits(tmp_path: Path) -> None:
    folder = tmp_path / BUCKET / "many"
    folder.mkdir(parents=True)
    names = [f"many/k{n:05d}.txt" for n in range(10_000)]
    for name in names:
        (tmp_path / BUCKET / name).write_bytes(name.encode())
    with start_server(tmp_path) as served:
        client = served.boto3()
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix="many/", PaginationConfig={"PageSize": 5000}
        )
        seen: list[str] = []
        for page in pages:
            assert page["KeyCount"] <= 1000 and page["MaxKeys"] == 1000
            seen += [entry["Key"] for entry in page["Contents"]]
        assert seen == names
