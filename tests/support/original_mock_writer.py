"""Run inside an original DeltaGlider's venv (with moto installed there): its ``deltaglider cp`` writes
files into moto's in-process S3, then every object is exported to a folder for our tests to load.

Why not moto's HTTP server: releases before 6.2 write user metadata with underscores
(``file_sha256``), and the WSGI server under moto drops request headers whose names contain ``_``, so
those objects would arrive without their metadata. In-process, moto keeps the names as sent.

Usage: python original_mock_writer.py SPEC.json, where SPEC is
``{"bucket": str, "uploads": [[local_path, s3_url], ...], "export": folder}``. The export folder gets
``objects.json`` (key -> metadata, body file name) and one body file per object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(spec_path: str) -> int:
    import boto3
    from deltaglider.app.cli.main import cli
    from moto import mock_aws

    spec = json.loads(Path(spec_path).read_text())
    export = Path(spec["export"])
    export.mkdir(parents=True, exist_ok=True)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=spec["bucket"])
        for src, dest in spec["uploads"]:
            try:
                cli.main(["cp", src, dest], prog_name="deltaglider", standalone_mode=False)
            except SystemExit as exc:  # its commands exit on failure even when not standalone
                if exc.code:
                    print(f"deltaglider cp {src} {dest} exited {exc.code}", file=sys.stderr)
                    return 1
        objects = {}
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=spec["bucket"]):
            for index, entry in enumerate(page.get("Contents", []), start=len(objects)):
                response = s3.get_object(Bucket=spec["bucket"], Key=entry["Key"])
                body_name = f"object-{index}"
                (export / body_name).write_bytes(response["Body"].read())
                objects[entry["Key"]] = {"metadata": response["Metadata"], "body": body_name}
    (export / "objects.json").write_text(json.dumps(objects, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
