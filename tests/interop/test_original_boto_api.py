"""The original DeltaGlider 6.2.0's boto3-shaped client and ours on one bucket of moto's HTTP server:
each reads back, through ``get_object``, what the other wrote through ``put_object``.

Ours reads whatever the original wrote; the original reads what ours writes with
``original_compatible=True`` (otherwise archives may be stored as deltas of their decoded content,
which it cannot read: see test_original_deltaglider.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.boto_shapes import releases
from support.moto_server import MotoServer
from support.original import OriginalDeltaGlider, install_original

from deltaglider import create_client

pytestmark = pytest.mark.interop

_CALLS = Path(__file__).parents[1] / "support" / "original_sdk_calls.py"


def _original_calls(
    original: OriginalDeltaGlider, server: MotoServer, bucket: str, calls: list[dict[str, Any]], work: Path
) -> dict[str, Any]:
    spec = work / "spec.json"
    result = work / "result.json"
    spec.write_text(
        json.dumps({"endpoint": server.url, "bucket": bucket, "calls": calls, "result": str(result)})
    )
    done = subprocess.run(
        [str(original.venv / "bin" / "python"), str(_CALLS), str(spec)],
        env=original.env(work / "original-cache", server.url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"original deltaglider {original.version}'s SDK failed:\n{done.stdout}{done.stderr}")
    answers: dict[str, Any] = json.loads(result.read_text())
    return answers


def _files(folder: Path, prefix: str) -> dict[str, bytes]:
    """Three similar releases (a reference, then deltas) and a text file stored whole."""
    folder.mkdir(parents=True, exist_ok=True)
    payloads = {f"{prefix}/app-1.{i}.zip": data for i, data in enumerate(releases(3, size=200_000))}
    payloads[f"{prefix}/notes.txt"] = b"".join(b"note %d\n" % i for i in range(500))
    for key, data in payloads.items():
        (folder / key.replace("/", "_")).write_bytes(data)
    return payloads


def test_each_reads_what_the_other_put(moto_server: MotoServer, bucket: str, tmp_path: Path) -> None:
    original = install_original("6.2.0")
    work = tmp_path / "work"
    work.mkdir()

    # The original writes; ours reads.
    theirs = _files(tmp_path / "theirs", "from-original")
    put = _original_calls(
        original,
        moto_server,
        bucket,
        [
            {
                "call": "put_object",
                "key": k,
                "file": str(tmp_path / "theirs" / k.replace("/", "_")),
                "metadata": {"team": "a"},
            }
            for k in theirs
        ],
        work,
    )
    assert put["from-original/app-1.1.zip"]["DeltaGliderInfo"]["IsDelta"] is True
    client = create_client(endpoint_url=moto_server.url, cache_dir=str(tmp_path / "our-cache"))
    for key, data in theirs.items():
        got = client.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == data, key
        assert got["ContentLength"] == len(data)
        # The original's put_object drops Metadata; its own dg-* keys are not the user's.
        assert got["Metadata"] == {}
        assert client.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(data)
    listed = client.list_objects(Bucket=bucket, Prefix="from-original/")["Contents"]
    assert {o["Key"]: o["Size"] for o in listed} == {k: len(v) for k, v in theirs.items()}

    # Ours writes, as the original lays files out; the original reads.
    ours = _files(tmp_path / "ours", "from-ours")
    compatible = create_client(
        endpoint_url=moto_server.url, cache_dir=str(tmp_path / "our-cache-2"), original_compatible=True
    )
    answers = {key: compatible.put_object(Bucket=bucket, Key=key, Body=data) for key, data in ours.items()}
    assert answers["from-ours/app-1.2.zip"]["DeltaGliderInfo"]["IsDelta"] is True
    out = tmp_path / "out"
    out.mkdir()
    calls = [{"call": "get_object", "key": k, "out": str(out / k.replace("/", "_"))} for k in ours]
    got = _original_calls(original, moto_server, bucket, calls, work)
    for key, data in ours.items():
        assert (out / key.replace("/", "_")).read_bytes() == data, key
        assert got[key]["ContentLength"] == len(data)
