"""Re-baselining, offline simulation (issue 13): what several bases per DeltaSpace would store.

Three families of consecutive real releases from PyPI (fetched with pip's own client into
``~/.cache/deltaglider-bench/``, never committed; sdists are un-gzipped to ``.tar`` because archive
transforms are a separate issue), encoded with the in-process codec at the library's defaults
(``codec.encode_file``: level 9, LZMA secondary). For each family it reports the bytes stored as a
share of the family's size under:

* ``single``: one reference forever, ``max_ratio`` 0.5 (a larger delta is stored whole);
* ``chain``: each file against the previous one (a bound only: a download decodes the whole chain);
* ``depth2``: full reference F, snapshot S (initially F); each file is encoded against S; past DRIFT it
  becomes the new snapshot, stored as a delta against F, or a new full reference when that delta
  passes 0.5. Any file is at most two decodes from a full reference;
* ``depth2-est``: the same, but the base is the one among {F, S, the last 3 snapshots} with the
  smallest ``estimate_delta_ratio``. Every candidate is also encoded (not counted as upload time) to
  see whether the estimate picked the base a real encode would have.

Every (base, target) pair is encoded once and remembered in
``<cache>/rebaseline-encodes-<project>-<kind>.json``, so a rerun, or another scheme needing the same pair,
costs nothing; times are the CPU seconds of that one encode (``time.process_time``: the machine is
shared, so wall time says more about the neighbours than about the codec).

Usage: ``python bench/rebaseline_sim.py [--family NAME ...] [--every N] [--drift 0.1 0.15 0.25]``.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deltaglider import codec
from deltaglider.core.family.fingerprint import Fingerprint, estimate_delta_ratio, fingerprint

CACHE = Path(os.environ.get("DG_BENCH_CACHE", Path.home() / ".cache" / "deltaglider-bench"))
MAX_RATIO = 0.5
CANDIDATE_SNAPSHOTS = 3


@dataclass(frozen=True)
class Family:
    name: str
    project: str
    kind: str  # "wheel" or "sdist"
    versions: tuple[str, ...]


def _series(prefix: str, first: int, last: int) -> list[str]:
    return [f"{prefix}.{i}" for i in range(first, last + 1)]


def _versions(listed: str) -> tuple[str, ...]:
    return tuple(listed.split())


FAMILIES = {
    f.name: f
    for f in (
        Family("botocore-whl", "botocore", "wheel", tuple(_series("1.35", 0, 45))),
        # As far as the issue's own measurement (1.35.0 to 1.35.96, one release in 4).
        Family("botocore-whl-long", "botocore", "wheel", tuple(_series("1.35", 0, 99))),
        Family("awscli-tar", "awscli", "sdist", tuple(_series("1.34", 0, 33) + _series("1.35", 0, 11))),
        # Source releases over several major versions: a tar family that drifts, if slowly.
        Family(
            "pip-tar",
            "pip",
            "sdist",
            _versions(
                "22.0 22.0.1 22.0.2 22.0.3 22.0.4 22.1 22.1.1 22.1.2 22.2 22.2.1 22.2.2 22.3 22.3.1 23.0"
                " 23.0.1 23.1 23.1.1 23.1.2 23.2 23.2.1 23.3 23.3.1 23.3.2 24.0 24.1 24.1.1 24.1.2 24.2"
                " 24.3 24.3.1 25.0 25.0.1 25.1 25.1.1 25.2 25.3 26.0 26.0.1 26.1 26.1.1 26.1.2 26.2 26.2.1"
                " 26.3"
            ),
        ),
        Family(
            "setuptools-whl",
            "setuptools",
            "wheel",
            _versions(
                "70.0.0 70.1.0 70.1.1 70.2.0 70.3.0 71.0.0 71.0.2 71.0.3 71.0.4 71.1.0 72.1.0 72.2.0 73.0.0"
                " 73.0.1 74.0.0 74.1.0 74.1.1 74.1.2 74.1.3 75.0.0 75.1.0 75.2.0 75.3.0 75.3.1 75.3.2 75.3.3"
                " 75.3.4 75.4.0 75.5.0 75.6.0 75.7.0 75.8.0 75.8.1 75.8.2 75.9.1 76.0.0 76.1.0 77.0.1 77.0.3"
                " 78.0.1 78.0.2 78.1.0 78.1.1 79.0.0 79.0.1"
            ),
        ),
    )
}


def _download(family: Family, version: str) -> Path:
    """pip's own client, one release per call (pip refuses two versions of one project at once)."""
    dest = CACHE / f"{family.project}-{'whl' if family.kind == 'wheel' else 'sdist'}"
    dest.mkdir(parents=True, exist_ok=True)
    suffix = ".whl" if family.kind == "wheel" else ".tar.gz"
    prefix = f"{family.project}-{version}"

    def found() -> list[Path]:
        return [
            p for p in dest.iterdir() if p.name.startswith(prefix + ("-" if suffix == ".whl" else ".tar"))
        ]

    if not found():
        binary = ["--only-binary", ":all:"] if family.kind == "wheel" else ["--no-binary", ":all:"]
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dest), *binary]
        subprocess.run([*pip, f"{family.project}=={version}"], check=True)
    hits = found()
    if len(hits) != 1:
        raise SystemExit(f"expected one {suffix} for {prefix} in {dest}, found {hits}")
    return hits[0]


def _prepared(family: Family, version: str) -> Path:
    """The file the simulation stores: the wheel itself, or the sdist un-gzipped."""
    got = _download(family, version)
    if family.kind == "wheel":
        return got
    out = CACHE / family.name / (got.name.removesuffix(".gz"))
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        with gzip.open(got, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        tmp.rename(out)
    return out


class Encodes:
    """Delta size and CPU seconds of each (base, target) pair, encoded once, kept across runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.memo: dict[str, list[float]] = json.loads(path.read_text()) if path.exists() else {}
        self.scratch = path.with_suffix(".delta")
        self.fresh = 0

    def __call__(self, base: Path, target: Path) -> tuple[int, float]:
        key = f"{base.name}>{target.name}"
        if key not in self.memo:
            t0 = time.process_time()
            written = codec.encode_file(base, target, self.scratch)
            self.memo[key] = [written, time.process_time() - t0]
            self.fresh += 1
            if self.fresh % 10 == 0:
                self.save()
        size, seconds = self.memo[key]
        return int(size), float(seconds)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.memo, indent=0, sort_keys=True))
        tmp.rename(self.path)


@dataclass
class Outcome:
    stored: int = 0
    fulls: int = 0
    snapshots: int = 0
    max_decodes: int = 0
    encode_s: float = 0.0
    picks: int = 0
    agree: int = 0
    regret: int = 0  # bytes the estimate's pick cost over the best candidate
    not_snapshot: int = 0  # files whose chosen base was not the current snapshot S
    ordered: int = 0  # candidate pairs whose real deltas differ: how many the estimate ranks alike
    ordered_right: int = 0
    choices: list[str] = field(default_factory=list)


def single(files: Sequence[Path], encode: Callable[[Path, Path], tuple[int, float]]) -> Outcome:
    out = Outcome(stored=files[0].stat().st_size, fulls=1, max_decodes=1)
    for f in files[1:]:
        size = f.stat().st_size
        delta, seconds = encode(files[0], f)
        out.encode_s += seconds
        out.stored += size if delta > MAX_RATIO * size else delta
    return out


def chain(files: Sequence[Path], encode: Callable[[Path, Path], tuple[int, float]]) -> Outcome:
    out = Outcome(stored=files[0].stat().st_size, fulls=1, max_decodes=len(files) - 1)
    for prev, f in itertools.pairwise(files):
        delta, seconds = encode(prev, f)
        out.encode_s += seconds
        out.stored += delta
    return out


def depth2(
    files: Sequence[Path],
    encode: Callable[[Path, Path], tuple[int, float]],
    drift: float,
    prints: dict[Path, Fingerprint] | None = None,
    print_s: dict[Path, float] | None = None,
) -> Outcome:
    """With ``prints``, the base is the candidate with the smallest estimate instead of always S."""
    full = snap = files[0]
    snapshots: list[Path] = []
    out = Outcome(stored=full.stat().st_size, fulls=1, max_decodes=1)
    for f in files[1:]:
        size = f.stat().st_size
        base = snap
        if prints is not None and print_s is not None:
            out.encode_s += print_s[f]
            candidates = list(dict.fromkeys([full, snap, *snapshots[-CANDIDATE_SNAPSHOTS:]]))
            if len(candidates) > 1:
                estimates = {c: estimate_delta_ratio(prints[c], prints[f]) for c in candidates}
                base = min(candidates, key=lambda c: (estimates[c], c != snap))
                # Scoring only: the candidates' real deltas, not part of the upload's cost.
                real = {c: encode(c, f)[0] for c in candidates}
                best = min(real.values())
                out.picks += 1
                out.agree += real[base] == best
                out.regret += real[base] - best
                for a, b in itertools.combinations(candidates, 2):
                    if real[a] != real[b]:
                        out.ordered += 1
                        out.ordered_right += (real[a] < real[b]) == (estimates[a] < estimates[b])
        delta, seconds = encode(base, f)
        out.encode_s += seconds
        out.not_snapshot += base != snap
        out.choices.append("F" if base == full else ("S" if base == snap else "s"))
        if delta <= drift * size:
            out.stored += delta
            out.max_decodes = max(out.max_decodes, 1 if base == full else 2)
            continue
        against_full, seconds = (delta, 0.0) if base == full else encode(full, f)
        out.encode_s += seconds
        if against_full <= MAX_RATIO * size:
            out.stored += against_full
            out.snapshots += 1
            snapshots.append(f)
            snap = f
            out.max_decodes = max(out.max_decodes, 1)
        else:
            out.stored += size
            out.fulls += 1
            full = snap = f
            snapshots.clear()
    return out


def _row(label: str, o: Outcome, total: int) -> str:
    pick = (
        f"{o.agree}/{o.picks}, +{o.regret / total:.2%}; {o.not_snapshot}; {o.ordered_right}/{o.ordered}"
        if o.picks
        else ""
    )
    return (
        f"| {label} | {o.stored / total:.1%} | {o.fulls} | {o.snapshots} | {o.max_decodes} | "
        f"{o.encode_s:.0f} | {pick} |"
    )


def run(family: Family, every: int, drifts: Sequence[float], encode: Encodes) -> dict[str, object]:
    files = [_prepared(family, v) for v in family.versions[::every]]
    total = sum(f.stat().st_size for f in files)
    prints: dict[Path, Fingerprint] = {}
    print_s: dict[Path, float] = {}
    for f in files:
        t0 = time.process_time()
        prints[f] = fingerprint(f)
        print_s[f] = time.process_time() - t0
    results: dict[str, Outcome] = {"single": single(files, encode), "chain": chain(files, encode)}
    for drift in drifts:
        results[f"depth2 {drift:.2f}"] = depth2(files, encode, drift)
        results[f"depth2-est {drift:.2f}"] = depth2(files, encode, drift, prints, print_s)
        encode.save()
    encode.save()
    pairs = [(b, t) for b in files for t in files if f"{b.name}>{t.name}" in encode.memo and b != t]
    errors = [
        estimate_delta_ratio(prints[b], prints[t]) - encode(b, t)[0] / t.stat().st_size for b, t in pairs
    ]
    encode_times = [encode(b, t)[1] for b, t in pairs]
    t0 = time.process_time()
    for b, t in pairs:
        estimate_delta_ratio(prints[b], prints[t])
    estimate_us = (time.process_time() - t0) / len(pairs) * 1e6
    size_mb = total / len(files) / 1e6
    fp_s = sum(print_s.values()) / len(files)
    lines = [
        f"### {family.name}: {len(files)} releases {family.versions[0]}..{family.versions[::every][-1]}"
        + (f" (one release in {every})" if every > 1 else "")
        + f", {total / 1e6:.0f} MB, {size_mb:.1f} MB each",
        "",
        "| scheme | stored | fulls | snapshots | max decodes | encode CPU s "
        "| estimate: best base picked (regret); base not S; pairs ranked right |",
        "|---|---:|---:|---:|---:|---:|---|",
        *(_row(k, v, total) for k, v in results.items()),
        "",
        f"Fingerprint: {fp_s:.3f} CPU s per file ({size_mb / fp_s:.0f} MB/s); one encode: mean "
        f"{sum(encode_times) / len(encode_times):.2f} CPU s over {len(encode_times)} pairs; comparing two "
        f"fingerprints: {estimate_us:.0f} us. Estimate minus "
        f"real ratio over those pairs: mean {sum(errors) / len(errors):+.3f}, mean absolute "
        f"{sum(map(abs, errors)) / len(errors):.3f}, max {max(errors):+.3f} / min {min(errors):+.3f}.",
        "",
    ]
    print("\n".join(lines), flush=True)
    return {
        "family": family.name,
        "files": [f.name for f in files],
        "total": total,
        "fingerprint_cpu_s": {f.name: s for f, s in print_s.items()},
        "results": {k: {**v.__dict__} for k, v in results.items()},
        "estimate_errors": errors,
        "markdown": lines,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES), help="default: all")
    parser.add_argument("--every", type=int, default=1, help="take every Nth release (downsampling)")
    parser.add_argument("--drift", type=float, nargs="+", default=[0.10, 0.15, 0.25])
    args = parser.parse_args(argv)
    for name in args.family or sorted(FAMILIES):
        family = FAMILIES[name]
        encode = Encodes(CACHE / f"rebaseline-encodes-{family.project}-{family.kind}.json")
        report = run(family, args.every, args.drift, encode)
        out = CACHE / f"rebaseline-{name}-every{args.every}.json"
        out.write_text(json.dumps(report, indent=1))
        encode.scratch.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
