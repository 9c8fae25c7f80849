"""The SDK against the original DeltaGlider 6.2.0 on one moto server: uploads, downloads, S3 requests,
bytes stored and peak memory, same files, same order, one run each (issue 9, "Benchmark").

Files: 22 consecutive botocore wheels (1.35.0 to 1.35.21, ~12.5 MB each) fetched from PyPI with pip
into ``bench/data/s3bench/`` when absent, and linked there as ``botocore-<version>.zip``: neither tool
takes ``.whl`` for a delta candidate, both take ``.zip``, so both store the same bytes under the same
names.

One moto server (``tests/support/moto_server.py``) on 127.0.0.1 serves both tools, a bucket each.
Every phase runs in a fresh process of the tool's own venv (this file, ``--worker``), so imports and
memory of one phase do not leak into the next; the clock runs around the SDK calls only. Requests are
counted from the server's request log: the worker reads how far the log has grown after each call, so
each call's requests are its own. Peak memory is the worker's whole process tree (the original's
``xdelta3`` children included), summed from ``/proc`` every few milliseconds by this process, RSS and
anonymous RSS; the worker also reports its own and its largest child's ``ru_maxrss``.

Usage: ``python bench/s3_vs_original.py [--files 22] [--out DIR]`` from this repo's venv. It prints a
Markdown section; ``--out`` (default ``bench/_work/s3_vs_original``) keeps the server log, the raw
figures (``results.json``) and that section.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "s3bench"
ORIGINAL_VERSION = "6.2.0"
FAMILY = "botocore"
FIRST_MINOR = "1.35"
METHODS = ("GET", "PUT", "POST", "HEAD", "DELETE")
MB = 1_000_000
MIB = 1 << 20
SAMPLE_S = 0.005


# ---------------------------------------------------------------------------------------------------
# Worker: runs inside either tool's venv, so it imports only the standard library and `deltaglider`.


def _requests_since(log: Path, offset: int) -> tuple[int, Counter[str]]:
    with log.open("rb") as handle:
        handle.seek(offset)
        new = handle.read()
    methods: Counter[str] = Counter()
    for line in new.decode("utf-8", "replace").splitlines():
        for method in METHODS:
            if f'"{method} /' in line:
                methods[method] += 1
                break
    return offset + len(new), methods


def worker(args: argparse.Namespace) -> int:
    import deltaglider

    files = [Path(p) for p in args.files]
    started = time.perf_counter()
    client = deltaglider.create_client(endpoint_url=args.endpoint, log_level="WARNING")
    setup_s = time.perf_counter() - started
    log = Path(args.log)
    offset = log.stat().st_size
    calls: list[dict[str, Any]] = []
    for path in files:
        # The server logs a request before it sends the response, so a finished call is logged.
        t0 = time.perf_counter()
        if args.worker == "upload":
            summary = client.upload(path, f"s3://{args.bucket}/{args.prefix}/")
            extra = {"is_delta": bool(summary.is_delta), "stored": int(summary.stored_size)}
        else:
            client.download(f"s3://{args.bucket}/{args.prefix}/{path.name}", Path(args.dest) / path.name)
            extra = {}
        seconds = time.perf_counter() - t0
        offset, methods = _requests_since(log, offset)
        calls.append({"name": path.name, "bytes": path.stat().st_size, "s": seconds, "methods": methods, **extra})
    result = {
        "version": getattr(deltaglider, "__version__", "?"),
        "setup_s": setup_s,
        "calls": calls,
        "maxrss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "maxrss_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }
    Path(args.result).write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------------------------
# Orchestrator: this repo's venv.


def fetch(count: int) -> list[Path]:
    """``count`` consecutive wheels from PyPI through pip (kept), each linked as a ``.zip``."""
    wheels = DATA / "wheels"
    zips = DATA / "zip"
    wheels.mkdir(parents=True, exist_ok=True)
    zips.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(count):
        version = f"{FIRST_MINOR}.{n}"
        name = f"{FAMILY}-{version}-py3-none-any.whl"
        if not (wheels / name).is_file():
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:"]
                + ["-d", str(wheels), f"{FAMILY}=={version}"],
                check=True,
            )
        link = zips / f"{FAMILY}-{version}.zip"
        if not link.exists():
            os.link(wheels / name, link)
        out.append(link)
    return out


@dataclass
class TreeSampler:
    """Peak of the summed RSS / anonymous RSS of a process and all its descendants."""

    root: int
    peak_rss: int = 0
    peak_anon: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _tree(self) -> list[int]:
        parents: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
        tree, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(parents.get(pid, []))
        return tree

    def _sample(self) -> None:
        rss = anon = 0
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/status", "rb") as handle:
                    for line in handle:
                        if line.startswith(b"VmRSS:"):
                            rss += int(line.split()[1]) * 1024
                        elif line.startswith(b"RssAnon:"):
                            anon += int(line.split()[1]) * 1024
            except OSError:
                continue
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_anon = max(self.peak_anon, anon)
        self.samples += 1

    def run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(SAMPLE_S)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Phase:
    tool: str
    what: str
    calls: list[dict[str, Any]]
    wall_s: float
    peak_rss: int
    peak_anon: int
    samples: int
    maxrss_self: int
    maxrss_children: int
    version: str

    @property
    def seconds(self) -> float:
        return sum(c["s"] for c in self.calls)

    @property
    def requests(self) -> list[int]:
        return [sum(c["methods"].values()) for c in self.calls]

    def methods(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for call in self.calls:
            total.update(call["methods"])
        return total


def run_phase(
    tool: str, what: str, python: Path, env: dict[str, str], files: list[Path], common: list[str], result: Path
) -> Phase:
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", what, *common, "--result", str(result)]
    started = time.perf_counter()
    process = subprocess.Popen([*cmd, *map(str, files)], env=env)
    sampler = TreeSampler(process.pid)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    code = process.wait()
    wall = time.perf_counter() - started
    sampler.stop()
    thread.join()
    if code != 0:
        raise SystemExit(f"{tool} {what} exited {code}")
    raw = json.loads(result.read_text())
    return Phase(
        tool=tool,
        what=what,
        calls=raw["calls"],
        wall_s=wall,
        peak_rss=sampler.peak_rss,
        peak_anon=sampler.peak_anon,
        samples=sampler.samples,
        maxrss_self=raw["maxrss_self_kib"] * 1024,
        maxrss_children=raw["maxrss_children_kib"] * 1024,
        version=raw["version"],
    )


def stored_bytes(endpoint: str, bucket: str) -> tuple[int, int]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    total = count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            total += obj["Size"]
            count += 1
    return total, count


def verify(files: list[Path], dest: Path) -> int:
    bad = [f.name for f in files if not filecmp.cmp(f, dest / f.name, shallow=False)]
    if bad:
        raise SystemExit(f"downloaded files differ: {bad}")
    return len(files)


def orchestrate(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.moto_server import fake_aws_env, run_moto_server
    from support.original import install_original

    files = fetch(args.files)
    original = install_original(ORIGINAL_VERSION)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "moto.log"
    log.unlink(missing_ok=True)
    load = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    phases: dict[str, Phase] = {}
    stored: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="dg-s3bench-") as tmp, run_moto_server(log) as server:
        import boto3

        s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")
        tools = {
            "original": (original.venv / "bin" / "python", "orig-bench"),
            "ours": (Path(sys.executable), "ours-bench"),
        }
        for _, bucket in tools.values():
            s3.create_bucket(Bucket=bucket)

        def env_for(tool: str, cache: Path) -> dict[str, str]:
            cache.mkdir(parents=True, exist_ok=True)
            if tool == "original":
                env = original.env(cache, server.url)
            else:
                env = fake_aws_env()
                env["AWS_ENDPOINT_URL"] = server.url
                env["DG_CACHE_DIR"] = str(cache)
                env["TMPDIR"] = str(cache)
            return env

        def phase(key: str, tool: str, what: str, cache: Path, dest: Path | None = None) -> None:
            python, bucket = tools[tool]
            common = ["--endpoint", server.url, "--bucket", bucket, "--prefix", "releases", "--log", str(log)]
            if dest is not None:
                dest.mkdir(parents=True, exist_ok=True)
                common += ["--dest", str(dest)]
            result = Path(tmp) / f"{key}.json"
            print(f"-- {key}", file=sys.stderr, flush=True)
            phases[key] = run_phase(tool, what, python, env_for(tool, cache), files, common, result)
            if dest is not None:
                verify(files, dest)
                shutil.rmtree(dest)

        # The original keeps its cache per process; ours keeps the upload's cache for the warm run.
        tmpdir = Path(tmp)
        phase("original upload", "original", "upload", tmpdir / "orig-cache-up")
        stored["original"] = stored_bytes(server.url, "orig-bench")
        phase("ours upload", "ours", "upload", tmpdir / "ours-cache")
        stored["ours"] = stored_bytes(server.url, "ours-bench")
        phase("original download", "original", "download", tmpdir / "orig-cache-down", tmpdir / "d1")
        phase("ours download, cold cache", "ours", "download", tmpdir / "ours-cold", tmpdir / "d2")
        phase("ours download, warm cache", "ours", "download", tmpdir / "ours-cache", tmpdir / "d3")

    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load": load,
        "started": started,
        "xdelta3": subprocess.run(["xdelta3", "-V"], capture_output=True, text=True).stderr.splitlines()[0],
    }
    (out / "results.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "stored": stored,
                "phases": {k: {**vars(p), "calls": p.calls} for k, p in phases.items()},
            },
            indent=1,
        )
    )
    section = report(files, phases, stored, machine)
    (out / "section.md").write_text(section)
    print(section)
    return 0


def _mib(n: int) -> str:
    return f"{n / MIB:,.1f} MiB"


def report(
    files: list[Path], phases: dict[str, Phase], stored: dict[str, tuple[int, int]], machine: dict[str, Any]
) -> str:
    total = sum(f.stat().st_size for f in files)
    n = len(files)
    lines = [
        "| phase | files/s | MB/s | s (SDK calls) | requests per call: first, rest (median, max) | requests by method | peak RSS, process tree | peak anon RSS, tree | ru_maxrss: process, largest child |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for key, p in phases.items():
        rest = p.requests[1:]
        methods = ", ".join(f"{m} {c}" for m, c in sorted(p.methods().items()))
        lines.append(
            f"| {key} | {n / p.seconds:.2f} | {total / MB / p.seconds:.1f} | {p.seconds:.2f} | "
            f"{p.requests[0]}, {statistics.median(rest):g} ({max(rest)}) | {methods} | "
            f"{_mib(p.peak_rss)} | {_mib(p.peak_anon)} | {_mib(p.maxrss_self)}, {_mib(p.maxrss_children)} |"
        )
    table = "\n".join(lines)
    stored_lines = "\n".join(
        f"- {tool}: {b:,} bytes in {c} objects ({b / total:.2%} of {total:,})" for tool, (b, c) in stored.items()
    )
    return f"files: {n}, {total:,} bytes; machine: {json.dumps(machine)}\n\n{table}\n\nbytes stored:\n{stored_lines}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=22)
    parser.add_argument("--out", default=str(ROOT / "bench" / "_work" / "s3_vs_original"))
    parser.add_argument("--worker", choices=("upload", "download"))
    parser.add_argument("--endpoint")
    parser.add_argument("--bucket")
    parser.add_argument("--prefix")
    parser.add_argument("--log")
    parser.add_argument("--dest")
    parser.add_argument("--result")
    args, rest = parser.parse_known_args()
    if args.worker:
        args.files = rest
        return worker(args)
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
