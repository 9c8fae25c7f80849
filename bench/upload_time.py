"""Where one later upload's time goes, ours against the original 6.2.0, file by file (issue 20).

Both tools upload the same consecutive botocore wheels (named ``.zip``, which the original takes for
a delta candidate) into fresh buckets of one moto server on 127.0.0.1, each in its own process and
through its own SDK, alternating tool by tool for ``--rounds`` rounds, and print the seconds of each
``upload`` call. ``--profile`` then profiles ours on the last file of a folder store (cumulative
time, in process).

Usage: ``python bench/upload_time.py --original-python PATH/bin/python [--rounds 3] [--profile]
FILE ...`` (``tests/support/original.py``'s ``install_original("6.2.0")`` makes that venv).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ONE_TOOL = """
import json, sys, time
import deltaglider
endpoint, bucket, files = sys.argv[1], sys.argv[2], sys.argv[3:]
client = deltaglider.create_client(endpoint_url=endpoint, log_level="WARNING")
seconds = []
for f in files:
    t = time.perf_counter()
    client.upload(f, f"s3://{bucket}/p/")
    seconds.append(time.perf_counter() - t)
print(json.dumps(seconds))
"""


def _profile_ours(files: list[Path]) -> None:
    import deltaglider

    with tempfile.TemporaryDirectory() as tmp:
        client = deltaglider.create_client(cache_dir=f"{tmp}/cache")
        for f in files[:-1]:
            client.upload(f, f"file://{tmp}/store/b/")
        profile = cProfile.Profile()
        profile.enable()
        client.upload(files[-1], f"file://{tmp}/store/b/")
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original-python", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))
    import boto3
    from moto_server import fake_aws_env, run_moto_server

    os.environ.update(fake_aws_env())
    tools = {"original": args.original_python, "ours": sys.executable}
    files = [str(f.absolute()) for f in args.files]  # not resolve(): a link's name picks the original's path
    with tempfile.TemporaryDirectory() as tmp, run_moto_server(Path(tmp) / "moto.log") as server:
        s3 = boto3.client("s3", endpoint_url=server.url)
        for run in range(args.rounds):
            for tool, python in tools.items():
                bucket = f"{tool}{run}"
                s3.create_bucket(Bucket=bucket)
                env = dict(os.environ, DG_CACHE_DIR=f"{tmp}/cache-{bucket}")
                out = subprocess.run(
                    [python, "-c", _ONE_TOOL, server.url, bucket, *files],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                    cwd=tmp,
                )
                seconds = json.loads(out.stdout)
                load = os.getloadavg()[0]
                times = " ".join(f"{s:.3f}" for s in seconds)
                print(f"{tool:9} run {run}: {times}  (load {load:.2f})")
    if args.profile:
        _profile_ours(args.files)
    return 0


if __name__ == "__main__":
    started = time.time()
    code = main()
    print(f"wall {time.time() - started:.0f} s")
    sys.exit(code)
