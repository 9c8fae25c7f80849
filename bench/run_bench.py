"""Benchmarks deltaglider's codec against the stock xdelta3 binary on the pairs in bench/data/.

Run ``python bench/fetch_data.py`` first. Every measured operation runs in its own process:

* ours: a child Python process calls ``deltaglider.codec`` once and reports the call's wall and CPU
  time and its peak anonymous memory (``RssAnon`` sampled every 2 ms by a thread, less what the
  interpreter held before the call; the memory-mapped reference is page cache, not anonymous);
* the binary: ``xdelta3 -e -9 -s`` / ``xdelta3 -d -s`` with the same settings, timed from spawn to
  exit (CPU from its rusage), its ``RssAnon`` sampled every 2 ms from this process.

Each figure is the best (minimum time, and the peak memory of that run) of ``--runs`` runs (one run
for the binary on the pairs where it cannot find the moved content and takes minutes); inputs
are read once before timing so that the page cache is warm for both. Output files are removed before
each run, outside the timing. Throughput is target bytes (encode) or output bytes (decode) per
second, in MB (10^6 bytes).

Usage: ``python bench/run_bench.py [--runs N] [--sections ...] [--out bench/RESULTS.md]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
WORK = HERE / "_work"
MIB = 1 << 20

PAIRS = {
    "botocore-whl": "botocore 1.35.0 -> 1.35.1 wheel",
    "numpy-whl": "numpy 2.1.0 -> 2.1.1 cp311 manylinux wheel",
    "botocore-tar": "botocore 1.35.0 -> 1.35.1 sdist, uncompressed tar",
    "moved": "160 MiB, halves swapped (moved 80 MiB)",
    "big": "1 GiB, 1,000 edits and 16 MiB moved 512 MiB",
}
SLOW_FOR_BINARY = {"moved", "big"}
SECTIONS = ["main", "small", "window", "step", "preset", "usize", "big"]

# ------------------------------------------------------------------------------------------------
# The child: one codec call, timed and measured from inside.

_CHILD = textwrap.dedent(
    """
    import json, os, sys, threading, time
    from deltaglider import codec
    from deltaglider._native import load

    def anon():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        return 0

    job = json.loads(sys.argv[1])
    ffi, lib = load()
    sec = {None: lib.DG_SECONDARY_NONE, "lzma": lib.DG_SECONDARY_LZMA, "auto": lib.DG_SECONDARY_AUTO}

    def native_encode(src, tgt, out, knobs):
        # codec.encode_file with the tuning fields the public API does not expose.
        params = ffi.new("dg_encode_params *")
        params.level = job.get("level", 9)
        params.secondary = sec[job.get("secondary")]
        params.memory_budget = job.get("memory_budget", 0)
        for key, value in knobs.items():
            setattr(params, key, value)
        plan = ffi.new("dg_encode_plan *")
        written = ffi.new("uint64_t *")
        status = ffi.new("dg_status *")
        fds = [os.open(src, os.O_RDONLY), os.open(tgt, os.O_RDONLY)]
        ofd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            rc = lib.dg_plan_file(fds[0], fds[1], params, plan, status)
            if rc == 0:
                rc = lib.dg_encode_file(fds[0], fds[1], ofd, plan, written, status)
        finally:
            for fd in (*fds, ofd):
                os.close(fd)
        if rc:
            raise SystemExit(ffi.string(status.msg).decode())

    def run():
        op = job["op"]
        if op == "encode":
            if job.get("knobs"):
                native_encode(job["src"], job["tgt"], job["out"], job["knobs"])
            else:
                codec.encode_file(job["src"], job["tgt"], job["out"], level=job.get("level", 9),
                                  secondary=job.get("secondary"),
                                  memory_budget=job.get("memory_budget", codec.DEFAULT_MEMORY_BUDGET))
        elif op == "decode":
            codec.decode_file(job["src"], job["delta"], job["out"])
        elif op == "small":
            src, tgt = open(job["src"], "rb").read(), open(job["tgt"], "rb").read()
            n = job["iterations"]
            t0 = time.perf_counter()
            for _ in range(n):
                d = codec.encode(src, tgt, secondary=job.get("secondary"))
                assert codec.decode(src, d) == tgt
            t1 = time.perf_counter()
            files = 0.0
            for _ in range(n):
                # New files each time, as the binary's runs get (removing them is not timed).
                for path in (job["out"], job["out"] + ".out"):
                    if os.path.exists(path):
                        os.unlink(path)
                t2 = time.perf_counter()
                codec.encode_file(job["src"], job["tgt"], job["out"], secondary=job.get("secondary"))
                codec.decode_file(job["src"], job["out"], job["out"] + ".out")
                files += time.perf_counter() - t2
            return {"memory_s": (t1 - t0) / n, "files_s": files / n}
        return {}

    codec.plan_encode(1, 1)  # the extension is loaded before the baseline
    base = anon()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], anon())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0, c0 = time.perf_counter(), time.thread_time()
    extra = run()
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    done.set()
    sampler.join()
    peak[0] = max(peak[0], anon())
    extra["module"] = codec.__file__
    extra["usize_bytes"] = codec.plan_encode(1, 1).usize_bytes
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_anon": peak[0] - base, **extra}))
    """
)


@dataclass
class Sample:
    wall: float
    cpu: float  # user + system seconds of the work (ours: the calling thread; binary: the process)
    peak_anon: int
    extra: dict[str, Any]


def _ours(job: dict[str, Any], env: dict[str, str]) -> Sample:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(job)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=WORK,  # not the checkout: its deltaglider/ would shadow --ours-path
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed on {job}: {done.stderr}")
    out = json.loads(done.stdout)
    return Sample(out.pop("wall"), out.pop("cpu"), out.pop("peak_anon"), out)


def _rss_anon(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _binary(args: list[str]) -> Sample:
    peak = [0]
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _rss_anon(proc.pid))
                time.sleep(0.002)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(args)} failed: {err.read().decode(errors='replace')}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, peak[0], {})


def _best(runs: int, before: Callable[[], None], once: Callable[[], Sample]) -> Sample:
    """The fastest of `runs` runs (with that run's memory)."""
    best: Sample | None = None
    for _ in range(runs):
        before()
        s = once()
        if best is None or s.wall < best.wall:
            best = s
    assert best is not None
    return best


def _unlink(*paths: Path) -> Callable[[], None]:
    def go() -> None:
        for p in paths:
            p.unlink(missing_ok=True)

    return go


# ------------------------------------------------------------------------------------------------
# Measurements.


@dataclass
class Row:
    pair: str
    tool: str
    delta: int
    enc: Sample
    dec: Sample | None
    target_size: int


def _paths(pair: str) -> tuple[Path, Path]:
    return DATA / f"{pair}.src", DATA / f"{pair}.tgt"


def _warm(*paths: Path) -> None:
    for p in paths:
        with open(p, "rb") as f:
            while f.read(8 * MIB):
                pass


def _same(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(8 * MIB), fb.read(8 * MIB)
            if x != y:
                return False
            if not x:
                return True


def measure_ours(
    pair: str, runs: int, env: dict[str, str], label: str, decode: bool = True, **job: Any
) -> Row:
    src, tgt = _paths(pair)
    delta, out = WORK / f"{pair}.{label}.vcdiff", WORK / f"{pair}.{label}.out"
    enc = _best(
        runs,
        _unlink(delta),
        lambda: _ours({"op": "encode", "src": str(src), "tgt": str(tgt), "out": str(delta), **job}, env),
    )
    dec = None
    if decode:
        dec = _best(
            runs,
            _unlink(out),
            lambda: _ours({"op": "decode", "src": str(src), "delta": str(delta), "out": str(out)}, env),
        )
        if not _same(out, tgt):
            raise SystemExit(f"{label} on {pair}: decoded output differs from the target")
        out.unlink()
    return Row(pair, label, delta.stat().st_size, enc, dec, tgt.stat().st_size)


def measure_binary(pair: str, runs: int, label: str, flags: list[str], decode: bool = True) -> Row:
    xdelta3 = shutil.which("xdelta3")
    if xdelta3 is None:
        raise SystemExit("the stock xdelta3 binary is not on PATH (apt-get install xdelta3)")
    src, tgt = _paths(pair)
    delta, out = WORK / f"{pair}.{label}.vcdiff", WORK / f"{pair}.{label}.out"
    enc = _best(
        runs,
        _unlink(delta),
        lambda: _binary([xdelta3, "-e", "-f", *flags, "-s", str(src), str(tgt), str(delta)]),
    )
    dec = None
    if decode:
        dec = _best(
            runs, _unlink(out), lambda: _binary([xdelta3, "-d", "-f", "-s", str(src), str(delta), str(out)])
        )
        if not _same(out, tgt):
            raise SystemExit(f"{label} on {pair}: decoded output differs from the target")
        out.unlink()
    return Row(pair, label, delta.stat().st_size, enc, dec, tgt.stat().st_size)


def _mbs(size: int, s: Sample | None) -> str:
    return "-" if s is None else f"{size / s.wall / 1e6:,.0f}"


def _mib(s: Sample | None) -> str:
    return "-" if s is None else f"{s.peak_anon / MIB:,.1f}"


def _cpu(s: Sample | None) -> str:
    return "-" if s is None else f"{s.cpu:.3f}"


def _table(rows: list[Row]) -> list[str]:
    lines = [
        "| pair | tool / settings | delta bytes | encode s | encode CPU s | encode MB/s | decode s "
        "| decode CPU s | decode MB/s | encode peak anon MiB | decode peak anon MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        dec_wall = "-" if r.dec is None else f"{r.dec.wall:.3f}"
        lines.append(
            f"| {r.pair} | {r.tool} | {r.delta:,} | {r.enc.wall:.3f} | {_cpu(r.enc)} "
            f"| {_mbs(r.target_size, r.enc)} | {dec_wall} | {_cpu(r.dec)} | {_mbs(r.target_size, r.dec)} "
            f"| {_mib(r.enc)} | {_mib(r.dec)} |"
        )
    return lines


def section_main(runs: int, env: dict[str, str], pairs: list[str]) -> list[str]:
    rows: list[Row] = []
    for pair in pairs:
        _warm(*_paths(pair))
        # The binary takes minutes on content it cannot find (moved): one run there.
        brun = 1 if pair in SLOW_FOR_BINARY else runs
        rows.append(measure_binary(pair, brun, "xdelta3 -9", ["-9"]))
        rows.append(measure_ours(pair, runs, env, "ours lzma", secondary="lzma"))
        rows.append(measure_ours(pair, runs, env, "ours auto", secondary="auto"))
        rows.append(measure_binary(pair, brun, "xdelta3 -9 -S none", ["-9", "-S", "none"]))
        rows.append(measure_ours(pair, runs, env, "ours secondary=None", secondary=None))
        print(f"  main: {pair} done", file=sys.stderr, flush=True)
    return [
        "## Side by side",
        "",
        "`xdelta3 -9` is the binary's default secondary (LZMA, preset 0); `ours lzma` the same; `ours auto`",
        "(the codec's default) tries each window's adds first: no LZMA where it would not save 1% (the",
        "deflated members of a wheel), preset 0 on machine code, and, from 4 MiB of target where the",
        "budget allows, preset 6 on text-like adds. Delta bytes include the binary's application header",
        "(file names, ~30 bytes); ours writes none.",
        "",
        *_table(rows),
        "",
    ]


def section_small(runs: int, env: dict[str, str]) -> list[str]:
    src, tgt = _paths("small")
    xdelta3 = shutil.which("xdelta3") or "xdelta3"
    iterations = 200
    _warm(src, tgt)
    lines = [
        "## Per-file cost: a 100 KB pair, encode + decode",
        "",
        f"100,000 bytes cut from botocore's bedrock `service-2.json` in both releases. Ours: the mean of "
        f"{iterations} round trips in one process (library calls; the files API writing new files, like the "
        "binary's runs); the binary: one `xdelta3 -e -9` plus one `xdelta3 -d` process per round trip "
        "(what a caller of the tool pays), best of the runs.",
        "",
        "| tool | secondary | round trip ms | vs binary | delta bytes |",
        "|---|---|---:|---:|---:|",
    ]
    delta, out = WORK / "small.bin.vcdiff", WORK / "small.bin.out"
    enc = _best(
        runs,
        _unlink(delta),
        lambda: _binary([xdelta3, "-e", "-f", "-9", "-s", str(src), str(tgt), str(delta)]),
    )
    dec = _best(
        runs, _unlink(out), lambda: _binary([xdelta3, "-d", "-f", "-s", str(src), str(delta), str(out)])
    )
    binary_rt = enc.wall + dec.wall
    lines.append(f"| xdelta3 -9 | lzma | {binary_rt * 1e3:.1f} | 1x | {delta.stat().st_size:,} |")
    for secondary in ("lzma", None):
        best: Sample | None = None
        for _ in range(runs):
            s = _ours(
                {
                    "op": "small",
                    "src": str(src),
                    "tgt": str(tgt),
                    "out": str(WORK / "small.ours"),
                    "iterations": iterations,
                    "secondary": secondary,
                },
                env,
            )
            if best is None or s.extra["memory_s"] < best.extra["memory_s"]:
                best = s
        assert best is not None
        size = (WORK / "small.ours").stat().st_size
        for api in ("memory", "files"):
            t = best.extra[f"{api}_s"]
            lines.append(
                f"| ours, {'bytes' if api == 'memory' else 'files'} API | {secondary} | {t * 1e3:.2f} "
                f"| {binary_rt / t:,.0f}x faster | {size:,} |"
            )
    lines.append("")
    return lines


def section_window(runs: int, env: dict[str, str]) -> list[str]:
    rows: list[Row] = []
    for pair in ("botocore-tar", "moved"):
        _warm(*_paths(pair))
        brun = 1 if pair in SLOW_FOR_BINARY else runs
        rows.append(measure_binary(pair, brun, "xdelta3 -9 (64 MiB window)", ["-9"], decode=False))
        rows.append(
            measure_binary(pair, runs, "xdelta3 -9 -B 268435456", ["-9", "-B", str(256 * MIB)], decode=False)
        )
        rows.append(
            measure_ours(pair, runs, env, "ours (probe picks the window)", decode=False, secondary="lzma")
        )
        rows.append(
            measure_ours(
                pair,
                runs,
                env,
                "ours, whole-source window forced",
                decode=False,
                secondary="lzma",
                knobs={"src_window": 256 * MIB},
                memory_budget=1 << 30,
            )
        )
    return [
        "## Source window",
        "",
        "The binary's 64 MiB default misses content moved further (`moved`); a window over the whole",
        "source finds it but, on aligned content with many repeats (tar headers), picks worse-placed",
        "copies than a narrow sliding window. Ours probes how far content actually moved",
        "(`native/dg_probe.c`) and slides the narrowest window that covers it, or covers the whole",
        "source within the budget.",
        "",
        *_table(rows),
        "",
    ]


def section_step(runs: int, env: dict[str, str]) -> list[str]:
    lines = [
        "## Source checksum step at -9 (`large_step`, the soft string matcher)",
        "",
        "Whole-source window (256 MiB) on both pairs so that the step, not the probe, is what varies;",
        "hash MiB is the source table (`window / step` slots of 4 bytes, rounded down to a power of two).",
        "",
        "| pair | step | delta bytes | encode s | encode CPU s | source table MiB | encode peak anon MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for pair in ("botocore-tar", "moved"):
        _warm(*_paths(pair))
        for step in (2, 3, 4, 8, 16):
            r = measure_ours(
                pair,
                runs,
                env,
                f"step{step}",
                decode=False,
                secondary="lzma",
                knobs={"src_window": 256 * MIB, "large_step": step},
                memory_budget=1 << 30,
            )
            slots = 1 << ((256 * MIB // step).bit_length() - 1)
            table = slots * 4 / MIB
            lines.append(
                f"| {pair} | {step} | {r.delta:,} | {r.enc.wall:.3f} | {_cpu(r.enc)} "
                f"| {table:,.0f} | {_mib(r.enc)} |"
            )
    lines.append("")
    return lines


def section_preset(runs: int, env: dict[str, str]) -> list[str]:
    lines = [
        "## LZMA preset for secondary compression",
        "",
        "xdelta3 passes its `XD3_COMPLEVEL` bits to `lzma_lzma_preset()`; the binary sets none, so preset 0.",
        "One LZMA encoder per section (data, instructions, addresses), each for the whole delta.",
        "",
        "| pair | preset | delta bytes | vs preset 0 | encode s | encode CPU s | encode peak anon MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for pair in ("botocore-whl", "numpy-whl", "botocore-tar"):
        _warm(*_paths(pair))
        base = 0
        for preset in (0, 1, 3, 6):
            r = measure_ours(
                pair,
                runs,
                env,
                f"preset{preset}",
                decode=False,
                secondary="lzma",
                knobs={"lzma_preset": preset},
                memory_budget=1 << 30,
            )
            base = base or r.delta
            lines.append(
                f"| {pair} | {preset} | {r.delta:,} | {100 * (r.delta - base) / base:+.2f}% "
                f"| {r.enc.wall:.3f} | {_cpu(r.enc)} | {_mib(r.enc)} |"
            )
    lines.append("")
    return lines


def section_usize(runs: int, env: dict[str, str], variant: str | None) -> list[str]:
    if not variant:
        raise SystemExit("--sections usize needs --variant-path (a build with -DXD3_USE_LARGESIZET=1)")
    venv = dict(env, PYTHONPATH=variant + os.pathsep + env.get("PYTHONPATH", ""))
    rows: list[Row] = []
    for pair in ("botocore-whl", "numpy-whl", "botocore-tar", "moved"):
        _warm(*_paths(pair))
        rows.append(measure_ours(pair, runs, env, "usize_t 32-bit (LARGESIZET=0)", secondary="lzma"))
        rows.append(measure_ours(pair, runs, venv, "usize_t 64-bit (LARGESIZET=1)", secondary="lzma"))
    return [
        "## XD3_USE_LARGESIZET",
        "",
        "The same sources built twice; the 64-bit build was made with",
        "`CFLAGS=-DXD3_USE_LARGESIZET=1 python setup.py build_ext --build-lib DIR` (config.h only sets",
        "the macro when it is not defined). Same default 512 MiB budget, so the 64-bit build, whose hash",
        "tables cost twice as much, gets narrower windows or coarser steps where the budget binds.",
        "",
        *_table(rows),
        "",
    ]


def section_big(runs: int, env: dict[str, str]) -> list[str]:
    _warm(*_paths("big"))
    rows = [
        measure_binary("big", 1, "xdelta3 -9", ["-9"]),
        measure_ours("big", runs, env, "ours lzma (512 MiB budget)", secondary="lzma"),
        measure_ours("big", runs, env, "ours None (512 MiB budget)", secondary=None),
        measure_ours(
            "big",
            runs,
            env,
            "ours lzma, 256 MiB budget",
            decode=False,
            secondary="lzma",
            memory_budget=256 * MIB,
        ),
    ]
    return [
        "## 1 GiB",
        "",
        "Encode within the memory budget (default 512 MiB: the window covers the whole 1 GiB source",
        "with a coarser checksum step), decode within 256 MiB.",
        "",
        *_table(rows),
        "",
    ]


def _machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=False
        ).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    version = subprocess.run(["xdelta3", "-V"], capture_output=True, text=True, check=False)
    load = os.getloadavg()
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores (`nproc`); {ram:.0f} GiB RAM",
        f"- {platform.platform()}, Python {platform.python_version()}",
        f"- binary: {(version.stdout or version.stderr).splitlines()[0]}",
        f"- load average when the run started: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    parser.add_argument("--pairs", default="botocore-whl,numpy-whl,botocore-tar,moved")
    parser.add_argument("--ours-path", help="import deltaglider from this folder instead (another build)")
    parser.add_argument("--variant-path", help="for --sections usize: a build with XD3_USE_LARGESIZET=1")
    parser.add_argument("--out", type=Path, help="write the Markdown here (default: stdout)")
    args = parser.parse_args()
    if not (DATA / "botocore-whl.src").exists():
        raise SystemExit("no data: run python bench/fetch_data.py first")
    WORK.mkdir(exist_ok=True)
    env = dict(os.environ)
    if args.ours_path:
        env["PYTHONPATH"] = args.ours_path + os.pathsep + env.get("PYTHONPATH", "")
    sections = args.sections.split(",")
    started = time.strftime("%Y-%m-%d %H:%M")
    lines = ["# deltaglider codec vs xdelta3: measured", "", *_machine()]
    lines += [
        f"- {args.runs} runs per figure, best of them (the binary on `moved`, `big`: 1 run); run {started}",
        "",
    ]
    builders = {
        "main": lambda: section_main(args.runs, env, args.pairs.split(",")),
        "small": lambda: section_small(args.runs, env),
        "window": lambda: section_window(args.runs, env),
        "step": lambda: section_step(args.runs, env),
        "preset": lambda: section_preset(args.runs, env),
        "usize": lambda: section_usize(args.runs, env, args.variant_path),
        "big": lambda: section_big(args.runs, env),
    }
    for name in sections:
        print(f"section {name}", file=sys.stderr, flush=True)
        lines += builders[name]()
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
