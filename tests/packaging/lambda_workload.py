"""What test_lambda_like.py runs inside its sandbox (HOME unset, only /tmp writable), as a Lambda would.

Reads a job (JSON) on stdin and prints a report (JSON) as its last line of output: whether the paths it
was given are read-only, then upload / download / verify on a folder store under /tmp (with the peak of
anonymous memory), then the example Lambda handler on moto's in-process S3, all with the default
reference cache. Failures are reported, not raised, so the test can say which step broke.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import random
import sys
import tempfile
import threading
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

_MIB = 1024 * 1024
_NAMES = ("app-1.0.zip", "app-1.1.zip")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def _write_probe(folder: str) -> str:
    """``writable`` if a file can be created in ``folder``, else the errno name (EROFS is the aim)."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".dg-probe-")
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc))
    os.close(fd)
    os.unlink(name)
    return "writable"


def _write_files(size: int) -> tuple[str, str]:
    """A release and its successor in /tmp/in, written in blocks (the big variant must not hold them in
    memory): a few edits, so the second is stored as a delta. Returns their SHA-256."""
    Path("/tmp/in").mkdir()
    rng = random.Random(11)
    hashes = [hashlib.sha256(), hashlib.sha256()]
    with open("/tmp/in/app-1.0.zip", "wb") as old, open("/tmp/in/app-1.1.zip", "wb") as new:
        for block in range(-(-size // _MIB)):
            data = rng.randbytes(min(_MIB, size - block * _MIB))
            edited = rng.randbytes(500) + data[500:] if block % 5 == 2 else data
            for out, digest, body in ((old, hashes[0], data), (new, hashes[1], edited)):
                out.write(body)
                digest.update(body)
    return hashes[0].hexdigest(), hashes[1].hexdigest()


class _AnonPeak:
    """Peak anonymous memory (heap, not mapped files or /tmp pages) while the block runs, sampled."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _rss_anon_kib() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
        return 0

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak_kib = max(self.peak_kib, self._rss_anon_kib())

    def __enter__(self) -> _AnonPeak:
        self.peak_kib = self._rss_anon_kib()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def _sha(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_MIB):
            digest.update(block)
    return digest.hexdigest()


def _step(report: dict[str, Any], name: str, run: Callable[[], Any]) -> None:
    try:
        report[name] = run()
    except Exception:
        report[name] = {"error": traceback.format_exc()}


def _folder_store(new_sha: str) -> dict[str, Any]:
    from deltaglider import create_client

    client = create_client()
    with _AnonPeak() as memory:
        ops = [client.upload(f"/tmp/in/{n}", "file:///tmp/store/app/").operation for n in _NAMES]
        client.download("file:///tmp/store/app/app-1.1.zip", "/tmp/out/app-1.1.zip")
        verified = client.verify("file:///tmp/store/app/app-1.1.zip")
    return {
        "operations": ops,
        "round_trip": _sha("/tmp/out/app-1.1.zip") == new_sha,
        "verified": verified,
        "anon_peak_mib": memory.peak_kib / 1024,
    }


def _s3_through_handler(new_sha: str, handler_source: str) -> dict[str, Any]:
    from moto import mock_aws

    with mock_aws():
        import boto3

        s3 = boto3.client("s3")
        for bucket in ("incoming", "releases"):
            s3.create_bucket(Bucket=bucket)
        handler = types.ModuleType("lambda_handler")
        exec(compile(handler_source, "lambda_handler.py", "exec"), handler.__dict__)
        os.environ["DG_DESTINATION"] = "s3://releases/app/"
        results = []
        for name in _NAMES:
            key = f"uploads/{name}"
            s3.upload_file(f"/tmp/in/{name}", "incoming", key)
            event = {"Records": [{"s3": {"bucket": {"name": "incoming"}, "object": {"key": key}}}]}
            results.extend(handler.handler(event, None)["stored"])

        from deltaglider import create_client

        create_client(s3_client=s3).download("s3://releases/app/app-1.1.zip", "/tmp/out/s3-app-1.1.zip")
        return {
            "operations": [r["operation"] for r in results],
            "verified": [r["verified"] for r in results],
            "round_trip": _sha("/tmp/out/s3-app-1.1.zip") == new_sha,
        }


def main() -> None:
    job = json.load(sys.stdin)
    collect = _Collect()
    logging.getLogger().addHandler(collect)
    report: dict[str, Any] = {
        "home": os.environ.get("HOME"),
        "tempdir": tempfile.gettempdir(),
        "probes": {folder: _write_probe(folder) for folder in job["read_only"]},
    }
    _, new_sha = _write_files(job["size_mib"] * _MIB)
    _step(report, "folder_store", lambda: _folder_store(new_sha))
    if job["handler_source"] is not None:
        _step(report, "s3", lambda: _s3_through_handler(new_sha, job["handler_source"]))
    cache = Path("/tmp/.deltaglider/cache")
    entries = cache.rglob("*") if cache.is_dir() else iter(())
    report["cache_entries"] = sorted(p.name for p in entries if p.is_file())
    report["warnings"] = collect.messages
    print(json.dumps(report))


if __name__ == "__main__":
    main()
