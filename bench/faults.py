"""Fault-injection and crash-safety figures, run by hand (the short versions are in tests/faults/).

    python bench/faults.py --seeds 5 --steps 300 --rate 0.3      # random faults through the proxy
    python bench/faults.py --matrix                               # every fault kind on every flow
    python bench/faults.py --crash-rounds 30                      # SIGKILL rounds, local and moto

Prints, per part: requests made, faults injected by kind, operations and how they ended, files
checked, and what went wrong (lost / corrupt / stale / unreadable / raw errors: all must be 0).
Nothing here reaches beyond 127.0.0.1: moto's server runs locally with fake credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import boto3  # noqa: E402
from support.crash import CrashSite, crash_round, leftovers  # noqa: E402
from support.fault_clients import STALL_S, Endpoint  # noqa: E402
from support.fault_proxy import FAULT_KINDS, FaultPlan, Rule  # noqa: E402
from support.moto_server import fake_aws_env, run_moto_server  # noqa: E402
from support.workload import Report, Workload  # noqa: E402


def random_faults(endpoint: Endpoint, work: Path, seeds: int, steps: int, rate: float) -> dict[str, Any]:
    total = Report()
    started = time.monotonic()
    for seed in range(seeds):
        bucket = endpoint.create_bucket()
        spaces = [f"s3://{bucket}/a/", f"s3://{bucket}/b/"]
        workload = Workload(
            endpoint.client(), endpoint.client(faulty=False), work / f"seed-{seed}", spaces, seed=seed
        )
        endpoint.proxy.set_plan(FaultPlan(seed=seed, rate=rate, stall_s=STALL_S))
        workload.run(steps)
        with endpoint.proxy.paused():
            report = workload.check()
        endpoint.settle_multipart(bucket, report)
        total.merge(report)
        print(f"  seed {seed}: {dict(report.problems) or 'clean'}", file=sys.stderr)
    return {"seconds": round(time.monotonic() - started, 1), **total.as_dict()}


def matrix(endpoint: Endpoint, work: Path) -> dict[str, Any]:
    """Each kind on each scenario of tests/faults/test_s3_faults.py, once and on every retry."""
    from faults.test_s3_faults import SCENARIOS

    total = Report()
    for kind in FAULT_KINDS:
        for repeat in (1, 3):
            bucket = endpoint.create_bucket()
            workload = Workload(
                endpoint.client(), endpoint.client(faulty=False), work / f"{kind}-{repeat}", [], seed=1
            )
            for scenario, (setup, (op, name), where) in SCENARIOS.items():
                space = f"s3://{bucket}/{scenario}/"
                workload.spaces.append(space)
                with endpoint.proxy.paused():
                    for first in setup:
                        workload.upload(space, first)
                plan = FaultPlan(rules=[Rule(kind, count=repeat, **where)], stall_s=STALL_S)
                endpoint.proxy.set_plan(plan)
                if op == "upload":
                    workload.upload(space, name)
                elif op == "download":
                    workload.download(space + name)
                elif op == "download-cold":
                    workload.download(space + name, client=endpoint.client())
                else:
                    workload.delete(space + name)
            with endpoint.proxy.paused():
                report = workload.check()
            endpoint.settle_multipart(bucket, report)
            total.merge(report)
    return total.as_dict()


def crashes(server_url: str, work: Path, rounds: int, seed: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind in ("local", "s3"):
        root = work / f"crash-{kind}"
        root.mkdir(parents=True)
        if kind == "local":
            store = root / "store"
            store.mkdir()
            site = CrashSite(root=root, spaces=[f"file://{store}/a/", f"file://{store}/b/"], store_dir=store)
        else:
            s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=server_url)
            bucket = f"dg-crash-{uuid.uuid4().hex[:12]}"
            s3.create_bucket(Bucket=bucket)
            site = CrashSite(
                root=root,
                spaces=[f"s3://{bucket}/a/", f"s3://{bucket}/b/"],
                endpoint_url=server_url,
                bucket=bucket,
                s3_client=s3,
            )
        rng = random.Random(seed)
        total = Report()
        before: Counter[str] = Counter()
        after: Counter[str] = Counter()
        for _ in range(rounds):
            result = crash_round(site, rng, max_kill_s=2.0, file_size=64 * 1024)
            total.merge(result.report)
            before.update(result.before_cleanup.counts())
            if result.after_cleanup is not None:
                after.update(result.after_cleanup.counts())
        # Scratch folders are nobody's to clean: they pile up over the rounds, so count them at the end.
        final = leftovers(site)
        before.pop("scratch", None)
        after.pop("scratch", None)
        results[kind] = {
            "kills": site.kills,
            "killed_during": dict(site.killed_during),
            "child_ops": dict(site.child_ops),
            "journal_lines": site.journal_lines,
            "leftovers_seen_before_cleanup_summed_over_rounds": dict(before),
            "leftovers_after_cleanup_summed_over_rounds": dict(after),
            "scratch_folders_left_at_end": len(final.scratch),
            "scratch_bytes_left_at_end": final.scratch_bytes,
            **total.as_dict(),
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=0)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--matrix", action="store_true")
    parser.add_argument("--crash-rounds", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.update(fake_aws_env())
    out: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="dg-faults-") as tmp,
        run_moto_server(Path(tmp) / "moto.log") as server,
    ):
        work = Path(tmp)
        with Endpoint.start(server.url) as endpoint:
            if args.seeds:
                out["random"] = random_faults(endpoint, work, args.seeds, args.steps, args.rate)
                out["random"]["proxy"] = endpoint.proxy.stats.as_dict()
        with Endpoint.start(server.url) as endpoint:
            if args.matrix:
                out["matrix"] = matrix(endpoint, work)
                out["matrix"]["proxy"] = endpoint.proxy.stats.as_dict()
        if args.crash_rounds:
            out["crash"] = crashes(server.url, work, args.crash_rounds, args.seed)
    print(json.dumps(out, indent=1))
    problems = sum(sum(part.get("problems", {}).values()) for part in out.values() if "problems" in part)
    problems += sum(sum(v["problems"].values()) for v in out.get("crash", {}).values())
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
