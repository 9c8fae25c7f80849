"""Archives inside archives (issue 22): consecutive botocore wheels through the SDK, with the code of
one checkout, so that two checkouts (before and after nesting) can be compared on the same files.

Each wheel is uploaded in version order into one DeltaSpace of a ``file://`` store with
``create_client(...)``; then every file is downloaded with a fresh client and an empty cache and
compared with its source by SHA-256. Reports, per file: what was stored (operation, bytes, transform),
upload and download seconds; and in all: the store's bytes. Wheels come from pip's own client
(``pip download --no-deps botocore==1.35.N``) into ``--wheels``.

Usage: ``PYTHONPATH=<checkout> python bench/nested_bench.py --wheels DIR --out results.json``
(``--first``/``--count`` choose 1.35.first .. 1.35.first+count-1). One run of each upload and
download: times are single measurements on a shared machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _wheels(folder: Path, first: int, count: int) -> list[Path]:
    out = []
    for n in range(first, first + count):
        name = f"botocore-1.35.{n}-py3-none-any.whl"
        if not (folder / name).exists():
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder)]
            subprocess.run([*pip, f"botocore==1.35.{n}"], check=True)
        out.append(folder / name)
    return out


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run(files: list[Path], work: Path) -> dict[str, Any]:
    import deltaglider
    from deltaglider import create_client

    store = work / "store"
    store.mkdir()
    endpoint = f"file://{store}"
    prefix = "s3://bench/botocore/"
    client = create_client(endpoint_url=endpoint, cache_dir=str(work / "cache"), log_level="WARNING")
    rows: list[dict[str, Any]] = []
    for path in files:
        start = time.perf_counter()
        s = client.upload(path, prefix)
        rows.append(
            {
                "name": path.name,
                "size": path.stat().st_size,
                "operation": s.operation,
                "stored": s.stored_size,
                "transform": getattr(s, "transform", None),
                "upload_s": round(time.perf_counter() - start, 3),
            }
        )
    stored_total = _folder_bytes(store / "bench" / "botocore")
    reader = create_client(endpoint_url=endpoint, cache_dir=str(work / "cache2"), log_level="WARNING")
    out = work / "out"
    out.mkdir()
    for path, row in zip(files, rows, strict=True):
        dest = out / path.name
        start = time.perf_counter()
        reader.download(prefix + path.name, dest)
        row["download_s"] = round(time.perf_counter() - start, 3)
        row["sha256_ok"] = _sha256(dest) == _sha256(path)
        dest.unlink()
    return {"code": str(Path(deltaglider.__file__).parent), "stored_total": stored_total, "files": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.wheels.mkdir(parents=True, exist_ok=True)
    files = _wheels(args.wheels, args.first, args.count)
    with tempfile.TemporaryDirectory(prefix="dg-nested-bench-") as tmp:
        result = run(files, Path(tmp))
    result["family_bytes"] = sum(p.stat().st_size for p in files)
    args.out.write_text(json.dumps(result, indent=1))
    total = result["stored_total"]
    family = result["family_bytes"]
    print(f"{result['code']}: stored {total:,} of {family:,} ({total / family:.1%})")
    for row in result["files"]:
        print(
            f"  {row['name']}: {row['operation']} {row['stored']:,} {row['transform'] or '-'} "
            f"up {row['upload_s']}s down {row['download_s']}s ok={row['sha256_ok']}"
        )
    return 0 if all(r["sha256_ok"] for r in result["files"]) else 1


if __name__ == "__main__":
    sys.exit(main())
