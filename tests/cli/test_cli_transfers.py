"""cp, ls, stats, verify, rm and sync end to end, on a folder store and on moto's S3 server."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from support.families import drifting_family
from support.variants import CLI_AS_A_PROCESS_TOO, CLI_ON_S3_TOO

#: The ``store`` fixture's type (tests/cli/conftest.py), which test modules cannot import.
Store = Any


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes, by relative name."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@CLI_ON_S3_TOO
@CLI_AS_A_PROCESS_TOO
def test_cp_recursive_up_and_down_round_trips_with_deltas(
    store: Store, releases: list[Path], tmp_path: Path
) -> None:
    cli = store.cli
    up = cli.ok("--json", "cp", "--recursive", releases[0].parent, store.base + "app/")
    doc = up.json()
    assert doc["ok"] is True and doc["summary"] == {"files": 4, "failed": 0}
    assert sorted(t["destination"] for t in doc["transfers"]) == [
        f"{store.base}app/{p.name}" for p in releases
    ]
    assert all(t["status"] == "ok" for t in doc["transfers"])
    assert sum(t["is_delta"] for t in doc["transfers"]) >= 3

    listing = cli.ok("ls", store.base + "app/", "--summarize").stdout
    for path in releases:
        assert path.name in listing
    assert "Total Objects: 4" in listing

    down = tmp_path / "down"
    cli.ok("cp", "--recursive", store.base + "app/", f"{down}/")
    assert tree(down) == tree(releases[0].parent)
    assert "app/reference.bin" in store.stored()


def test_cp_one_file_into_a_folder_or_under_a_new_name(
    store: Store, releases: list[Path], tmp_path: Path
) -> None:
    cli = store.cli
    cli.ok("cp", releases[0], store.base + "app/")
    cli.ok("cp", releases[1], store.base + "app/renamed.zip")
    names = [e["name"] for e in cli.ok("--json", "ls", store.base + "app/").json()["entries"]]
    assert names == [releases[0].name, "renamed.zip"]

    out = tmp_path / "out"
    cli.ok("cp", store.base + "app/renamed.zip", f"{out}/")  # a folder that does not exist yet
    cli.ok("cp", store.base + "app/renamed.zip", out / "again.zip")
    assert (out / "renamed.zip").read_bytes() == releases[1].read_bytes()
    assert (out / "again.zip").read_bytes() == releases[1].read_bytes()


def test_cp_between_stores_and_from_a_folder_store(
    store: Store, releases: list[Path], tmp_path: Path
) -> None:
    cli = store.cli
    other = tmp_path / "other-store"
    cli.ok("cp", "--recursive", releases[0].parent, f"file://{other}/rel/")
    cli.ok("cp", "--recursive", f"file://{other}/rel/", store.base + "copy/")
    cli.ok("cp", store.base + "copy/" + releases[2].name, store.base + "single/one.zip")
    assert cli.ok("verify", store.base + "copy/").stdout.count("ok: ") == 4
    back = tmp_path / "back.zip"
    cli.ok("cp", store.base + "single/one.zip", back)
    assert back.read_bytes() == releases[2].read_bytes()


def test_ls_shows_sizes_savings_and_sub_folders(store: Store, releases: list[Path]) -> None:
    cli = store.cli
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "app/")
    cli.ok("cp", releases[0], store.base + "top.zip")
    entries = cli.ok("--json", "ls", store.base).json()["entries"]
    assert [(e["name"], e["is_prefix"]) for e in entries] == [("app/", True), ("top.zip", False)]
    text = cli.ok("ls", store.base).stdout.splitlines()
    assert text[0].split() == ["PRE", "app/"]

    files = cli.ok("--json", "ls", "--recursive", store.base).json()
    assert [e["name"] for e in files["entries"]] == [f"app/{p.name}" for p in releases] + ["top.zip"]
    later = next(e for e in files["entries"] if e["name"] == f"app/{releases[3].name}")
    assert later["is_delta"] is True
    assert later["original_size"] == releases[3].stat().st_size
    assert later["stored_size"] < later["original_size"] // 10
    assert later["savings_percent"] > 90

    human = cli.ok("ls", "--recursive", "--human-readable", store.base).stdout
    assert "KiB" in human


def test_stats_counts_original_and_stored_bytes(store: Store, releases: list[Path]) -> None:
    cli = store.cli
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "app/")
    doc = cli.ok("--json", "stats", store.base).json()
    assert doc["command"] == "stats"
    assert doc["files"] == 4 and doc["references"] == 1
    assert doc["original_bytes"] == sum(p.stat().st_size for p in releases)
    assert doc["stored_bytes"] < doc["original_bytes"] / 2
    assert doc["savings_percent"] > 50
    assert "files:" in cli.ok("stats", store.base + "app/").stdout


def test_verify_exits_1_when_a_stored_file_is_corrupt(store: Store, releases: list[Path]) -> None:
    cli = store.cli
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "app/")
    assert cli.ok("verify", store.base + "app/" + releases[1].name).stdout.startswith("ok: ")
    # Corrupt the whole reference: every delta then rebuilds to wrong bytes.
    if store.s3 is not None:
        key = "app/reference.bin"
        head = store.s3.head_object(Bucket=store.bucket, Key=key)
        body = bytearray(store.s3.get_object(Bucket=store.bucket, Key=key)["Body"].read())
        body[1000] ^= 0xFF
        store.s3.put_object(Bucket=store.bucket, Key=key, Body=bytes(body), Metadata=head["Metadata"])
    else:
        assert store.root is not None
        path = store.root / "app" / "reference.bin"
        body = bytearray(path.read_bytes())
        body[1000] ^= 0xFF
        path.write_bytes(bytes(body))
    result = cli("--json", "verify", store.base + "app/", "--cache-dir", str(Path(cli.cwd) / "fresh-cache"))
    assert result.code == 1, result.stderr
    doc = result.json()
    assert doc["ok"] is False
    assert {r["status"] for r in doc["results"]} <= {"mismatch", "error"}


def test_rm_recursive_removes_deltas_then_the_reference(store: Store, releases: list[Path]) -> None:
    cli = store.cli
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "app/")
    before = store.stored()
    dry = cli.ok("--json", "rm", "--recursive", "--dryrun", store.base + "app/").json()
    assert dry["dryrun"] is True
    assert dry["deleted"][-1] == store.base + "app/reference.bin"  # the reference goes last
    assert store.stored() == before

    # Keeping one file keeps the reference it needs.
    cli.ok("rm", "--recursive", store.base + "app/", "--exclude", f"*{releases[3].name}")
    assert store.stored() == [f"app/{releases[3].name}.delta", "app/reference.bin"]
    assert cli.ok("verify", store.base + "app/" + releases[3].name).code == 0

    result = cli.ok("rm", store.base + "app/" + releases[3].name)
    assert "delete: " + store.base + "app/reference.bin" in result.stdout
    assert store.stored() == []


@CLI_ON_S3_TOO
def test_sync_up_transfers_only_what_changed(store: Store, releases: list[Path], tmp_path: Path) -> None:
    cli = store.cli
    local = tmp_path / "site"
    shutil.copytree(releases[0].parent, local)
    (local / "notes.txt").write_text("hello")
    (local / "build.log").write_text("noise")
    target = store.base + "site/"

    first = cli.ok("--json", "sync", local, target, "--exclude", "*.log").json()
    assert first["summary"]["copied"] == 5 and first["summary"]["unchanged"] == 0
    assert "site/build.log" not in store.stored()

    again = cli.ok("--json", "sync", local, target, "--exclude", "*.log").json()
    assert again["summary"] == {"copied": 0, "deleted": 0, "unchanged": 5, "failed": 0}
    assert {a["reason"] for a in again["actions"]} == {"same SHA-256"}

    # Same size, other bytes: only the SHA-256 can tell.
    (local / "notes.txt").write_text("HELLO")
    (local / releases[0].name).unlink()
    dry = cli.ok("--json", "sync", "--delete", "--dryrun", local, target, "--exclude", "*.log").json()
    assert sorted((a["action"], a["name"]) for a in dry["actions"] if a["action"] != "skip") == [
        ("copy", "notes.txt"),
        ("delete", releases[0].name),
    ]
    changed = cli.ok("--json", "sync", "--delete", local, target, "--exclude", "*.log").json()
    assert changed["summary"]["copied"] == 1 and changed["summary"]["deleted"] == 1
    down = tmp_path / "down"
    cli.ok("cp", "--recursive", target, f"{down}/")
    assert tree(down) == {k: v for k, v in tree(local).items() if k != "build.log"}


def test_sync_down_and_size_only(store: Store, releases: list[Path], tmp_path: Path) -> None:
    cli = store.cli
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "rel/")
    mirror = tmp_path / "mirror"
    first = cli.ok("--json", "sync", store.base + "rel/", mirror).json()
    assert first["summary"]["copied"] == 4
    assert tree(mirror) == tree(releases[0].parent)

    (mirror / "extra.txt").write_text("mine")
    again = cli.ok("--json", "sync", store.base + "rel/", mirror, "--size-only").json()
    assert again["summary"]["copied"] == 0 and again["summary"]["deleted"] == 0
    assert {a["reason"] for a in again["actions"]} == {"same size"}
    cli.ok("sync", "--delete", store.base + "rel/", mirror)
    assert not (mirror / "extra.txt").exists()


def test_no_delta_stores_files_whole(store: Store, releases: list[Path]) -> None:
    doc = store.cli.ok(
        "--no-delta", "--json", "cp", "--recursive", releases[0].parent, store.base + "w/"
    ).json()
    assert not any(t["is_delta"] for t in doc["transfers"])
    # No file became a reference: every file is stored whole under its own name.
    assert not any(
        key.endswith(("reference.bin", ".delta")) for key in store.stored() if "/.dg-meta/" not in key
    )


@pytest.mark.slow
def test_ls_follows_every_page(s3_store: Store) -> None:
    store = s3_store  # S3 pages listings by 1000 keys
    count = 1_050
    for index in range(count):
        store.s3.put_object(Bucket=store.bucket, Key=f"many/f{index:05d}.txt", Body=b"x")
    result = store.cli.ok("ls", store.base + "many/", "--summarize")
    assert f"Total Objects: {count}" in result.stdout
    assert result.stdout.count(".txt") == count


def test_sync_delete_of_every_file_takes_the_reference_last(
    store: Store, releases: list[Path], tmp_path: Path
) -> None:
    cli = store.cli
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "app/")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli.ok("sync", "--delete", empty, store.base + "app/")
    assert result.stdout.splitlines()[-1] == f"delete: {store.base}app/reference.bin"
    assert "warning" not in result.stderr
    assert store.stored() == []


@CLI_ON_S3_TOO
def test_ls_of_a_url_without_slash_lists_by_prefix(store: Store, releases: list[Path]) -> None:
    cli = store.cli
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "app/")
    assert cli.ok("ls", store.base + "ap").stdout.split() == ["PRE", "app/"]
    one = cli.ok("--json", "ls", store.base + "app/" + releases[2].name).json()
    assert [e["name"] for e in one["entries"]] == [releases[2].name]


def test_rm_never_takes_a_users_file_named_like_the_reference(
    store: Store, releases: list[Path], tmp_path: Path
) -> None:
    cli = store.cli
    own = tmp_path / "reference.bin"
    own.write_bytes(b"my own file, not a reference")
    cli.ok("cp", releases[0], store.base + "app/")
    cli.ok("cp", own, store.base + "app/")
    cli.ok("rm", store.base + "app/" + releases[0].name)
    back = tmp_path / "back.bin"
    cli.ok("cp", store.base + "app/reference.bin", back)
    assert back.read_bytes() == own.read_bytes()


@CLI_ON_S3_TOO
def test_rm_recursive_leaves_nothing_behind(store: Store, releases: list[Path]) -> None:
    cli = store.cli
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "a/b/")
    cli.ok("cp", releases[0], store.base + "a/top.zip")
    doc = cli.ok("--json", "rm", "--recursive", store.base + "a/").json()
    # Both references go, after every file.
    assert sorted(doc["deleted"][-2:]) == [f"{store.base}a/b/reference.bin", f"{store.base}a/reference.bin"]
    assert store.stored() == []


def test_a_stored_name_escaping_the_download_folder_fails_alone(s3_store: Store, tmp_path: Path) -> None:
    store = s3_store  # S3 keys may hold '..'; a folder store cannot
    store.s3.put_object(Bucket=store.bucket, Key="dl/fine.txt", Body=b"fine")
    store.s3.put_object(Bucket=store.bucket, Key="dl/../../escape.txt", Body=b"evil")
    out = tmp_path / "deep" / "out"
    for command in ("cp", "sync"):
        result = store.cli(
            command, *(["--recursive"] if command == "cp" else []), store.base + "dl/", f"{out}/"
        )
        assert result.code == 1, result.stderr
        assert "escape.txt" in result.stderr and "Traceback" not in result.stderr
        assert (out / "fine.txt").read_bytes() == b"fine"
        assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "deep" / "escape.txt").exists()


def test_cp_recursive_makes_the_first_file_the_reference_whatever_the_workers(
    store: Store, releases: list[Path]
) -> None:
    # Threads must not race for a new folder's reference: the first file in name order becomes it.
    doc = store.cli.ok(
        "--json", "cp", "--recursive", "--workers", "8", releases[0].parent, store.base + "app/"
    )
    by_source = {Path(t["source"]).name: t for t in doc.json()["transfers"]}
    first = sorted(by_source)[0]
    assert by_source[first]["key"].endswith("reference.bin")
    assert all(t["is_delta"] for name, t in by_source.items() if name != first)


def test_cp_recursive_seeds_a_folder_with_its_oldest_release_in_version_order(
    cli: Any, tmp_path: Path, releases: list[Path]
) -> None:
    # In name order app-1.10.zip comes first; in version order app-1.8.zip does, and that is the
    # release a family's later files resemble most.
    folder = tmp_path / "renamed"
    folder.mkdir()
    for path, version in zip(releases, ("1.8", "1.9", "1.10", "1.11"), strict=True):
        path.rename(folder / f"app-{version}.zip")
    target = f"file://{tmp_path / 'store'}/app/"
    doc = cli.ok("--json", "cp", "--recursive", "--workers", "8", folder, target).json()
    by_source = {Path(t["source"]).name: t for t in doc["transfers"]}
    assert by_source["app-1.8.zip"]["key"].endswith("reference.bin")
    assert all(t["is_delta"] for name, t in by_source.items() if name != "app-1.8.zip")


def test_retain_keeps_the_newest_and_repack_rewrites(store: Store, tmp_path: Path) -> None:
    cli = store.cli
    family = drifting_family(tmp_path, 5)
    for path in family:  # one at a time: their dates order them
        cli.ok("cp", path, store.base + "app/")
    before = store.stored()
    assert any(key.startswith("app/reference-") for key in before)  # the family drifted: more bases

    dry = cli.ok("--json", "retain", store.base + "app/", "--keep-last", "2", "--dryrun").json()
    assert dry["dryrun"] is True and sorted(dry["kept"]) == [p.name for p in family[-2:]]
    assert dry["bytes_freed"] > 0
    assert store.stored() == before
    text = cli.ok("retain", store.base + "app/", "--keep-last", "2", "--dryrun").stdout
    assert "(dryrun) delete: " + store.base + "app/" + family[0].name in text and "would free" in text

    done = cli.ok("--json", "retain", store.base + "app/", "--keep-last", "2").json()
    assert (done["removed"], done["bytes_freed"]) == (dry["removed"], dry["bytes_freed"])
    assert sorted(e for e in store.stored() if not e.startswith("app/reference")) == [
        f"app/{p.name}.delta" for p in family[-2:]
    ]
    for path in family[-2:]:
        assert cli.ok("verify", store.base + "app/" + path.name).code == 0

    repacked = cli.ok("--json", "repack", store.base + "app/").json()
    assert repacked["ok"] and sorted(repacked["files"]) == [p.name for p in family[-2:]]
    for path in family[-2:]:
        back = tmp_path / ("back-" + path.name)
        cli.ok("cp", store.base + "app/" + path.name, back)
        assert back.read_bytes() == path.read_bytes()

    assert cli("retain", store.base + "app/").code == 2  # nothing to keep said: a usage error


def test_ls_summarize_counts_every_base_of_the_folder(store: Store, tmp_path: Path) -> None:
    """A drifting family gets bases besides reference.bin; a listing hides them all, and its totals
    must count them all (as stats does), not reference.bin alone."""
    folder = tmp_path / "drift"
    folder.mkdir()
    drifting_family(folder, 6, step=0.08)
    cli = store.cli
    cli.ok("cp", "--recursive", folder, store.base + "drift/")
    bases = [key for key in store.stored() if "/reference" in key and "/.dg-meta/" not in key]
    assert len(bases) > 1  # reference.bin and at least one newer base

    listed = cli.ok("--json", "ls", store.base + "drift/", "--summarize").json()["summary"]
    stats = cli.ok("--json", "stats", store.base + "drift/").json()

    assert listed["stored_bytes"] == stats["stored_bytes"]
    assert listed["original_bytes"] == stats["original_bytes"]


def test_ls_cp_and_stats_agree_on_what_a_file_that_became_a_base_costs(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "drift"
    folder.mkdir()
    first, drifted = drifting_family(folder, 2, step=0.3)  # the second becomes a snapshot of its own
    cli = store.cli
    alone = cli.ok("--json", "cp", first, store.base + "solo/").json()["transfers"][0]
    sent = [
        cli.ok("--json", "cp", path, store.base + "d/").json()["transfers"][0] for path in (first, drifted)
    ]

    # A folder's only file is its reference: its line costs the reference, as cp said.
    solo = cli.ok("--json", "ls", "--summarize", store.base + "solo/").json()
    (line,) = solo["entries"]
    assert line["is_reference"] and line["stored_size"] == alone["stored_size"] > first.stat().st_size
    assert line["savings_percent"] == alone["savings_percent"] == 0.0
    assert solo["summary"]["stored_bytes"] == line["stored_size"]
    assert "0.0%" in cli.ok("ls", store.base + "solo/").stdout

    listed = cli.ok("--json", "ls", "--summarize", store.base + "d/").json()
    by_name = {entry["name"]: entry for entry in listed["entries"]}
    # The snapshot exists for the drifted file alone; reference.bin serves both files, and is counted
    # once, in the total.
    assert by_name[drifted.name]["stored_size"] == sent[1]["stored_size"]
    assert by_name[drifted.name]["savings_percent"] == sent[1]["savings_percent"]
    assert by_name[first.name]["stored_size"] < 100
    summary = listed["summary"]
    assert summary["reference_bytes"] == first.stat().st_size
    assert (
        summary["stored_bytes"]
        == sum(e["stored_size"] for e in by_name.values()) + summary["reference_bytes"]
    )
    stats = cli.ok("--json", "stats", store.base + "d/").json()
    assert stats["stored_bytes"] == summary["stored_bytes"]
    assert (stats["files"], stats["deltas"], stats["stored_as_references"], stats["whole"]) == (2, 1, 1, 0)
