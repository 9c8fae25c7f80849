"""``deltaglider serve``: GET throughput of files rebuilt from deltas, cold and warm, against the same
files stored whole behind the same server, and the latency the server adds per request.

python bench/serve_bench.py [--size-mb 32] [--versions 4] [--runs 3]

One folder store, two folders: ``delta/`` holds a family of ``--versions`` files of ``--size-mb`` MiB
(each a few edits from the previous), stored as deltas; ``whole/`` the same files stored whole
(``max_ratio=0``). A server (uvicorn in a thread, as ``deltaglider serve`` runs it) serves both; the
client reads over HTTP with presigned URLs (no signing cost in the client's loop).

- cold: a fresh server for each run (no rebuilt file kept, the SDK's reference cache emptied), each
  file read once: the first reader pays the rebuild (for ``whole/``, the copy out of the store);
- warm: the same files read again from the server's rebuilt-file cache.
- latency: HEAD of one file and a GET of a 1 KiB file, through the server, against the SDK's own
  ``head`` and ``download`` of the same files in-process, medians of 200.
"""

from __future__ import annotations

import argparse
import http.client
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

import deltaglider
from deltaglider.client import DeltaGliderClient
from deltaglider.serve.app import build_app
from deltaglider.serve.settings import ServeSettings

BUCKET = "bench"
KEY, SECRET = "bench-key", "bench-secret"
MIB = 1024 * 1024


def family(size: int, versions: int, seed: int = 5) -> list[bytes]:
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(size))
    out = [bytes(data)]
    for _ in range(versions - 1):
        for _ in range(20):
            at = rng.randrange(size - 4096)
            data[at : at + 4096] = rng.randbytes(4096)
        out.append(bytes(data))
    return out


@contextmanager
def server(root: Path, cache_dir: Path) -> Iterator[tuple[str, DeltaGliderClient]]:
    client = deltaglider.create_client(endpoint_url=f"file://{root}", cache_dir=str(cache_dir))
    app = build_app(client, ServeSettings(access_key=KEY, secret_key=SECRET))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    running = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not running.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", client
    finally:
        running.should_exit = True
        thread.join()
        sock.close()


def presigned(url: str, key: str, operation: str = "get_object") -> str:
    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    return str(s3.generate_presigned_url(operation, Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600))


def fetch(url: str, method: str = "GET") -> int:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc)
    connection.request(method, f"{parts.path}?{parts.query}")
    answer = connection.getresponse()
    total = 0
    while chunk := answer.read(1 << 20):
        total += len(chunk)
    connection.close()
    assert answer.status == 200, answer.status
    return total


def read_all(url: str, keys: list[str]) -> float:
    """MB/s reading every key once."""
    started = time.perf_counter()
    total = sum(fetch(presigned(url, key)) for key in keys)
    return total / MIB / (time.perf_counter() - started)


def latency(root: Path, work: Path, name: str) -> None:
    """Medians of 200: a HEAD and a warm GET of a 1 KiB file through the server, and the SDK's own."""
    with server(root, work / "cache-latency") as (url, client):
        small = presigned(url, "whole/small.txt")
        head = presigned(url, f"delta/{name}", "head_object")
        fetch(small)

        def timed(action: Callable[[], object], count: int = 200) -> float:
            samples = []
            for _ in range(count):
                started = time.perf_counter()
                action()
                samples.append(time.perf_counter() - started)
            return statistics.median(samples) * 1000

        http_head = timed(lambda: fetch(head, "HEAD"))
        http_get = timed(lambda: fetch(small))
        sdk_head = timed(lambda: client.head(f"s3://{BUCKET}/delta/{name}"))
        target = work / "small-back.txt"
        sdk_get = timed(lambda: client.download(f"s3://{BUCKET}/whole/small.txt", target))
    print("latency, median of 200 (ms): server HTTP vs the SDK in-process")
    print(f"  HEAD of a delta-stored file   {http_head:7.2f} vs {sdk_head:7.2f}")
    print(f"  GET of a 1 KiB file (warm)    {http_get:7.2f} vs {sdk_get:7.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=32)
    parser.add_argument("--versions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    try:
        root = work / "store"
        (root / BUCKET).mkdir(parents=True)
        files = family(args.size_mb * MIB, args.versions)
        delta_client = deltaglider.create_client(endpoint_url=f"file://{root}")
        whole_client = deltaglider.create_client(endpoint_url=f"file://{root}", max_ratio=0.0)
        for number, data in enumerate(files, 1):
            source = work / f"app-{number}.iso"
            source.write_bytes(data)
            delta_client.upload(source, f"s3://{BUCKET}/delta/")
            whole_client.upload(source, f"s3://{BUCKET}/whole/")
        (work / "small.txt").write_bytes(b"s" * 1024)
        whole_client.upload(work / "small.txt", f"s3://{BUCKET}/whole/")
        stored = {p.name for p in (root / BUCKET / "delta").iterdir() if p.is_file()}
        print(f"delta/ holds {sorted(stored)}", file=sys.stderr)
        names = [f"app-{n}.iso" for n in range(1, args.versions + 1)]
        rows: dict[str, list[float]] = {}
        for run in range(args.runs):
            for folder in ("delta", "whole"):
                cache = work / f"cache-{run}-{folder}"
                with server(root, cache) as (url, _):
                    keys = [f"{folder}/{name}" for name in names]
                    rows.setdefault(f"{folder} cold", []).append(read_all(url, keys))
                    rows.setdefault(f"{folder} warm", []).append(read_all(url, keys))
                shutil.rmtree(cache, ignore_errors=True)
        print(f"GET throughput, {args.versions} files of {args.size_mb} MiB, {args.runs} runs")
        print("  (MB/s: best, median)")
        for name, values in rows.items():
            print(f"  {name:11s} {max(values):8.1f} {statistics.median(values):8.1f}")
        latency(root, work, names[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
