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
anonymous RSS; the worker also reports its own ``ru_maxrss`` and its RSS right after
``create_client``. Every downloaded file is compared byte for byte with its source; a mismatch stops
the run.

Needs the original in its cached venv (``tests/support/original.py`` installs it on first use) and
the stock ``xdelta3`` on PATH.

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
import re
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
REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)?(GET|PUT|POST|HEAD|DELETE) /')
MB = 1_000_000
MIB = 1 << 20
SAMPLE_S = 0.005
PIP_DOWNLOAD = (sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:")


# ---------------------------------------------------------------------------------------------------
# Worker: runs inside either tool's venv, so it imports only the standard library and `deltaglider`.


def _requests_since(log: Path, offset: int) -> tuple[int, Counter[str]]:
    with log.open("rb") as handle:
        handle.seek(offset)
        new = handle.read()
    # The server colours the request of an error response (a 404 HEAD among them) with ANSI codes.
    methods = Counter(REQUEST.findall(new.decode("utf-8", "replace")))
    return offset + len(new), methods


def _own_memory() -> tuple[int, int]:
    """This process's RSS and anonymous RSS, bytes."""
    found = {}
    with open("/proc/self/status", "rb") as handle:
        for line in handle:
            key, _, value = line.partition(b":")
            if key in (b"VmRSS", b"RssAnon"):
                found[key] = int(value.split()[0]) * 1024
    return found[b"VmRSS"], found[b"RssAnon"]


def worker(args: argparse.Namespace) -> int:
    import deltaglider

    files = [Path(p) for p in args.files]
    started = time.perf_counter()
    client = deltaglider.create_client(endpoint_url=args.endpoint, log_level="WARNING")
    setup_s = time.perf_counter() - started
    idle = _own_memory()
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
        calls.append(
            {"name": path.name, "bytes": path.stat().st_size, "s": seconds, "methods": methods, **extra}
        )
    result = {
        "version": getattr(deltaglider, "__version__", "?"),
        "setup_s": setup_s,
        "calls": calls,
        "maxrss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "idle_rss": idle[0],
        "idle_anon": idle[1],
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
                [*PIP_DOWNLOAD, "-d", str(wheels), f"{FAMILY}=={version}"],
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
        names: dict[int, bytes] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            pid = int(entry.name)
            names[pid] = stat[stat.index(b"(") + 1 : stat.rindex(b")")]
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
            parents.setdefault(ppid, []).append(pid)
        tree, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            # A child still named like the worker has forked but not yet exec'd xdelta3: its pages
            # are the worker's own (shared), and counting them would double the worker.
            if pid == self.root or names.get(pid) != names.get(self.root):
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
    idle_rss: int
    idle_anon: int
    setup_s: float
    version: str

    @property
    def requests(self) -> list[int]:
        return [sum(c["methods"].values()) for c in self.calls]

    def methods(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for call in self.calls:
            total.update(call["methods"])
        return total


def run_phase(tool: str, what: str, cmd: list[str], env: dict[str, str], result: Path) -> Phase:
    started = time.perf_counter()
    process = subprocess.Popen([*cmd, "--result", str(result)], env=env)
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
        idle_rss=raw["idle_rss"],
        idle_anon=raw["idle_anon"],
        setup_s=raw["setup_s"],
        version=raw["version"],
    )


def stored_bytes(s3: Any, bucket: str) -> tuple[int, int]:
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


@dataclass
class Bench:
    """One server, a bucket per tool, the same files; each phase a fresh worker process."""

    files: list[Path]
    url: str
    log: Path
    tmp: Path
    pythons: dict[str, Path]
    env_of: dict[str, Any]
    phases: dict[str, Phase] = field(default_factory=dict)

    def bucket(self, tool: str) -> str:
        return f"{tool}-bench"

    def phase(self, key: str, tool: str, what: str, cache: str, dest: str | None = None) -> None:
        cmd = [str(self.pythons[tool]), str(Path(__file__).resolve()), "--worker", what]
        cmd += ["--endpoint", self.url, "--bucket", self.bucket(tool), "--prefix", "releases"]
        cmd += ["--log", str(self.log)]
        if dest is not None:
            (self.tmp / dest).mkdir()
            cmd += ["--dest", str(self.tmp / dest)]
        (self.tmp / cache).mkdir(exist_ok=True)
        env = self.env_of[tool](self.tmp / cache)
        print(f"-- {key}", file=sys.stderr, flush=True)
        cmd += [str(f) for f in self.files]
        self.phases[key] = run_phase(tool, what, cmd, env, self.tmp / f"{key}.json")
        if dest is not None:
            verify(self.files, self.tmp / dest)
            shutil.rmtree(self.tmp / dest)


def orchestrate(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from support.moto_server import fake_aws_env, run_moto_server  # type: ignore[import-not-found]
    from support.original import install_original  # type: ignore[import-not-found]

    # No real account or endpoint can be reached from here, the server's own client included.
    fake = fake_aws_env()
    os.environ.clear()
    os.environ.update(fake)
    files = fetch(args.files)
    original = install_original(ORIGINAL_VERSION)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "moto.log"
    log.unlink(missing_ok=True)
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load": os.getloadavg(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "xdelta3": subprocess.run(["xdelta3", "-V"], capture_output=True, text=True).stderr.splitlines()[0],
    }
    with tempfile.TemporaryDirectory(prefix="dg-s3bench-") as tmp, run_moto_server(log) as server:
        import boto3

        def ours_env(cache: Path) -> dict[str, str]:
            return {**fake, "AWS_ENDPOINT_URL": server.url, "DG_CACHE_DIR": str(cache), "TMPDIR": str(cache)}

        bench = Bench(
            files=files,
            url=server.url,
            log=log,
            tmp=Path(tmp),
            pythons={"original": original.venv / "bin" / "python", "ours": Path(sys.executable)},
            env_of={"original": lambda cache: original.env(cache, server.url), "ours": ours_env},
        )
        s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")
        for tool in bench.pythons:
            s3.create_bucket(Bucket=bench.bucket(tool))
        # The original's cache lives as long as its process; ours keeps the upload's for the warm run.
        bench.phase("original upload", "original", "upload", "orig-cache-up")
        bench.phase("ours upload", "ours", "upload", "ours-cache")
        stored = {tool: stored_bytes(s3, bench.bucket(tool)) for tool in bench.pythons}
        bench.phase("original download", "original", "download", "orig-cache-down", "d1")
        bench.phase("ours download, cold cache", "ours", "download", "ours-cold", "d2")
        bench.phase("ours download, warm cache", "ours", "download", "ours-cache", "d3")
    phases = bench.phases
    raw = {"machine": machine, "stored": stored, "phases": {k: vars(p) for k, p in phases.items()}}
    (out / "results.json").write_text(json.dumps(raw, indent=1))
    section = report(files, phases, stored, machine)
    (out / "section.md").write_text(section)
    print(section)
    return 0


def _mib(n: int) -> str:
    return f"{n / MIB:,.1f} MiB"


def _rate(calls: list[dict[str, Any]]) -> tuple[float, float]:
    seconds = sum(c["s"] for c in calls)
    return len(calls) / seconds, sum(c["bytes"] for c in calls) / MB / seconds


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def report(
    files: list[Path], phases: dict[str, Phase], stored: dict[str, tuple[int, int]], machine: dict[str, Any]
) -> str:
    total = sum(f.stat().st_size for f in files)
    rows = [
        "| phase | files/s, all | MB/s, all | files/s, 2nd to last | MB/s, 2nd to last | requests per call: "
        "1st; rest median (max) | requests by method, all calls | peak RSS, process tree | peak anon RSS, "
        "tree | idle client RSS | worker ru_maxrss | client setup s |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, p in phases.items():
        files_all, mb_all = _rate(p.calls)
        files_rest, mb_rest = _rate(p.calls[1:])
        rest = p.requests[1:]
        methods = ", ".join(f"{m} {c}" for m, c in sorted(p.methods().items()))
        rows.append(
            f"| {key} | {files_all:.2f} | {mb_all:.1f} | {files_rest:.2f} | {mb_rest:.1f} | "
            f"{p.requests[0]}; {statistics.median(rest):g} ({max(rest)}) | {methods} | "
            f"{_mib(p.peak_rss)} | {_mib(p.peak_anon)} | {_mib(p.idle_rss)} | {_mib(p.maxrss_self)} | "
            f"{p.setup_s:.2f} |"
        )
    orig_up, ours_up = phases["original upload"], phases["ours upload"]
    orig_down = phases["original download"]
    cold, warm = phases["ours download, cold cache"], phases["ours download, warm cache"]

    def speedup(ours: Phase, theirs: Phase, skip_first: bool) -> float:
        first = 1 if skip_first else 0
        return _rate(ours.calls[first:])[0] / _rate(theirs.calls[first:])[0]

    up_all, up_deltas = speedup(ours_up, orig_up, False), speedup(ours_up, orig_up, True)
    warm_x, cold_x = speedup(warm, orig_down, True), speedup(cold, orig_down, True)
    ours_b, orig_b = stored["ours"][0], stored["original"][0]
    mem = {
        what: (ours.peak_rss / theirs.peak_rss, ours.peak_anon / theirs.peak_anon)
        for what, ours, theirs in (("upload", ours_up, orig_up), ("download", warm, orig_down))
    }
    targets = [
        "| target (issue 9) | measured | |",
        "|---|---|---|",
        f"| downloads of small deltas >= 10x the original's speed | warm cache {warm_x:.1f}x, cold cache "
        f"{cold_x:.1f}x (files/s, 2nd to last file) | {_verdict(warm_x >= 10)} |",
        f"| uploads >= 5x the original's speed | {up_all:.1f}x over all files, {up_deltas:.1f}x over the "
        f"deltas (2nd to last) | {_verdict(up_all >= 5)} |",
        f"| bytes stored <= the original's | {ours_b:,} vs {orig_b:,} ({ours_b - orig_b:+,}) | "
        f"{_verdict(ours_b <= orig_b)} |",
    ]
    for what, (rss, anon) in mem.items():
        targets.append(
            f"| peak memory <= 1/4 of the original's ({what}) | RSS of the process tree {rss:.2f}x, "
            f"anonymous {anon:.2f}x of the original's | {_verdict(rss <= 0.25)} |"
        )
    stored_lines = "\n".join(
        f"- {tool}: {b:,} bytes in {c} objects ({b / total:.2%} of the {total:,} uploaded)"
        for tool, (b, c) in stored.items()
    )
    return (
        f"{len(files)} files, {total:,} bytes; {machine['cpus']} CPUs, {machine['platform']}, Python "
        f"{machine['python']}, load average at the start {' '.join(f'{x:.2f}' for x in machine['load'])}; "
        f"run started {machine['started']}; {machine['xdelta3']}\n\n"
        + "\n".join(targets)
        + "\n\n"
        + "\n".join(rows)
        + f"\n\nBytes stored (sum of the bucket's object sizes):\n{stored_lines}\n"
    )


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
