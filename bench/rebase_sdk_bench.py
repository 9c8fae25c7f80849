"""Re-baselining through the SDK (issue 13, "Benchmark"): several bases per DeltaSpace against one.

Each family of 40+ consecutive real releases (the offline simulation's, ``bench/rebaseline_sim.py``,
files reused from its cache ``~/.cache/deltaglider-bench/``) is uploaded in version order into one
DeltaSpace of a ``file://`` store with ``create_client(endpoint_url="file://...", cache_dir=...)``,
in three modes: ``bases``, the default (several bases, archive transforms on); ``single``, the same
client with the bases switched off in this process (:func:`one_reference_only`: one reference forever,
transforms on); ``compat``, ``original_compatible=True`` (one ``reference.bin`` forever, but wheels and
compressed content stored whole, as the original DeltaGlider writes them).

Then every file is downloaded from a cold cache (a new service and an empty cache folder per
download) and compared with its source by SHA-256. That service is built with the public
constructor ``DeltaService(...)`` from the client's own storage, wrapped to count its calls, and a
subclass of ``XDelta3Diff`` that counts decodes (``tests/support/families.py``). S3 requests are
counted on one family (``--moto-family``, the smallest) uploaded and downloaded again the same way
through moto's HTTP server on 127.0.0.1 (``tests/support/moto_server.py``), from the server's request
log, as ``bench/s3_vs_original.py`` does.

Beside it, the simulation's figures for the same family (its cached JSON, written by
``rebaseline_sim.py --family NAME``): one reference (a), the chain bound (b) and depth two at DRIFT
0.15 (c).

Usage: ``python bench/rebase_sdk_bench.py [--families NAME ...] [--modes MODE ...] [--merge]
[--moto-family NAME | --no-moto] [--out DIR] [--report-only] [--limit N]``. It prints a Markdown
section; ``--out`` (default ``bench/_work/rebase_sdk``) keeps ``results.json``, from which
``--report-only`` prints it again; ``--merge`` adds the modes run to the families already there. One
run of each upload and download: times are single measurements.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from deltaglider import create_client
from deltaglider.adapters.cache_fs import FsCache
from deltaglider.adapters.clock_utc import UtcClock
from deltaglider.adapters.hash_sha256 import Sha256Hasher
from deltaglider.adapters.logger_std import StdLogger
from deltaglider.adapters.metrics_noop import NoopMetrics
from deltaglider.client import DeltaGliderClient
from deltaglider.core.service import DeltaService
from deltaglider.ports.storage import StoragePort

ROOT = Path(__file__).resolve().parent.parent
# The simulation (this folder is no package), the tests' decode counter and moto server helper.
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests"), str(ROOT / "tests" / "support")]
rebaseline_sim = importlib.import_module("rebaseline_sim")
CountingDiff = importlib.import_module("support.families").CountingDiff
sha256 = Sha256Hasher().sha256_file
MB = 1_000_000
BUCKET = "bench"
PREFIX = "family"
#: bases: the default; compat: original_compatible=True; single: the default with the bases switched
#: off in this process (see one_reference_only), i.e. one reference forever with archive transforms on.
MODES = ("bases", "compat", "single")
LABELS = {"bases": "bases", "single": "one reference", "compat": "compat"}
#: (simulation family, label, how the files are uploaded)
FAMILIES = {
    "botocore-whl": ("botocore wheels 1.35.0..1.35.45", "wheel"),
    "setuptools-whl": ("setuptools wheels 70.0.0..79.0.1", "wheel"),
    "pip-tar": ("pip sdists 22.0..26.3", ".tar.gz as released"),
}
REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)?(GET|PUT|POST|HEAD|DELETE) /')


class CountingStorage:
    """A StoragePort that forwards every call and counts them by method."""

    def __init__(self, inner: StoragePort) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name == "url":  # url() only formats a name
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return counted


LIMIT: list[int] = []  # --limit, for a quick try of the script itself


def release_files(name: str) -> list[Path]:
    """The family's files from the simulation's cache (pip fetches any that are missing)."""
    family = rebaseline_sim.FAMILIES[name]
    versions = family.versions[: LIMIT[0]] if LIMIT else family.versions
    return [rebaseline_sim._download(family, v) for v in versions]  # the same bench's fetcher


def simulated(name: str) -> dict[str, Any]:
    path = rebaseline_sim.CACHE / f"rebaseline-{name}-every1.json"
    if not path.exists():
        raise SystemExit(f"no {path}: run python bench/rebaseline_sim.py --family {name} first")
    report: dict[str, Any] = json.loads(path.read_text())
    results = report["results"]
    pick = ("single", "chain", "depth2 0.15")
    return {
        "total": report["total"],
        "files": len(report["files"]),
        **{
            k: {
                "stored": results[k]["stored"],
                "fulls": results[k]["fulls"],
                "snapshots": results[k]["snapshots"],
            }
            for k in pick
        },
    }


class Requests:
    """moto's request log, read from where the previous call stopped."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.offset = log.stat().st_size

    def since(self) -> Counter[str]:
        with self.log.open("rb") as handle:
            handle.seek(self.offset)
            new = handle.read()
        self.offset += len(new)
        return Counter(REQUEST.findall(new.decode("utf-8", "replace")))


def stored_objects(store: Path) -> dict[str, Any]:
    """The DeltaSpace folder's object files, ``.dg-meta`` sidecars left out, by kind."""
    folder = store / BUCKET / PREFIX
    files = [p for p in folder.rglob("*") if p.is_file() and ".dg-meta" not in p.parts]
    names = [p.name for p in files]
    return {
        "total": sum(p.stat().st_size for p in files),
        "objects": len(files),
        "reference_bin": names.count("reference.bin"),
        "fulls": sum(1 for n in names if re.fullmatch(r"reference-.+\.bin", n)),
        "snapshots": sum(1 for n in names if re.fullmatch(r"reference-.+\.bin\.delta", n)),
        "deltas": sum(1 for n in names if n.endswith(".delta") and not n.startswith("reference")),
        "whole": sum(1 for n in names if not n.endswith(".delta") and not n.startswith("reference")),
    }


def reader_factory(
    base: StoragePort, endpoint: str, work: Path, compat: bool
) -> Callable[[], tuple[DeltaGliderClient, CountingDiff, CountingStorage]]:
    """A new client with an empty cache, counting decodes and storage calls, for each download."""
    hasher = Sha256Hasher()
    logger = StdLogger(level="WARNING")
    serial = iter(range(1 << 30))

    def make() -> tuple[DeltaGliderClient, CountingDiff, CountingStorage]:
        cache_dir = work / f"cold-{next(serial)}"
        diff, storage = CountingDiff(), CountingStorage(base)
        service = DeltaService(
            storage=storage,
            diff=diff,
            hasher=hasher,
            cache=FsCache(cache_dir, max_bytes=8 << 30, hasher=hasher, logger=logger),
            clock=UtcClock(),
            logger=logger,
            metrics=NoopMetrics(),
            original_compatible=compat,
        )
        return DeltaGliderClient(service, endpoint), diff, storage

    return make


@contextlib.contextmanager
def one_reference_only() -> Iterator[None]:
    """The default client as it was before issue 13: every upload is encoded against ``reference.bin``
    alone, and a delta over ``max_ratio`` is stored whole instead of becoming a new base. Patched into
    ``deltaglider.core`` for this process only, so that the one-reference total has archive transforms
    on like the default's (``original_compatible`` stores wheels and ``.tar.gz`` whole)."""
    from deltaglider.core.family import bases
    from deltaglider.core.put import new_bases as put_bases
    from deltaglider.core.put import write as upload

    saved = bases.DRIFT, bases.recent, put_bases.new_base

    def reference_only(ctx: Any, bucket: str, prefix: str, reference: Any) -> list[Any]:
        found = bases.describe(reference)
        return [found] if found else []

    def stored_whole(ctx: Any, up: Any, full: Any, made: Any, *, ratio: float) -> Any:
        return upload.store_whole(
            ctx, up, f"delta/file ratio {ratio:.3f} exceeds max_ratio", delta_ratio=ratio
        )

    bases.DRIFT = 1.0  # type: ignore[misc]  # the drift test then is max_ratio's
    bases.recent = reference_only
    put_bases.new_base = stored_whole
    try:
        yield
    finally:
        bases.DRIFT, bases.recent, put_bases.new_base = saved  # type: ignore[misc]


def run_mode(
    files: list[Path],
    digests: list[str],
    work: Path,
    mode: str,
    *,
    endpoint: str | None = None,
    log: Path | None = None,
) -> dict[str, Any]:
    compat = mode == "compat"
    store = work / mode / "store"
    store.mkdir(parents=True)
    endpoint = endpoint or f"file://{store}"
    url = f"s3://{BUCKET}/{PREFIX}/"
    writer = create_client(
        endpoint_url=endpoint,
        cache_dir=str(work / mode / "cache"),
        log_level="WARNING",
        original_compatible=compat,
    )
    requests = Requests(log) if log else None
    uploads: list[dict[str, Any]] = []
    for path in files:
        wall, cpu = time.perf_counter(), time.process_time()
        with one_reference_only() if mode == "single" else contextlib.nullcontext():
            s = writer.upload(path, url)
        row = {
            "name": path.name,
            "size": path.stat().st_size,
            "operation": s.operation,
            "key": s.key,
            "stored": s.stored_size,
            "transform": getattr(s, "transform", None),
            "reason": s.reason,
            "wall_s": time.perf_counter() - wall,
            "cpu_s": time.process_time() - cpu,
        }
        if requests:
            row["requests"] = dict(requests.since())
        uploads.append(row)
    objects = stored_objects(store) if log is None else {}
    make = reader_factory(writer.service.storage, endpoint, work / mode, compat)
    out = work / mode / "out"
    out.mkdir()
    downloads: list[dict[str, Any]] = []
    for path, digest in zip(files, digests, strict=True):
        reader, diff, storage = make()
        dest = out / path.name
        wall = time.perf_counter()
        reader.download(url + path.name, dest)
        row = {
            "name": path.name,
            "wall_s": time.perf_counter() - wall,
            "decodes": diff.decodes,
            "storage_calls": dict(storage.calls),
            "sha256_ok": sha256(dest) == digest,
        }
        if requests:
            row["requests"] = dict(requests.since())
        downloads.append(row)
        dest.unlink()
        shutil.rmtree(work / mode / f"cold-{len(downloads) - 1}", ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    return {"mode": mode, "objects": objects, "uploads": uploads, "downloads": downloads}


def measure(name: str, work: Path, modes: list[str]) -> dict[str, Any]:
    files = release_files(name)
    digests = [sha256(p) for p in files]
    started = time.perf_counter()
    runs = {mode: run_mode(files, digests, work / name, mode) for mode in modes}
    return {
        "family": name,
        "files": [p.name for p in files],
        "total": sum(p.stat().st_size for p in files),
        "simulation": simulated(name),
        "runs": runs,
        "seconds": time.perf_counter() - started,
    }


def measure_moto(name: str, work: Path, modes: list[str]) -> dict[str, Any]:
    import boto3

    moto_server = importlib.import_module("moto_server")

    os.environ.clear()
    os.environ.update(moto_server.fake_aws_env())
    files = release_files(name)
    digests = [sha256(p) for p in files]
    log = work / "moto.log"
    runs = {}
    with moto_server.run_moto_server(log) as server:
        for mode in modes:
            server.post("/moto-api/reset")
            boto3.client("s3", endpoint_url=server.url).create_bucket(Bucket=BUCKET)
            runs[mode] = run_mode(files, digests, work / f"moto-{name}", mode, endpoint=server.url, log=log)
    return {"family": name, "runs": runs}


# --- report -----------------------------------------------------------------------------------------


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%"


def _dist(values: list[float], fmt: str = "{:g}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def _decodes(run: dict[str, Any]) -> str:
    counts = Counter(d["decodes"] for d in run["downloads"])
    return f"{max(counts)} ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})"


def _family_row(fam: dict[str, Any]) -> str:
    total = fam["total"]
    label, form = FAMILIES[fam["family"]]
    b, one, c = fam["runs"]["bases"], fam["runs"]["single"], fam["runs"]["compat"]
    sim = fam["simulation"]
    st, single, chain, d2 = sim["total"], sim["single"], sim["chain"], sim["depth2 0.15"]
    ob, o1, oc = b["objects"], one["objects"], c["objects"]
    ok = sum(d["sha256_ok"] for r in (b, one, c) for d in r["downloads"])
    cells = (
        f"{label} ({form})",
        f"{len(fam['files'])}, {total / MB:.0f}",
        f"{ob['total'] / MB:.1f} MB, **{_pct(ob['total'], total)}**",
        f"{ob['reference_bin'] + ob['fulls']} / {ob['snapshots']}",
        f"{o1['total'] / MB:.1f} MB, {_pct(o1['total'], total)} ({o1['whole']} whole)",
        f"{oc['total'] / MB:.1f} MB, {_pct(oc['total'], total)}",
        f"**{ob['total'] / o1['total']:.2f}**; {ob['total'] / oc['total']:.2f}",
        f"{single['stored'] / MB:.1f} MB, {_pct(single['stored'], st)}",
        f"{chain['stored'] / MB:.1f} MB, {_pct(chain['stored'], st)}",
        f"{d2['stored'] / MB:.1f} MB, {_pct(d2['stored'], st)}, {d2['fulls']}/{d2['snapshots']}",
        f"{_decodes(b)}; {_decodes(one).split()[0]}; {_decodes(c).split()[0]}",
        "; ".join(_dist([u["wall_s"] for u in r["uploads"]], "{:.2f}") for r in (b, one, c)),
        "; ".join(f"{statistics.median(d['wall_s'] for d in r['downloads']):.2f}" for r in (b, one, c)),
        f"{ok}/{3 * len(fam['files'])}",
    )
    return "| " + " | ".join(cells) + " |"


def _by_method(rows: list[dict[str, Any]], field: str) -> str:
    counts = [Counter(r[field]) for r in rows]
    methods = sorted(set().union(*counts))
    totals = [sum(c.values()) for c in counts]
    each = ", ".join(
        f"{m} {statistics.median(c[m] for c in counts):g} ({max(c[m] for c in counts)})" for m in methods
    )
    spread = f"per call median {statistics.median(totals):g} (min {min(totals)}, max {max(totals)})"
    return f"{spread}, all {sum(totals)}; by method, median (max): {each}"


def report(results: dict[str, Any]) -> str:
    header = (
        "family",
        "files, MB",
        "bases (default)",
        "full refs / snapshots",
        "one reference (bases off)",
        "original_compatible",
        "bases / one reference; bases / compat",
        "sim. (a) one reference",
        "sim. (b) chain bound",
        "sim. (c) DRIFT 0.15, F/S",
        "decodes per download, max (count): bases; one ref.; compat",
        "upload s per file, median (min-max): bases; one ref.; compat",
        "cold download s, median: bases; one ref.; compat",
        "SHA-256 matched",
    )
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    complete = [fam for fam in results["families"] if set(MODES) <= set(fam["runs"])]
    lines += [_family_row(fam) for fam in complete]
    lines += [
        f"\n({fam['family']}: only {', '.join(fam['runs'])} run)"
        for fam in results["families"]
        if fam not in complete
    ]
    lines += ["", "Storage-port calls per cold download (file:// store):", ""]
    for fam in results["families"]:
        for mode in [m for m in MODES if m in fam["runs"]]:
            lines.append(
                f"- {fam['family']}, {LABELS[mode]}: "
                + _by_method(fam["runs"][mode]["downloads"], "storage_calls")
            )
    moto = results.get("moto")
    if moto:
        lines += ["", f"S3 requests through moto's HTTP server ({moto['family']}), from its log:", ""]
        for mode in [m for m in ("bases", "single", "compat") if m in moto["runs"]]:
            run = moto["runs"][mode]
            for phase in ("uploads", "downloads"):
                extra = ""
                if phase == "downloads":
                    decodes = max(d["decodes"] for d in run[phase])
                    matched = sum(d["sha256_ok"] for d in run[phase])
                    extra = f"; decodes max {decodes}; SHA-256 {matched}/{len(run[phase])}"
                lines.append(f"- {LABELS[mode]}, {phase}: " + _by_method(run[phase], "requests") + extra)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", choices=sorted(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--moto-family", choices=sorted(FAMILIES), default="setuptools-whl")
    parser.add_argument("--no-moto", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "_work" / "rebase_sdk")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--merge", action="store_true", help="add to the families already in results.json")
    parser.add_argument("--limit", type=int, help="only the first N releases of each family (a smoke test)")
    args = parser.parse_args(argv)
    if args.limit:
        LIMIT.append(args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "results.json"
    if args.report_only:
        print(report(json.loads(saved.read_text())))
        return
    fresh: dict[str, Any] = {
        "machine": f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs",
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "families": [],
    }
    # --merge adds these modes' runs to an earlier results.json (the same families' other modes).
    results = json.loads(saved.read_text()) if args.merge and saved.exists() else fresh
    known = {fam["family"]: fam for fam in results["families"]}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dg-rebase-") as tmp:
        for name in args.families:
            fam = measure(name, Path(tmp), args.modes)
            print(f"{name}: {fam['seconds']:.0f} s", file=sys.stderr, flush=True)
            if name in known:
                known[name]["runs"].update(fam["runs"])
                known[name]["seconds"] += fam["seconds"]
            else:
                results["families"].append(fam)
            saved.write_text(json.dumps(results, indent=1))
        if not args.no_moto:
            moto = measure_moto(args.moto_family, Path(tmp), args.modes)
            if "moto" in results and results["moto"]["family"] == moto["family"]:
                results["moto"]["runs"].update(moto["runs"])
            else:
                results["moto"] = moto
    results.setdefault("runs", []).append(
        {"modes": args.modes, "started": fresh["started"], "seconds": time.perf_counter() - started}
    )
    saved.write_text(json.dumps(results, indent=1))
    print(report(results))


if __name__ == "__main__":
    main()
