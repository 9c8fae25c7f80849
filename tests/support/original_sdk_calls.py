"""Run inside an original DeltaGlider's venv: its boto3-shaped client (``put_object``,
``get_object``) against an S3 endpoint, as a user of its SDK calls it.

Usage: python original_sdk_calls.py SPEC.json, where SPEC is ``{"endpoint": url, "bucket": str,
"calls": [...], "result": path}``; each call is ``{"call": "put_object", "key": k, "file": path,
"metadata": {...}}`` or ``{"call": "get_object", "key": k, "out": path}``. The result file gets, per
key, what the call answered (``DeltaGliderInfo`` of a put; ``ContentLength`` and ``Metadata`` of a
get, whose bytes go to ``out``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(spec_path: str) -> int:
    from deltaglider import create_client

    spec = json.loads(Path(spec_path).read_text())
    client = create_client(endpoint_url=spec["endpoint"])
    bucket = spec["bucket"]
    answers: dict[str, Any] = {}
    for call in spec["calls"]:
        key = call["key"]
        if call["call"] == "put_object":
            body = Path(call["file"]).read_bytes()
            answer = client.put_object(Bucket=bucket, Key=key, Body=body, Metadata=call.get("metadata"))
            answers[key] = {"DeltaGliderInfo": answer.get("DeltaGliderInfo")}
        else:
            answer = client.get_object(Bucket=bucket, Key=key)
            Path(call["out"]).write_bytes(answer["Body"].read())
            answers[key] = {"ContentLength": answer["ContentLength"], "Metadata": answer.get("Metadata")}
    Path(spec["result"]).write_text(json.dumps(answers, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
