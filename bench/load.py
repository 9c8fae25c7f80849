"""Load benchmark, run by hand: M processes x N threads uploading, downloading and deleting in shared
DeltaSpaces on moto's S3 server (started here, on 127.0.0.1) for a bounded time; prints throughput
and what the final read-back found (lost / corrupt must be 0).

    python bench/load.py --processes 3 --threads 4 --seconds 60 [--runs 3] [--no-pin] [--json]

``--no-pin`` lets deletes remove a DeltaSpace's last delta and with it the reference, racing the
uploads that encode against it (issue 8, finding 1). The logic lives in ``tests/support/load.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import uuid
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import boto3  # noqa: E402
from support.fault_proxy import FaultPlan, FaultProxy  # noqa: E402
from support.load import LoadConfig, pin_references, run_load  # noqa: E402
from support.moto_server import fake_aws_env, run_moto_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--spaces", type=int, default=2)
    parser.add_argument("--file-size", type=int, default=64 * 1024)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-pin", action="store_true", help="let references go with their last delta")
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="route the workers through the fault proxy (0..1)"
    )
    parser.add_argument(
        "--shared-names", action="store_true", help="every thread writes the same names (no deletes)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.update(fake_aws_env())
    failures = 0
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="dg-load-"))
        server = stack.enter_context(run_moto_server(Path(tmp) / "moto.log"))
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=server.url)
        proxy = None
        if args.fault_rate > 0:
            proxy = stack.enter_context(FaultProxy(server.url, FaultPlan(seed=1, rate=args.fault_rate)))
        for run in range(args.runs):
            bucket = f"dg-load-{uuid.uuid4().hex[:12]}"
            s3.create_bucket(Bucket=bucket)
            config = LoadConfig(
                endpoint_url=proxy.url if proxy else server.url,
                check_endpoint_url=server.url,
                faulty=proxy is not None,
                spaces=[f"s3://{bucket}/s{i}/" for i in range(args.spaces)],
                workdir=str(Path(tmp) / f"work-{run}"),
                cache_dir=str(Path(tmp) / "cache"),
                processes=args.processes,
                threads=args.threads,
                seconds=args.seconds,
                file_size=args.file_size,
                seed=run,
                shared_names=args.shared_names,
            )
            pinned = None if args.no_pin else pin_references(config)
            result = run_load(config, pinned=pinned)
            summary = result.as_dict() | {
                "run": run,
                "processes": args.processes,
                "threads": args.threads,
                "pinned": not args.no_pin,
                "shared_names": args.shared_names,
                "proxy": proxy.stats.as_dict() if proxy else None,
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            }
            lost = len(result.worker.problems) + sum(result.check.problems.values())
            failures += lost > 0
            if args.json:
                print(json.dumps(summary))
            else:
                print(
                    f"run {run}: {summary['seconds']} s, ops {summary['ops']}, errors {summary['errors']}, "
                    f"{summary['files_per_s']} files/s, checked {summary['files_checked']}, "
                    f"problems during run {summary['run_problem_count']}, "
                    f"after {summary['check_problems']}" + (f", proxy {summary['proxy']}" if proxy else "")
                )
                for line in summary["run_problems"] + summary["violations"]:
                    print(f"    {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
