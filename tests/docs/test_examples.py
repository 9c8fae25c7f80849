"""Every example under examples/ runs as a script against a local folder store and does what it says."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from deltaglider import codec
from deltaglider.adapters.storage_local import LocalStorage

# From this file, not the installed package: the suite also runs from an unpacked sdist.
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPTS = [
    "ci_publish.py",
    "nightly_backup.py",
    "release_download.py",
    "batch_upload.py",
    "migrate_original.py",
    "mirror_sync.py",
    "savings_stats.py",
]


def run_example(name: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = EXAMPLES / name
    if not script.is_file():
        pytest.skip(f"examples/{name} is not in this tree")
    env = {**os.environ, "DG_CACHE_DIR": str(cwd / "cache"), "TMPDIR": str(cwd)}
    done = subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def stored(folder: Path) -> list[str]:
    """The stored files of a local store folder, as relative paths (metadata sidecars left out)."""
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and ".dg-meta" not in p.parts
    )


def test_every_example_is_tested() -> None:
    if not EXAMPLES.is_dir():
        pytest.skip("examples/ is not in this tree")
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    # The Lambda handler is run by tests/packaging (under Lambda-like limits), the codec demo needs two files.
    assert scripts - {"lambda_handler.py", "codec_demo.py"} == set(SCRIPTS)


def test_ci_publish_stores_later_builds_as_deltas(tmp_path: Path) -> None:
    out = run_example("ci_publish.py", tmp_path / "store", cwd=tmp_path).stdout
    assert "myapp-100.zip" in out and out.count("PUT_DELTA, verified") == 2
    assert stored(tmp_path / "store") == [
        "myapp-100.zip.delta",
        "myapp-101.zip.delta",
        "myapp-102.zip.delta",
        "reference.bin",
    ]


def test_ci_publish_takes_a_dist_folder(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "tool.tar").write_bytes(random.Random(1).randbytes(50_000))
    (dist / "NOTES.txt").write_text("release notes\n")
    (dist / "src.tar.gz").write_bytes(gzip.compress(b"source " * 1000))
    run_example("ci_publish.py", tmp_path / "store", "--dist", dist, "--build", "7", cwd=tmp_path)
    # In name order: small notes stay whole, the first archive starts the reference, and random bytes
    # gain nothing from a delta against it.
    assert stored(tmp_path / "store") == ["NOTES-7.txt", "reference.bin", "src-7.tar.gz.delta", "tool-7.tar"]


def test_nightly_backup_keeps_only_recent_nights(tmp_path: Path) -> None:
    out = run_example("nightly_backup.py", tmp_path / "store", "--date", "2026-03-10", cwd=tmp_path).stdout
    assert "deleted backup-2026-03-01.tar" in out and "deleted backup-2026-03-02.tar" in out
    names = [p for p in stored(tmp_path / "store") if p != "reference.bin"]
    assert names == [f"backup-2026-03-{day:02d}.tar.delta" for day in range(3, 11)]
    # The reference (the first night's bytes) outlives the first night's own entry.
    assert (tmp_path / "store" / "reference.bin").is_file()


def test_nightly_backup_of_a_real_folder(tmp_path: Path) -> None:
    source = tmp_path / "data"
    source.mkdir()
    (source / "db.sqlite").write_bytes(random.Random(2).randbytes(30_000))
    store = tmp_path / "store"
    run_example("nightly_backup.py", store, "--source", source, "--date", "2026-01-01", cwd=tmp_path)
    run_example("nightly_backup.py", store, "--source", source, "--date", "2026-01-20", cwd=tmp_path)
    assert stored(store) == ["backup-2026-01-20.tar.delta", "reference.bin"]


def test_release_download_picks_the_newest_version_and_checks_it(tmp_path: Path) -> None:
    out = run_example(
        "release_download.py", tmp_path / "store", "--dest", tmp_path / "dl", cwd=tmp_path
    ).stdout
    assert "myapp-1.10.zip" in out and "matches SHA256SUMS" in out
    sums = (tmp_path / "store" / "SHA256SUMS").read_text()
    digest = hashlib.sha256((tmp_path / "dl" / "myapp-1.10.zip").read_bytes()).hexdigest()
    assert f"{digest}  myapp-1.10.zip" in sums


def test_release_download_refuses_a_release_that_differs_from_sha256sums(tmp_path: Path) -> None:
    run_example("release_download.py", tmp_path / "store", "--dest", tmp_path / "dl", cwd=tmp_path)
    sums = tmp_path / "sums"
    sums.write_text("0" * 64 + "  myapp-1.10.zip\n")
    storage = LocalStorage(tmp_path)
    head = storage.head("store", "SHA256SUMS")
    assert head is not None
    storage.put_file("store", "SHA256SUMS", sums, {})  # no SHA-256 recorded: read back unchecked
    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "release_download.py"),
            str(tmp_path / "store"),
            "--dest",
            str(tmp_path / "dl2"),
        ],
        cwd=tmp_path,
        env={**os.environ, "DG_CACHE_DIR": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "NOT the published release" in done.stderr
    assert not list((tmp_path / "dl2").iterdir())


def test_batch_upload_makes_one_reference_and_deltas(tmp_path: Path) -> None:
    out = run_example("batch_upload.py", tmp_path / "store", "--workers", "4", cwd=tmp_path).stdout
    assert "12 files, 11 as deltas" in out  # the first one is stored as the reference
    names = stored(tmp_path / "store")
    assert names.count("reference.bin") == 1 and len(names) == 13


def _original_5x_folder(root: Path) -> Path:
    """A folder as the original DeltaGlider 5.x left it: bare snake_case metadata, its reference.bin,
    zero-diff and ordinary deltas, a direct file, and an object with no metadata at all."""
    storage = LocalStorage(root)
    rng = random.Random(3)
    v1 = rng.randbytes(60_000)
    v2 = v1[:1000] + b"patched" + v1[1000:]
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in {"v1": v1, "v2": v2}.items()}
    common = {"tool": "deltaglider/5.2.0", "created_at": "2025-01-02T03:04:05.000006Z"}

    def put(key: str, data: bytes, metadata: dict[str, str]) -> None:
        body = root / "body"
        body.write_bytes(data)
        storage.put_file("old", key, body, metadata)
        body.unlink()

    put("rel/reference.bin", v1, {**common, "source_name": "app-1.0.zip", "file_sha256": sha["v1"]})
    for name, data in [("app-1.0.zip", v1), ("app-1.1.zip", v2)]:
        delta = codec.encode(v1, data)
        put(
            f"rel/{name}.delta",
            delta,
            {
                **common,
                "original_name": name,
                "file_sha256": hashlib.sha256(data).hexdigest(),
                "file_size": str(len(data)),
                "ref_key": "rel/reference.bin",
                "ref_sha256": sha["v1"],
                "delta_size": str(len(delta)),
            },
        )
    notes = b"notes\n"
    put(
        "rel/NOTES.txt",
        notes,
        {
            **common,
            "original_name": "NOTES.txt",
            "file_sha256": hashlib.sha256(notes).hexdigest(),
            "file_size": str(len(notes)),
            "compression": "none",
        },
    )
    put("rel/plain.bin", b"no metadata", {})
    return root / "old" / "rel"


def test_migrate_original_checks_and_copies_every_file(tmp_path: Path) -> None:
    source = _original_5x_folder(tmp_path)
    out = run_example("migrate_original.py", source, tmp_path / "new", cwd=tmp_path).stdout
    assert "verified     app-1.1.zip -> PUT_DELTA (verified)" in out
    assert "unverifiable plain.bin" in out
    assert stored(tmp_path / "new") == [
        "NOTES.txt",
        "app-1.0.zip.delta",
        "app-1.1.zip.delta",
        "plain.bin",
        "reference.bin",
    ]


def test_migrate_original_reports_a_corrupt_file(tmp_path: Path) -> None:
    source = _original_5x_folder(tmp_path)
    reference = source / "reference.bin"
    damaged = bytearray(reference.read_bytes())
    damaged[100] ^= 1
    reference.write_bytes(bytes(damaged))
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "migrate_original.py"), str(source), "--check-only"],
        cwd=tmp_path,
        env={**os.environ, "DG_CACHE_DIR": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "app-1.1.zip" in done.stdout and ("CORRUPT" in done.stdout or "BROKEN" in done.stdout)


def test_mirror_sync_mirrors_and_then_has_nothing_to_do(tmp_path: Path) -> None:
    out = run_example("mirror_sync.py", tmp_path / "store", tmp_path / "mirror", cwd=tmp_path).stdout
    assert "second run: 0 changes" in out
    assert sorted(p.name for p in (tmp_path / "mirror").iterdir()) == [
        "myapp-2.0.zip",
        "myapp-2.1.zip",
        "myapp-2.2.zip",
    ]


def test_savings_stats_reports_each_folder(tmp_path: Path) -> None:
    out = run_example("savings_stats.py", tmp_path / "store", cwd=tmp_path).stdout
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert lines["app/"][1:3] == ["4", "3"] and lines["docs/"][1:3] == ["3", "0"]
    assert lines["total"][1] == "7" and lines["docs/"][-1] == "0.0%"
