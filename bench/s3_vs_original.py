"""The SDK against the original DeltaGlider 6.2.0 on one moto server: uploads, downloads, S3 requests,
bytes stored and peak memory, per family of releases, same files, same order (issues 9 and 20,
"Benchmark").

Families (``fetch_families.py``, fetched with pip into a cache folder outside the repository when
absent): the 22 botocore wheels 1.35.0 to 1.35.21, the compiled extension of 12 consecutive
pydantic_core wheels, 22 consecutive ``rich`` sdists. Each goes to both tools under a name both take
for a delta candidate (see that module), into a DeltaSpace of its own (``s3://<tool>-bench/<family>/``).

Each run starts one moto server (``tests/support/moto_server.py``) on 127.0.0.1 that serves both tools,
a bucket each, and runs every family through both. Every phase runs in a fresh process of the tool's
own venv (this file, ``--worker``), so imports and memory of one phase do not leak into the next; the
clock runs around the SDK calls only. Ours runs from the checkout this file is in (``PYTHONPATH``),
the original from its own venv (``tests/support/original.py`` installs it on first use, never into
this repo's venv). Requests are counted from the server's request log: the worker reads how far the
log has grown after each call, so each call's requests are its own. Peak memory is the worker's whole
process tree (the original's ``xdelta3`` children included), summed from ``/proc`` every few
milliseconds by this process, RSS and anonymous RSS. Every downloaded file is compared byte for byte
with its source; a mismatch stops the run. Downloads: the original's, ours with an empty cache folder
(cold) and with the one its upload left (warm).

The tables give, per family and phase, the median over the runs and the range. "2nd to last" leaves
out the first file (the first upload founds the DeltaSpace, the first download fetches the reference);
the first file's seconds are shown apart.

Needs the stock ``xdelta3`` on PATH (the original shells out to it).

Usage: ``python bench/s3_vs_original.py [--runs 3] [--families a,b] [--files N] [--before JSON]
[--out DIR]`` from this repo's venv. ``--files`` takes the first N files of each family; ``--before``
names the ``results.json`` of an earlier run, whose bytes stored and speeds are set beside these. It
prints a Markdown section; ``--out`` (default ``bench/_work/s3_vs_original``) keeps each run's server
log, the raw figures (``results.json``) and that section. ``--report JSON`` prints a saved run's
section again and runs nothing.
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
ORIGINAL_VERSION = "6.2.0"
REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)?(GET|PUT|POST|HEAD|DELETE) /')
MB = 1_000_000
MIB = 1 << 20
SAMPLE_S = 0.005


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
            extra = {
                "is_delta": bool(summary.is_delta),
                "stored": int(summary.stored_size),
            }
        else:
            extra = {}
            try:
                client.download(
                    f"s3://{args.bucket}/{args.prefix}/{path.name}",
                    Path(args.dest) / path.name,
                )
            except Exception as exc:  # the original cannot read back all it stored
                extra = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        seconds = time.perf_counter() - t0
        offset, methods = _requests_since(log, offset)
        calls.append(
            {
                "name": path.name,
                "bytes": path.stat().st_size,
                "s": seconds,
                "methods": methods,
                **extra,
            }
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


def stored_bytes(s3: Any, bucket: str, prefix: str) -> tuple[int, int]:
    total = count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
        for obj in page.get("Contents", []):
            total += obj["Size"]
            count += 1
    return total, count


def verify(files: list[Path], dest: Path, phase: Phase) -> None:
    """Every file ours downloads must equal its source. The original cannot read back every file it
    stored (a ``.tar.gz`` among them: its stock xdelta3 decompresses gzip, and the hash no longer
    matches); its failed calls are counted in the tables, and the files it did return must be equal."""
    failed = {c["name"]: c["error"] for c in phase.calls if "error" in c}
    if failed and phase.tool == "ours":
        raise SystemExit(f"ours failed to download: {failed}")
    bad = [f.name for f in files if f.name not in failed and not filecmp.cmp(f, dest / f.name, shallow=False)]
    if bad:
        raise SystemExit(f"{phase.tool}: downloaded files differ: {bad}")


@dataclass
class Bench:
    """One server, a bucket per tool, a DeltaSpace per family; each phase a fresh worker process."""

    url: str
    log: Path
    tmp: Path
    pythons: dict[str, Path]
    env_of: dict[str, Any]

    def bucket(self, tool: str) -> str:
        return f"{tool}-bench"

    def phase(
        self,
        family: str,
        files: list[Path],
        tool: str,
        what: str,
        *,
        cache: str,
        dest: str | None = None,
    ) -> Phase:
        cmd = [str(self.pythons[tool]), str(Path(__file__).resolve()), "--worker", what]
        cmd += [
            "--endpoint",
            self.url,
            "--bucket",
            self.bucket(tool),
            "--prefix",
            family,
        ]
        cmd += ["--log", str(self.log)]
        if dest is not None:
            (self.tmp / dest).mkdir()
            cmd += ["--dest", str(self.tmp / dest)]
        (self.tmp / cache).mkdir(exist_ok=True)
        env = self.env_of[tool](self.tmp / cache)
        print(f"-- {family}: {tool} {what} ({cache})", file=sys.stderr, flush=True)
        cmd += [str(f) for f in files]
        phase = run_phase(tool, what, cmd, env, self.tmp / f"{family}-{tool}-{what}-{cache}.json")
        if dest is not None:
            verify(files, self.tmp / dest, phase)
            shutil.rmtree(self.tmp / dest)
        return phase


#: The phases of one family, in the order they run; keys of the tables.
PHASES = (
    "original upload",
    "ours upload",
    "original download",
    "ours download, cold cache",
    "ours download, warm cache",
)


def run_once(
    families: dict[str, list[Path]], original: Any, fake: dict[str, str], log: Path
) -> tuple[dict[str, dict[str, Phase]], dict[str, dict[str, tuple[int, int]]]]:
    """One run: one moto server, every family through both tools."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.moto_server import run_moto_server  # type: ignore[import-not-found]

    phases: dict[str, dict[str, Phase]] = {}
    stored: dict[str, dict[str, tuple[int, int]]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="dg-s3bench-") as tmp,
        run_moto_server(log) as server,
    ):
        import boto3

        def ours_env(cache: Path) -> dict[str, str]:
            return {
                **fake,
                "PYTHONPATH": str(ROOT),
                "AWS_ENDPOINT_URL": server.url,
                "DG_CACHE_DIR": str(cache),
                "TMPDIR": str(cache),
            }

        bench = Bench(
            url=server.url,
            log=log,
            tmp=Path(tmp),
            pythons={
                "original": original.venv / "bin" / "python",
                "ours": Path(sys.executable),
            },
            env_of={
                "original": lambda cache: original.env(cache, server.url),
                "ours": ours_env,
            },
        )
        s3 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1")
        for tool in bench.pythons:
            s3.create_bucket(Bucket=bench.bucket(tool))
        for family, files in families.items():
            run = phases[family] = {}
            # The original's cache lives as long as its process; ours keeps the upload's for the warm run.
            run["original upload"] = bench.phase(
                family, files, "original", "upload", cache=f"{family}-orig-up"
            )
            run["ours upload"] = bench.phase(family, files, "ours", "upload", cache=f"{family}-ours")
            stored[family] = {tool: stored_bytes(s3, bench.bucket(tool), family) for tool in bench.pythons}
            run["original download"] = bench.phase(
                family,
                files,
                "original",
                "download",
                cache=f"{family}-orig-down",
                dest=f"{family}-d1",
            )
            run["ours download, cold cache"] = bench.phase(
                family,
                files,
                "ours",
                "download",
                cache=f"{family}-ours-cold",
                dest=f"{family}-d2",
            )
            run["ours download, warm cache"] = bench.phase(
                family,
                files,
                "ours",
                "download",
                cache=f"{family}-ours",
                dest=f"{family}-d3",
            )
    return phases, stored


def orchestrate(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "bench"))
    from fetch_families import FAMILIES, family_files  # type: ignore[import-not-found]
    from support.moto_server import fake_aws_env  # type: ignore[import-not-found]
    from support.original import install_original  # type: ignore[import-not-found]

    names = args.families.split(",") if args.families else list(FAMILIES)
    families = {name: family_files(name, args.files) for name in names}
    # No real account or endpoint can be reached from here, the server's own client included.
    fake = fake_aws_env()
    os.environ.clear()
    os.environ.update(fake)
    original = install_original(ORIGINAL_VERSION)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load": os.getloadavg(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "xdelta3": subprocess.run(["xdelta3", "-V"], capture_output=True, text=True)
        .stderr.splitlines()[0]
        .split(",")[0],
        "commit": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip(),
    }
    runs = []
    for n in range(args.runs):
        log = out / f"moto-{n + 1}.log"
        log.unlink(missing_ok=True)
        load = os.getloadavg()
        began = time.perf_counter()
        phases, stored = run_once(families, original, fake, log)
        runs.append(
            {
                "load": load,
                "wall_s": time.perf_counter() - began,
                "stored": stored,
                "phases": {f: {k: vars(p) for k, p in ph.items()} for f, ph in phases.items()},
            }
        )
        print(
            f"-- run {n + 1} of {args.runs}: {runs[-1]['wall_s']:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    sizes = {f: [p.stat().st_size for p in files] for f, files in families.items()}
    raw = {"machine": machine, "sizes": sizes, "runs": runs}
    (out / "results.json").write_text(json.dumps(raw, indent=1))
    before = json.loads(Path(args.before).read_text()) if args.before else None
    section = report(raw, before)
    (out / "section.md").write_text(section)
    print(section)
    return 0


def _mib(n: float) -> str:
    return f"{n / MIB:,.1f}"


def _rate(calls: list[dict[str, Any]]) -> float:
    return len(calls) / sum(c["s"] for c in calls)


def _spread(values: list[float], fmt: str) -> str:
    """Median over the runs, and the range when there are several."""
    mid = format(statistics.median(values), fmt)
    if len(values) == 1:
        return mid
    return f"{mid} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _phase_rows(raw: dict[str, Any], family: str) -> list[str]:
    sizes = raw["sizes"][family]
    rows = [
        "| phase | files/s, 2nd to last | MB/s, 2nd to last | 1st file s | files/s, all | requests per call: "
        "1st; rest median (max) | requests by method, per run | peak RSS, tree MiB | peak anon RSS, tree "
        "MiB | files |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|---|",
    ]
    for key in PHASES:
        per_run = [run["phases"][family][key] for run in raw["runs"]]
        rest = [_rate(p["calls"][1:]) for p in per_run]
        mbs = [sum(sizes[1:]) / MB / sum(c["s"] for c in p["calls"][1:]) for p in per_run]
        first = [p["calls"][0]["s"] for p in per_run]
        every = [_rate(p["calls"]) for p in per_run]
        counts = [[sum(c["methods"].values()) for c in p["calls"]] for p in per_run]
        firsts = sorted({c[0] for c in counts})
        later = [n for c in counts for n in c[1:]]
        methods: Counter[str] = Counter()
        for p in per_run:
            for call in p["calls"]:
                methods.update(call["methods"])
        by_method = ", ".join(f"{m} {c / len(per_run):g}" for m, c in sorted(methods.items()))
        if key.endswith("upload"):
            deltas = "/".join(str(sum(1 for c in p["calls"] if c.get("is_delta"))) for p in per_run)
            deltas += f" of {len(sizes)} stored as deltas"
        else:
            deltas = "/".join(str(sum(1 for c in p["calls"] if "error" not in c)) for p in per_run)
            deltas += f" of {len(sizes)} read back"
        rows.append(
            f"| {key} | {_spread(rest, '.2f')} | {_spread(mbs, '.1f')} | {_spread(first, '.2f')} | "
            f"{_spread(every, '.2f')} | {'/'.join(map(str, firsts))}; {statistics.median(later):g} "
            f"({max(later)}) | {by_method} | {_spread([p['peak_rss'] / MIB for p in per_run], '.1f')} | "
            f"{_spread([p['peak_anon'] / MIB for p in per_run], '.1f')} | {deltas} |"
        )
    return rows


def _ratio(raw: dict[str, Any], family: str, ours: str, theirs: str) -> list[float]:
    out = []
    for run in raw["runs"]:
        phases = run["phases"][family]
        out.append(_rate(phases[ours]["calls"][1:]) / _rate(phases[theirs]["calls"][1:]))
    return out


def report(raw: dict[str, Any], before: dict[str, Any] | None) -> str:
    machine = raw["machine"]
    runs = raw["runs"]
    lines = [
        f"{len(runs)} runs, started {machine['started']}, ours at {machine['commit']}; {machine['cpus']} "
        f"CPUs, {machine['platform']}, Python {machine['python']}, {machine['xdelta3']}; load average at "
        "each run's start: "
        + "; ".join(" ".join(f"{x:.2f}" for x in r["load"]) for r in runs)
        + "; each run's wall time: "
        + ", ".join(f"{r['wall_s']:.0f} s" for r in runs),
        "",
        "Targets (issue 20), ratios of files/s over the 2nd to last file, median of the runs (range):",
        "",
        "| family | uploads, ours / original (>= 5x on wheels and binaries) | downloads warm cache / "
        "original (>= 10x) | downloads cold cache / original | bytes stored, ours vs original | bytes "
        "stored, ours vs before |",
        "|---|---|---|---|---|---|",
    ]
    for family, sizes in raw["sizes"].items():
        up = _ratio(raw, family, "ours upload", "original upload")
        warm = _ratio(raw, family, "ours download, warm cache", "original download")
        cold = _ratio(raw, family, "ours download, cold cache", "original download")
        ours_b = [r["stored"][family]["ours"][0] for r in runs]
        orig_b = runs[-1]["stored"][family]["original"][0]
        same = (
            " (the same each run)"
            if len(set(ours_b)) == 1
            else f" (runs: {', '.join(f'{b:,}' for b in ours_b)})"
        )
        versus_before = "no earlier run given"
        if before is not None and family in before["sizes"]:
            then = before["runs"][-1]["stored"][family]["ours"][0]
            now = ours_b[-1]
            versus_before = f"{now:,} vs {then:,} ({now - then:+,}) {_verdict(now <= then)}"
        up_target = _verdict(min(up) >= 5) if family != "rich-sdists" else "(no target)"
        lines.append(
            f"| {family} ({len(sizes)} files, {sum(sizes):,} bytes) | {_spread(up, '.2f')}x {up_target} | "
            f"{_spread(warm, '.1f')}x {_verdict(min(warm) >= 10)} | {_spread(cold, '.1f')}x | "
            f"{ours_b[-1]:,} vs {orig_b:,} ({ours_b[-1] / sum(sizes):.2%} vs {orig_b / sum(sizes):.2%} of "
            f"the input){same} | {versus_before} |"
        )
    for family, sizes in raw["sizes"].items():
        lines += ["", f"#### {family}: {len(sizes)} files, {sum(sizes):,} bytes", ""]
        lines += _phase_rows(raw, family)
        stored = runs[-1]["stored"][family]
        lines.append("")
        lines.append(
            "Bytes stored: "
            + "; ".join(f"{tool} {b:,} in {c} objects" for tool, (b, c) in stored.items())
            + f" (last run). Bytes uploaded: {sum(sizes):,}."
        )
        if before is not None and family in before["sizes"]:
            then = {k: _rate(before["runs"][-1]["phases"][family][k]["calls"][1:]) for k in PHASES}
            now = {
                k: statistics.median(_rate(r["phases"][family][k]["calls"][1:]) for r in runs) for k in PHASES
            }
            lines.append(
                "Files/s (2nd to last) against the earlier run given: "
                + "; ".join(f"{k} {now[k]:.2f} vs {then[k]:.2f}" for k in PHASES)
                + "."
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--families", help="comma-separated, of fetch_families.FAMILIES; all by default")
    parser.add_argument("--files", type=int, help="the first N files of each family; all by default")
    parser.add_argument("--before", help="results.json of an earlier run, to set beside this one")
    parser.add_argument("--report", help="results.json of a run: print its section again, run nothing")
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
    if args.report:
        before = json.loads(Path(args.before).read_text()) if args.before else None
        print(report(json.loads(Path(args.report).read_text()), before))
        return 0
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
