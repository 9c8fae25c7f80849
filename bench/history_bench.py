"""History of a name (issue 25): 30 versions of one name, stored three ways.

Two families are generated (seeded, under ``--work``; nothing is downloaded):

- ``db``: 30 nightly dumps of a growing SQLite database (customers, orders, events; each night a
  few hundred to a few thousand rows inserted, some updated, a few deleted; the first dump after 15
  nights of business), each written by the ``sqlite3`` CLI's ``.dump`` piped into GNU ``gzip -6``:
  ``night-01.sql.gz`` .. ``night-30.sql.gz``.
- ``app``: 30 builds of a synthetic source tree (a few hundred text files, two binary blobs; each
  build edits a few files, adds one and bumps the version), each zipped by Info-ZIP ``zip -r -q -X``:
  ``build-01.zip`` .. ``build-30.zip``.

For each family it measures the bytes stored (every file under the family's folder of a fresh
``file://`` store, the ``.dg-meta`` metadata sidecars counted apart) three ways:

- S3-style versioning: every version kept whole, the sum of the files' sizes;
- distinct names: a client with history off uploads each file under its own name into one folder;
- history: a client with ``keep_history=True`` uploads each file under one name (``latest.sql.gz``,
  ``app.zip``), so that each overwrite keeps the old version hidden.

It times each upload, then checks the history: ``list_versions`` must return the 30 versions, newest
first, and downloading each ``version_id`` must give back its file's SHA-256 (it exits non-zero
otherwise). Prints markdown tables; paste them into ``bench/RESULTS.md`` by hand.

Usage: ``PYTHONPATH=<checkout> python bench/history_bench.py [--work DIR] [--runs 1] [--versions 30]
[--family db --family app]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 25
WARM_UP_NIGHTS = 15  # nights of business before the first dump: growth is then some % a night
META_DIR = ".dg-meta"
FAMILIES = {"db": "latest.sql.gz", "app": "app.zip"}

_FIRST = ["Ana", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
          "Kemal", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara",
          "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe"]  # fmt: skip
_LAST = ["Abbott", "Baker", "Castro", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
         "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi",
         "Schmidt", "Tanaka", "Ueda", "Varga", "Weber", "Yilmaz", "Zhang"]  # fmt: skip
_CITIES = [("Lisbon", "PT"), ("Lyon", "FR"), ("Porto", "PT"), ("Berlin", "DE"), ("Hamburg", "DE"),
           ("Madrid", "ES"), ("Seville", "ES"), ("Milan", "IT"), ("Turin", "IT"), ("Osaka", "JP"),
           ("Austin", "US"), ("Denver", "US"), ("Leeds", "GB"), ("Cork", "IE"), ("Ghent", "BE")]  # fmt: skip
_STREETS = ["Oak", "Mill", "Station", "Church", "River", "Park", "Harbour", "King", "Elm", "Bridge"]
_PRODUCTS = ["cable", "adapter", "keyboard", "monitor", "lamp", "chair", "desk", "router", "mouse",
             "headset", "webcam", "dock", "charger", "speaker", "tablet", "stand"]  # fmt: skip
_WORDS = ["please", "deliver", "before", "noon", "leave", "at", "door", "call", "on", "arrival",
          "gift", "wrap", "fragile", "handle", "with", "care", "back", "entrance", "the", "a",
          "customer", "asked", "for", "invoice", "copy", "second", "floor", "no", "weekend",
          "delivery", "repeat", "order", "discount", "applied", "priority", "support", "ticket"]  # fmt: skip
_EVENTS = ["order.created", "order.paid", "order.packed", "order.shipped", "order.delivered",
           "order.refunded", "payment.retry", "email.sent", "support.note"]  # fmt: skip
_STATUS_NEXT = {"pending": "paid", "paid": "packed", "packed": "shipped", "shipped": "delivered"}
_SCHEMA = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
  street TEXT, city TEXT, country TEXT, created_at TEXT NOT NULL, notes TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
  status TEXT NOT NULL, total_cents INTEGER NOT NULL, items TEXT NOT NULL, note TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, kind TEXT NOT NULL,
  payload TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE INDEX events_by_order ON events(order_id);
"""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stamp(night: datetime, rng: random.Random) -> str:
    return (night + timedelta(seconds=rng.randrange(86400))).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(low, high)))


# ---- family "db": nightly dumps of a growing database ----


def _night(db: sqlite3.Connection, n: int, rng: random.Random) -> None:
    """One day of business: new customers, orders and events; orders move on; a few rows go."""
    day = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=n)
    for _ in range(rng.randint(80, 180)):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, country = rng.choice(_CITIES)
        street = f"{rng.randint(1, 240)} {rng.choice(_STREETS)} Street"
        email = f"{first}.{last}{rng.randint(1, 9999)}@example.{country.lower()}".lower()
        notes = _sentence(rng, 3, 12) if rng.random() < 0.3 else None
        db.execute(
            "INSERT INTO customers(name, email, street, city, country, created_at, notes) "
            "VALUES (?,?,?,?,?,?,?)",
            (f"{first} {last}", email, street, city, country, _stamp(day, rng), notes),
        )
    (customers,) = db.execute("SELECT max(id) FROM customers").fetchone()
    for _ in range(rng.randint(300, 600)):
        lines = [
            (f"{rng.choice(_PRODUCTS)}-{rng.randint(100, 999)}", rng.randint(1, 4), rng.randint(199, 45_000))
            for _ in range(rng.randint(1, 4))
        ]
        items = [{"sku": sku, "qty": qty, "cents": cents} for sku, qty, cents in lines]
        total = sum(qty * cents for _sku, qty, cents in lines)
        at = _stamp(day, rng)
        note = _sentence(rng, 4, 14) if rng.random() < 0.2 else None
        cursor = db.execute(
            "INSERT INTO orders(customer_id, status, total_cents, items, note, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (rng.randint(1, customers), "pending", total, json.dumps(items), note, at, at),
        )
        order = cursor.lastrowid
        for kind in ("order.created", *rng.sample(_EVENTS, rng.randint(0, 3))):
            payload = {"by": rng.choice(["web", "app", "api", "ops"]), "ref": rng.getrandbits(64)}
            if kind == "support.note":
                payload["text"] = _sentence(rng, 5, 20)
            db.execute(
                "INSERT INTO events(order_id, kind, payload, at) VALUES (?,?,?,?)",
                (order, kind, json.dumps(payload), _stamp(day, rng)),
            )
    # Open orders move one step on; a few customers change address; a few rows are removed.
    open_orders = db.execute("SELECT id, status FROM orders WHERE status != 'delivered'").fetchall()
    for order_id, status in rng.sample(open_orders, len(open_orders) // 3):
        db.execute(
            "UPDATE orders SET status = ?, updated_at = ? WHERE id = ?",
            (_STATUS_NEXT.get(status, "delivered"), _stamp(day, rng), order_id),
        )
    for _ in range(rng.randint(10, 40)):
        city, country = rng.choice(_CITIES)
        db.execute(
            "UPDATE customers SET street = ?, city = ?, country = ? WHERE id = ?",
            (f"{rng.randint(1, 240)} {rng.choice(_STREETS)} Road", city, country,
             rng.randint(1, customers)),
        )  # fmt: skip
    (orders,) = db.execute("SELECT max(id) FROM orders").fetchone()
    for _ in range(rng.randint(3, 15)):
        gone = rng.randint(1, orders)
        db.execute("DELETE FROM events WHERE order_id = ?", (gone,))
        db.execute("DELETE FROM orders WHERE id = ?", (gone,))
    db.commit()


def make_dumps(out: Path, count: int) -> list[Path]:
    """``night-NN.sql.gz``: the real tools' output, ``sqlite3 DB .dump | gzip -6``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    db_path = out / "shop.db"
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.executescript(_SCHEMA)
    for n in range(-WARM_UP_NIGHTS + 1, 1):  # a database in use before the first dump kept
        _night(db, n, rng)
    files = []
    for n in range(1, count + 1):
        _night(db, n, rng)
        target = out / f"night-{n:02d}.sql.gz"
        with open(target, "wb") as sink:
            dump = subprocess.Popen(["sqlite3", str(db_path), ".dump"], stdout=subprocess.PIPE)
            subprocess.run(["gzip", "-6"], stdin=dump.stdout, stdout=sink, check=True)
            assert dump.stdout is not None
            dump.stdout.close()
            if dump.wait() != 0:
                raise RuntimeError(f"sqlite3 .dump failed for night {n}")
        files.append(target)
    db.close()
    return files


# ---- family "app": zipped builds of a changing source tree ----


def _source_file(rng: random.Random, module: int) -> str:
    lines = [f'"""Module {module}: {_sentence(rng, 4, 10)}."""', "", "from __future__ import annotations", ""]
    for f in range(rng.randint(4, 14)):
        args = ", ".join(f"{rng.choice(_WORDS)}_{i}: int" for i in range(rng.randint(0, 3)))
        lines += [
            "",
            f"def {rng.choice(_PRODUCTS)}_{rng.choice(_WORDS)}_{f}({args}) -> int:",
            f'    """{_sentence(rng, 5, 16).capitalize()}."""',
        ]
        for _ in range(rng.randint(2, 9)):
            name, value = f"{rng.choice(_WORDS)}_{rng.randint(0, 99)}", rng.randint(0, 10**6)
            lines.append(f"    {name} = {value}  # {_sentence(rng, 2, 6)}")
        lines.append(f"    return {rng.randint(0, 1000)}")
    return "\n".join(lines) + "\n"


@dataclass
class _Tree:
    root: Path
    rng: random.Random
    mtimes: dict[Path, float] = field(default_factory=dict)
    modules: int = 0

    def write(self, rel: str, data: bytes, when: float) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.mtimes[path] = when

    def add_module(self, when: float) -> None:
        self.modules += 1
        package = f"pkg{self.modules % 6}"
        text = _source_file(self.rng, self.modules)
        self.write(f"src/app/{package}/mod_{self.modules:04d}.py", text.encode(), when)

    def stamp(self, when: float) -> None:
        """zip records each entry's modification time; set them all, folders' too (which adding a
        file moves), so that each run makes the same archive."""
        for path, mtime in self.mtimes.items():
            os.utime(path, (mtime, mtime))
        for folder in sorted({p.parent for p in self.mtimes}, key=lambda p: -len(p.parts)):
            for up in (folder, *folder.parents):
                if up == self.root.parent:
                    break
                os.utime(up, (when, when))


def make_builds(out: Path, count: int) -> list[Path]:
    """``build-NN.zip``: ``zip -r -q -X`` of the tree after each build's changes (``-X`` leaves out
    the extra fields, whose access times zip's own reads move, so each run makes the same bytes)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED + 1)
    tree_root = out / "app"
    if tree_root.exists():
        subprocess.run(["rm", "-rf", str(tree_root)], check=True)
    tree = _Tree(tree_root, rng)
    start = datetime(2026, 11, 1, 9, tzinfo=UTC).timestamp()
    for _ in range(320):
        tree.add_module(start)
    for d in range(40):
        tree.write(f"docs/page_{d:02d}.md", f"# Page {d}\n\n{_sentence(rng, 200, 600)}\n".encode(), start)
    tree.write("assets/logo.png", rng.randbytes(180_000), start)
    native = bytearray(rng.randbytes(420_000))
    files = []
    for n in range(1, count + 1):
        when = start + n * 86400
        for _ in range(rng.randint(2, 6)):  # edit a few modules: some lines rewritten, some added
            path = rng.choice([p for p in tree.mtimes if p.suffix == ".py" and "mod_" in p.name])
            lines = path.read_text().splitlines()
            for _ in range(rng.randint(1, 5)):
                at = rng.randrange(len(lines))
                if rng.random() < 0.5:
                    lines.insert(at, f"    # {_sentence(rng, 3, 9)}")
                lines[at] = lines[at].replace(str(rng.randint(0, 9)), str(rng.randint(0, 9)))
            tree.write(str(path.relative_to(tree.root)), ("\n".join(lines) + "\n").encode(), when)
        tree.add_module(when)
        for _ in range(rng.randint(2, 8)):  # the native blob relinked: a few regions change
            at = rng.randrange(len(native) - 4096)
            native[at : at + rng.randint(16, 4096)] = rng.randbytes(4096)[: rng.randint(16, 4096)]
        tree.write("lib/native.so", bytes(native), when)
        version = f'__version__ = "1.4.{n}"\n'
        tree.write("src/app/version.py", version.encode(), when)
        tree.write("VERSION", f"1.4.{n}\n".encode(), when)
        tree.stamp(when)
        target = out / f"build-{n:02d}.zip"
        target.unlink(missing_ok=True)
        subprocess.run(["zip", "-r", "-q", "-X", str(target), "app"], cwd=out, check=True)
        files.append(target)
    return files


# ---- measuring ----


@dataclass
class StoreBytes:
    data: int  # every file under the folder but the metadata sidecars
    meta: int  # the .dg-meta sidecars (local store only)
    objects: int


def store_bytes(folder: Path) -> StoreBytes:
    data = meta = objects = 0
    for dirpath, _dirs, names in os.walk(folder):
        in_meta = META_DIR in Path(dirpath).relative_to(folder).parts
        for name in names:
            size = (Path(dirpath) / name).stat().st_size
            if in_meta:
                meta += size
            else:
                data += size
                objects += 1
    return StoreBytes(data, meta, objects)


@dataclass
class Run:
    way: str
    bytes: StoreBytes
    upload_s: list[float]
    summary_stored: int  # the sum of UploadSummary.stored_size
    deltas: int
    download_s: list[float] = field(default_factory=list)
    listed_stored: int | None = None  # the sum of list_versions' stored_size (history only)


def _client(work: Path, keep_history: bool) -> Any:
    from deltaglider import create_client

    return create_client(cache_dir=str(work / "cache"), log_level="WARNING", keep_history=keep_history)


def upload_all(files: list[Path], store: Path, keep_history: bool, name: str | None, verbose: bool) -> Run:
    """Uploads ``files`` in order into the fresh folder store ``store``/fam/, under ``name`` if
    given (history), else under each file's own name."""
    client = _client(store.parent / (store.name + "-cache"), keep_history)
    url = f"file://{store}/fam/"
    seconds, stored, deltas = [], 0, 0
    for path in files:
        t = time.perf_counter()
        summary = client.upload(path, url, name=name)
        seconds.append(time.perf_counter() - t)
        stored += summary.stored_size
        deltas += summary.is_delta
        if verbose:
            print(
                f"    {path.name}: {summary.operation} {summary.stored_size} B of {summary.original_size}"
                f" ({summary.transform or 'raw'}) {seconds[-1]:.2f} s: {summary.reason}"
            )
    way = "history" if keep_history else "distinct"
    return Run(way, store_bytes(store / "fam"), seconds, stored, deltas)


def check_history(files: list[Path], store: Path, name: str, run: Run) -> None:
    """The history must hold every version, newest first, each rebuilding to its file's SHA-256."""
    client = _client(store.parent / (store.name + "-check-cache"), True)
    url = f"file://{store}/fam/{name}"
    versions = client.list_versions(url)
    expected = [_sha256(f) for f in reversed(files)]
    if len(versions) != len(files):
        raise SystemExit(f"FAIL {url}: {len(versions)} versions listed, {len(files)} uploaded")
    for i, (version, sha) in enumerate(zip(versions, expected, strict=True)):
        if version.sha256 != sha or version.is_current != (i == 0):
            raise SystemExit(f"FAIL {url}: version {i} {version!r} listed, sha256 {sha} expected")
        dest = store.parent / f"{store.name}-got-{i:02d}"
        t = time.perf_counter()
        client.download(url, dest, version=version.version_id)
        run.download_s.append(time.perf_counter() - t)
        got = _sha256(dest)
        dest.unlink()
        if got != sha or version.size != files[len(files) - 1 - i].stat().st_size:
            raise SystemExit(f"FAIL {url}: version {version.version_id} rebuilt to {got}, not {sha}")
    run.listed_stored = sum(v.stored_size for v in versions)
    created = [v.created_at for v in versions]
    if created != sorted(created, reverse=True):
        raise SystemExit(f"FAIL {url}: versions not newest first: {created}")


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f}"


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else float("nan")


def bench_family(
    family: str, files: list[Path], work: Path, run_no: int, ways: list[str], *, verbose: bool
) -> list[Run]:
    runs: dict[str, Run] = {}
    # Alternate which way goes first, so that neither always meets the colder (or busier) machine.
    for way in ways if run_no % 2 else list(reversed(ways)):
        store = work / f"store-{family}-{way}-{run_no}"
        if store.exists():
            subprocess.run(["rm", "-rf", str(store)], check=True)
        store.mkdir(parents=True)
        keep = way == "history"
        run = upload_all(files, store, keep, FAMILIES[family] if keep else None, verbose)
        if keep:
            check_history(files, store, FAMILIES[family], run)
        runs[way] = run
        where = f"{_mb(run.bytes.data)} MB stored in {run.bytes.objects} files"
        print(
            f"  {family} run {run_no} {way}: {where} (+{_mb(run.bytes.meta)} MB sidecars), {run.deltas}"
            f" deltas, upload {_mean(run.upload_s):.3f} s/file, listed stored_size {run.listed_stored}",
            flush=True,
        )
    return [runs[way] for way in ways]


def _iter_rows(family: str, files: list[Path], runs: list[list[Run]]) -> Iterator[str]:
    whole = sum(f.stat().st_size for f in files)
    first = runs[0]
    for way_i, run in enumerate(first):
        data = [r[way_i].bytes.data for r in runs]
        if len(set(data)) != 1:
            print(f"  note: {family} {run.way} stored bytes differ between runs: {data}", file=sys.stderr)
        up = [statistics.fmean(r[way_i].upload_s) for r in runs]
        down = [statistics.fmean(r[way_i].download_s) for r in runs if r[way_i].download_s]
        yield (
            f"| {family} | {run.way} | {_mb(run.bytes.data)} | {100 * run.bytes.data / whole:.1f}% |"
            f" {_mb(run.bytes.meta)} | {run.bytes.objects} | {run.deltas} | {_mb(run.summary_stored)} |"
            f" {statistics.median(up):.3f} | {f'{statistics.median(down):.3f}' if down else '-'} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--versions", type=int, default=30)
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES))
    parser.add_argument("--way", action="append", choices=["distinct", "history"])
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print each upload's summary")
    args = parser.parse_args()
    os.environ.pop("DG_KEEP_HISTORY", None)  # the distinct-names client must have history off
    families = args.family or ["db", "app"]
    ways = args.way or ["distinct", "history"]
    with tempfile.TemporaryDirectory() as tmp:
        work = (args.work or Path(tmp)).resolve()
        tables: list[str] = []
        sizes: list[str] = []
        for family in families:
            t = time.perf_counter()
            maker = make_dumps if family == "db" else make_builds
            files = maker(work / f"data-{family}", args.versions)
            total = sum(f.stat().st_size for f in files)
            first, last = files[0].stat().st_size, files[-1].stat().st_size
            took = time.perf_counter() - t
            print(f"{family}: {len(files)} files made in {took:.1f} s, {_mb(first)} .. {_mb(last)} MB")
            sizes.append(
                f"| {family} | {files[0].name} .. {files[-1].name} | {_mb(files[0].stat().st_size)} |"
                f" {_mb(files[-1].stat().st_size)} | {_mb(total)} |"
            )
            if args.generate_only:
                continue
            runs = [
                bench_family(family, files, work, r + 1, ways, verbose=args.verbose) for r in range(args.runs)
            ]
            whole = f"| {family} | S3-style versioning (whole copies) | {_mb(total)} | 100.0% |"
            tables.append(f"{whole} - | {len(files)} | 0 | - | - | - |")
            tables.extend(_iter_rows(family, files, runs))
        print("\n| family | files | first MB | last MB | all versions MB |\n|---|---|---|---|---|")
        print("\n".join(sizes))
        if tables:
            print(
                "\n| family | way | stored MB | of whole copies | sidecars MB | files in store | deltas |"
                " sum of stored_size MB | upload s/file | download s/version |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|")
            print("\n".join(tables))
            print(f"\n{args.runs} run(s); times are medians over runs of each run's mean.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
