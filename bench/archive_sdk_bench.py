"""Archive-aware deltas through the SDK on consecutive real releases (issue 12, "Benchmark").

Each family (3-5 consecutive releases of one artifact: ``.tar.gz`` sdists, wheels, jars, ``.deb``
files) is uploaded in version order into one DeltaSpace of a ``file://`` store with
``create_client(...)`` twice: transforms on (the default) and ``original_compatible=True``. Then every
file is downloaded with a fresh client and an empty cache, and compared with its source by SHA-256.
Beside the SDK, on the same files, each later release against the first one:

* ``xdelta3 -D -9 -S none -e -s first next`` (the Debian binary on PATH): ``-D`` keeps it on the raw
  bytes; without it the binary gunzips gzip inputs and its decoder re-gzips them, which does not give
  the same bytes back: reported apart, with whether the decode matched;
* hdiffpatch (the PyPI ``hdiffpatch`` wrapper of the HDiffPatch library), uncompressed and with zstd,
  when it can be imported (``--hdiffpatch-path`` adds a folder to ``sys.path`` for it);
* :func:`deltaglider.transforms.encode_container` on its own, for the share of deflate streams
  (gzip members, zip members) that reproduced: ``streams_decoded / (streams_decoded + streams_raw)``.

Files are fetched with pip's own client (``pip download --no-deps``) and ``apt-get download`` into
``~/.cache/deltaglider-bench/archive-sdk/`` (``DG_BENCH_CACHE`` moves it); files already there are
kept. Jars are taken out of the ``py4j`` wheels, which ship the py4j jar of each release.

Usage: ``python bench/archive_sdk_bench.py [--families LABEL ...] [--fetch-only] [--report-only]
[--hdiffpatch-path DIR] [--out DIR]``. It prints a Markdown section; ``--out`` (default
``bench/_work/archive_sdk``) keeps ``results.json`` and that section, which ``--report-only`` prints
again. One run of each upload and download: times are single measurements.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("DG_BENCH_CACHE", Path.home() / ".cache" / "deltaglider-bench")) / "archive-sdk"
MB = 1_000_000
PIP = (sys.executable, "-m", "pip", "download", "--no-deps", "-q")
SDIST = ("--no-binary", ":all:")
WHEEL = ("--only-binary", ":all:", "--platform", "manylinux2014_x86_64", "--python-version", "3.11")
HDIFF_MODES = ("none", "zstd")


@dataclass(frozen=True)
class Family:
    label: str
    kind: str  # sdist, wheel, jar, deb
    project: str
    versions: tuple[str, ...]


FAMILIES = [
    Family("click sdist", "sdist", "click", ("8.1.4", "8.1.5", "8.1.6", "8.1.7")),
    Family("requests sdist", "sdist", "requests", ("2.32.0", "2.32.1", "2.32.2", "2.32.3")),
    Family("botocore sdist", "sdist", "botocore", ("1.35.0", "1.35.1", "1.35.2", "1.35.3")),
    Family("boto3 sdist", "sdist", "boto3", ("1.35.0", "1.35.1", "1.35.2", "1.35.3")),
    Family("click wheel", "wheel", "click", ("8.1.4", "8.1.5", "8.1.6", "8.1.7")),
    Family("botocore wheel", "wheel", "botocore", ("1.35.0", "1.35.1", "1.35.2", "1.35.3")),
    Family("numpy cp311 wheel", "wheel", "numpy", ("2.1.0", "2.1.1", "2.1.2", "2.1.3")),
    Family("py4j jar", "jar", "py4j", ("0.10.9.5", "0.10.9.6", "0.10.9.7", "0.10.9.8")),
    Family("libssl3 deb", "deb", "libssl3", ("3.0.17-1~deb12u2", "3.0.20-1~deb12u2", "3.0.22-1~deb12u2")),
]


# --- fetching ---------------------------------------------------------------------------------------


def _only(folder: Path, suffix: str) -> Path | None:
    found = sorted(p for p in folder.iterdir() if p.name.endswith(suffix))
    return found[0] if found else None


def _pip(folder: Path, project: str, version: str, options: tuple[str, ...], suffix: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if (hit := _only(folder, suffix)) is None:
        subprocess.run([*PIP, "-d", str(folder), *options, f"{project}=={version}"], check=True)
        hit = _only(folder, suffix)
    if hit is None:
        raise SystemExit(f"pip fetched no {suffix} for {project}=={version}")
    return hit


def _jar(folder: Path, project: str, version: str) -> Path:
    """The jar a release's wheel ships, copied out under a name that carries the version."""
    dest = folder / f"{project}-{version}.jar"
    if not dest.exists():
        wheel = _pip(folder / "wheel", project, version, ("--only-binary", ":all:"), ".whl")
        with zipfile.ZipFile(wheel) as zf:
            jars = [n for n in zf.namelist() if n.endswith(".jar")]
            if len(jars) != 1:
                raise SystemExit(f"{wheel.name} ships {len(jars)} jars, expected one")
            with zf.open(jars[0]) as src, open(dest.with_suffix(".part"), "wb") as out:
                shutil.copyfileobj(src, out)
        dest.with_suffix(".part").rename(dest)
    return dest


def _deb(folder: Path, package: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if (hit := _only(folder, ".deb")) is None:
        subprocess.run(["apt-get", "download", "-q", f"{package}={version}"], cwd=folder, check=True)
        hit = _only(folder, ".deb")
    if hit is None:
        raise SystemExit(f"apt-get fetched no .deb for {package}={version}")
    return hit


def fetch(family: Family) -> list[Path]:
    files = []
    for version in family.versions:
        folder = CACHE / family.kind / f"{family.project}-{version}"
        if family.kind == "sdist":
            files.append(_pip(folder, family.project, version, SDIST, ".tar.gz"))
        elif family.kind == "wheel":
            files.append(_pip(folder, family.project, version, WHEEL, ".whl"))
        elif family.kind == "jar":
            files.append(_jar(folder, family.project, version))
        else:
            files.append(_deb(folder, family.project, version))
    return files


# --- measuring --------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def folder_bytes(folder: Path) -> int:
    """What the store holds for a DeltaSpace: object bodies only, sidecar metadata left out."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and ".dg-meta" not in p.parts)


@dataclass
class SdkRun:
    mode: str
    stored_total: int = 0
    upload_s: float = 0.0
    download_s: float = 0.0
    matched: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)


def run_sdk(files: list[Path], digests: list[str], work: Path, mode: str) -> SdkRun:
    from deltaglider import create_client

    options: dict[str, Any] = {"original_compatible": True} if mode == "original_compatible" else {}
    store = work / mode / "store"
    store.mkdir(parents=True)
    endpoint = f"file://{store}"
    prefix = "s3://bench/family/"
    client = create_client(
        endpoint_url=endpoint, cache_dir=str(work / mode / "cache"), log_level="WARNING", **options
    )
    run = SdkRun(mode)
    for path in files:
        start = time.perf_counter()
        s = client.upload(path, prefix)
        run.upload_s += time.perf_counter() - start
        run.files.append(
            {
                "name": path.name,
                "size": path.stat().st_size,
                "operation": s.operation,
                "stored": s.stored_size,
                "is_delta": s.is_delta,
                "transform": getattr(s, "transform", None),
                "reason": s.reason,
            }
        )
    run.stored_total = folder_bytes(store / "bench" / "family")
    # A fresh client with an empty cache: every download fetches the reference as a new reader would.
    reader = create_client(
        endpoint_url=endpoint, cache_dir=str(work / mode / "cache2"), log_level="WARNING", **options
    )
    out = work / mode / "out"
    out.mkdir()
    for path, digest, row in zip(files, digests, run.files, strict=True):
        dest = out / path.name
        start = time.perf_counter()
        reader.download(prefix + path.name, dest)
        run.download_s += time.perf_counter() - start
        row["sha256_ok"] = sha256(dest) == digest
        run.matched += row["sha256_ok"]
        dest.unlink()
    return run


def xdelta3_sizes(files: list[Path], work: Path) -> list[int]:
    """Raw-bytes deltas: ``-D``, else the binary gunzips a gzip input itself (see below)."""
    sizes = []
    for path in files[1:]:
        out = work / "x.vcdiff"
        subprocess.run(
            ["xdelta3", "-D", "-9", "-S", "none", "-e", "-f", "-s", str(files[0]), str(path), str(out)],
            check=True,
        )
        sizes.append(out.stat().st_size)
        out.unlink()
    return sizes


def xdelta3_external(files: list[Path], digests: list[str], work: Path) -> list[dict[str, Any]]:
    """What the Debian binary does by default with gzip inputs: it decompresses both with ``gzip -dc``
    and its decoder recompresses with ``gzip -c``; the size, and whether that gives the file back."""
    rows: list[dict[str, Any]] = []
    for path, digest in zip(files[1:], digests[1:], strict=True):
        out, back = work / "x.vcdiff", work / "x.out"
        enc = subprocess.run(
            ["xdelta3", "-9", "-S", "none", "-e", "-f", "-s", str(files[0]), str(path), str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
        if "externally compressed input" not in enc.stderr:
            out.unlink()
            return []
        dec = subprocess.run(
            ["xdelta3", "-d", "-f", "-s", str(files[0]), str(out), str(back)], capture_output=True
        )
        exact = dec.returncode == 0 and sha256(back) == digest
        rows.append({"size": out.stat().st_size, "exact": exact})
        out.unlink()
        back.unlink(missing_ok=True)
    return rows


def load_hdiffpatch(extra_path: str | None) -> tuple[Callable[..., bytes] | None, str]:
    if extra_path:
        sys.path.insert(0, extra_path)
    try:
        import hdiffpatch  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        return None, f"not available here ({exc})"
    from importlib.metadata import version

    return hdiffpatch.diff, f"hdiffpatch {version('hdiffpatch')} (PyPI wrapper)"


def hdiff_sizes(files: list[Path], diff: Callable[..., bytes] | None) -> dict[str, list[int]]:
    if diff is None:
        return {}
    old = files[0].read_bytes()
    sizes: dict[str, list[int]] = {mode: [] for mode in HDIFF_MODES}
    for path in files[1:]:
        new = path.read_bytes()
        for mode in HDIFF_MODES:
            sizes[mode].append(len(diff(old, new, mode)))  # validate=True: the patch is applied once
    return sizes


def stream_counts(files: list[Path], work: Path) -> list[dict[str, Any]]:
    from deltaglider.transforms import encode_container

    rows: list[dict[str, Any]] = []
    for path in files:
        start = time.perf_counter()
        enc = encode_container(path, work / "decoded")
        seconds = time.perf_counter() - start
        if enc is None:
            rows.append({"container": None, "decoded": 0, "raw": 0, "encode_s": seconds})
            continue
        (work / "decoded").unlink()
        rows.append(
            {
                "container": enc.container,
                "decoded": enc.streams_decoded,
                "raw": enc.streams_raw,
                "recipe": len(enc.recipe),
                "encode_s": seconds,
            }
        )
    return rows


def measure(family: Family, diff: Callable[..., bytes] | None) -> dict[str, Any]:
    files = fetch(family)
    digests = [sha256(p) for p in files]
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="_work-") as tmp:
        work = Path(tmp)
        runs = [run_sdk(files, digests, work, mode) for mode in ("transforms", "original_compatible")]
        xdelta = xdelta3_sizes(files, work)
        external = xdelta3_external(files, digests, work)
        hdiff = hdiff_sizes(files, diff)
        streams = stream_counts(files, work)
    return {
        "family": asdict(family),
        "files": [p.name for p in files],
        "sizes": [p.stat().st_size for p in files],
        "sdk": [asdict(r) for r in runs],
        "xdelta3": xdelta,
        "xdelta3_external": external,
        "hdiffpatch": hdiff,
        "streams": streams,
    }


# --- report -----------------------------------------------------------------------------------------


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "-"


def kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB" if n < 10 * 1024 * 1024 else f"{n / (1 << 20):,.1f} MiB"


def family_row(r: dict[str, Any], hdiff_note: str) -> str:
    sizes: list[int] = r["sizes"]
    total = sum(sizes)
    on, compat = r["sdk"]
    later = on["files"][1:]
    used = sorted({f["transform"] or "none" for f in later})
    later_size = sum(sizes[1:])
    later_on = sum(f["stored"] for f in later)
    n_tf = sum(f["transform"] is not None for f in later)
    streams = r["streams"][1:]
    dec = sum(s["decoded"] for s in streams)
    allst = dec + sum(s["raw"] for s in streams)
    x_total = sizes[0] + sum(r["xdelta3"])
    h = r["hdiffpatch"].get("zstd")
    h_total = f"{kib(sizes[0] + sum(h))} ({pct(sizes[0] + sum(h), total)})" if h else hdiff_note
    mb = total / MB
    ok = on["matched"] + compat["matched"]
    return (
        f"| {r['family']['label']} | {len(sizes)} | {mb:.2f} "
        f"| {kib(on['stored_total'])} ({pct(on['stored_total'], total)}) "
        f"| {later_on:,} ({pct(later_on, later_size)}) "
        f"| {kib(compat['stored_total'])} ({pct(compat['stored_total'], total)}) "
        f"| {kib(x_total)} ({pct(x_total, total)}) | {h_total} "
        f"| {', '.join(used)}: {n_tf}/{len(later)} | {dec}/{allst} "
        f"| {on['upload_s'] / mb:.3f} / {compat['upload_s'] / mb:.3f} "
        f"| {on['download_s'] / mb:.3f} / {compat['download_s'] / mb:.3f} "
        f"| {ok}/{2 * len(sizes)} |"
    )


def file_rows(r: dict[str, Any]) -> list[str]:
    on, compat = r["sdk"]
    rows: list[str] = []
    for i, (name, size) in enumerate(zip(r["files"], r["sizes"], strict=True)):
        a, b = on["files"][i], compat["files"][i]
        if i == 0:
            x = h0 = h1 = ext = "(reference)"
            gain = ""
        else:
            e = r["xdelta3_external"]
            ext = (
                f"{e[i - 1]['size']:,} ({pct(e[i - 1]['size'], size)}), "
                + ("exact" if e[i - 1]["exact"] else "**not exact**")
                if e
                else "= -D"
            )
            xs = r["xdelta3"][i - 1]
            x = f"{xs:,} ({pct(xs, size)})"
            hd = r["hdiffpatch"]
            h0 = f"{hd['none'][i - 1]:,} ({pct(hd['none'][i - 1], size)})" if hd else "n/a"
            h1 = f"{hd['zstd'][i - 1]:,} ({pct(hd['zstd'][i - 1], size)})" if hd else "n/a"
            gain = f"{xs / max(a['stored'], 1):.1f}x"
        s = r["streams"][i]
        st = f"{s['decoded']}/{s['decoded'] + s['raw']}" if s["container"] else "-"
        rows.append(
            f"| {name} | {size:,} | {a['stored']:,} ({pct(a['stored'], size)}) | {a['transform'] or '-'} "
            f"| {b['stored']:,} ({pct(b['stored'], size)}) | {x} | {ext} | {h0} | {h1} | {gain} | {st} |"
        )
    return rows


def report(results: list[dict[str, Any]], hdiff_note: str, started: str) -> str:
    lines = [
        f"Run started {started}; {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; {hdiff_note}.",
        "",
        "| family | files | MB | stored, transforms on | of which later files (% of their size) "
        "| stored, original_compatible "
        "| xdelta3 -D -9 (first + deltas) | hdiffpatch zstd (first + deltas) | transform used (later files) "
        "| deflate streams reproduced (later files) | upload s/MB (on / compat) "
        "| download s/MB (on / compat) | SHA-256 matched |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    lines += [family_row(r, hdiff_note) for r in results]
    lines += [
        "",
        "Per file (the first file of each family is the reference; its stored size is what its upload "
        "added: `reference.bin` plus a zero-diff delta):",
        "",
        "| file | bytes | transforms on | transform | original_compatible | xdelta3 -D -9 vs first "
        "| xdelta3 -9 without -D (gunzips), decoded exact? | hdiffpatch none | hdiffpatch zstd "
        "| xdelta3 -D / on | streams reproduced |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines += file_rows(r)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="*", help="labels (or their first word) to run; default all")
    parser.add_argument("--fetch-only", action="store_true", help="download the files and stop")
    parser.add_argument("--report-only", action="store_true", help="print the section from --out's results")
    parser.add_argument("--hdiffpatch-path", help="a folder holding the hdiffpatch package")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "_work" / "archive_sdk")
    args = parser.parse_args()
    chosen = [
        f
        for f in FAMILIES
        if not args.families or f.label in args.families or f.label.split()[0] in args.families
    ]
    if args.report_only:
        saved = json.loads((args.out / "results.json").read_text())
        print(report(saved["families"], saved["hdiffpatch"], saved["started"]))
        return
    if args.fetch_only:
        for family in chosen:
            print(family.label, *(p.name for p in fetch(family)), flush=True)
        return
    diff, hdiff_note = load_hdiffpatch(args.hdiffpatch_path)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for family in chosen:
        start = time.perf_counter()
        results.append(measure(family, diff))
        print(f"# {family.label}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        saved = {"started": started, "hdiffpatch": hdiff_note, "families": results}
        (args.out / "results.json").write_text(json.dumps(saved, indent=1))
    text = report(results, hdiff_note, started)
    (args.out / "section.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
