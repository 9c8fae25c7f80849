"""What the command line keeps and removes: a file past ``--max-ratio`` is stored whole under its own
name, ``rm --recursive`` leaves nothing behind (bases included), and ``retain`` keeps the releases
made last, whatever order a parallel upload stored them in."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

from support.artifacts import release_zips

# The fixtures' types live in this folder's conftest; annotated as Any, as the other CLI tests do.
Store = Any
Cli = Any


def test_a_file_past_max_ratio_is_stored_whole_under_its_own_name(store: Store, tmp_path: Path) -> None:
    # The case: a tar that differs from the folder's reference by a few bytes, and a max ratio
    # no delta can meet. It is stored whole, readable by any S3 tool; no further base is made.
    rng = random.Random(4)
    a, b = tmp_path / "a.tar", tmp_path / "b.tar"
    data = bytearray(rng.randbytes(1_200_000))
    a.write_bytes(bytes(data))
    for at in range(0, len(data), 1_200):  # a delta of about 0.7% of the file
        data[at : at + 8] = rng.randbytes(8)
    b.write_bytes(bytes(data))
    cli = store.cli
    cli.ok("cp", a, store.base + "mr/")
    doc = cli.ok("--json", "cp", b, store.base + "mr/", "--max-ratio", "0.001").json()
    assert doc["transfers"][0]["operation"] == "PUT"
    assert store.stored() == ["mr/a.tar.delta", "mr/b.tar", "mr/reference.bin"]
    back = tmp_path / "back.tar"
    cli.ok("cp", store.base + "mr/b.tar", back)
    assert back.read_bytes() == b.read_bytes()


def _remove_raw(store: Store, key: str) -> None:
    """Removes one stored object behind the tool's back (as another program would)."""
    if store.s3 is not None:
        store.s3.delete_object(Bucket=store.bucket, Key=key)
    else:
        (store.root / key).unlink()


def test_rm_recursive_of_a_whole_bucket_leaves_it_empty(store: Store, releases: list[Path]) -> None:
    """The bases of every folder go too, those of a folder left with no file at all included."""
    cli = store.cli
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "app/")
    cli.ok("cp", releases[0], store.base + "orphan/")
    _remove_raw(store, f"orphan/{releases[0].name}.delta")
    assert "orphan/reference.bin" in store.stored()
    cli.ok("rm", "--recursive", store.base)
    assert store.stored() == []


def test_rm_recursive_with_an_exclude_takes_the_removed_familys_base(
    store: Store, releases: list[Path], tmp_path: Path
) -> None:
    cli = store.cli
    others = tmp_path / "others"
    others.mkdir()
    family = release_zips(others, "tool", 3, size=150_000, seed=11)
    wheels = [path.rename(path.with_suffix(".whl")) for path in family]
    cli.ok("cp", "--recursive", releases[0].parent, store.base + "mix/")
    cli.ok("cp", "--recursive", others, store.base + "mix/")
    stored = store.stored()
    bases = [key for key in stored if key.rpartition("/")[2].startswith("reference")]
    cli.ok("rm", "--recursive", store.base + "mix/", "--exclude", "*.whl")
    left = store.stored()
    assert all(not key.endswith((".zip", ".zip.delta")) for key in left)
    # What is left is the wheels and only the bases they need; each wheel reads back.
    for wheel in wheels:
        back = tmp_path / "back" / wheel.name
        cli.ok("cp", store.base + "mix/" + wheel.name, back)
        assert back.read_bytes() == wheel.read_bytes()
    assert len([key for key in left if key.rpartition("/")[2].startswith("reference")]) < len(bases)


def _made_in_order(folder: Path, names: list[str]) -> list[Path]:
    """Files whose modification times follow ``names``' order, a minute apart."""
    files = release_zips(folder, "rich", len(names), size=120_000)
    paths = []
    when = time.time() - 3600
    for path, name in zip(files, names, strict=True):
        renamed = path.with_name(name)
        path.rename(renamed)
        when += 60
        os.utime(renamed, (when, when))
        paths.append(renamed)
    return paths


def test_retain_keeps_the_releases_made_last_whatever_order_they_were_stored_in(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "rel"
    folder.mkdir()
    names = ["rich-13.5.0.zip", "rich-13.6.0.zip", "rich-13.7.0.zip", "rich-13.8.0.zip", "rich-13.9.0.zip"]
    made = _made_in_order(folder, names)
    cli = store.cli
    # Stored newest first, as a parallel upload may happen to do: the upload times say the opposite
    # of the files' own times.
    for path in reversed(made):
        cli.ok("cp", path, store.base + "rich/")
    doc = cli.ok("--json", "retain", "--keep-last", "2", store.base + "rich/").json()
    assert sorted(doc["kept"]) == names[-2:]
    for name in names[-2:]:
        cli.ok("verify", store.base + "rich/" + name)


def test_retain_by_version_order_keeps_the_highest_versions(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "rel"
    folder.mkdir()
    # Made in another order than their versions: the version order decides here.
    _made_in_order(folder, ["app-1.10.zip", "app-1.9.zip", "app-1.2.zip"])
    cli = store.cli
    cli.ok("cp", "--recursive", folder, store.base + "v/")
    doc = cli.ok("--json", "retain", "--keep-last", "1", "--order", "version", store.base + "v/").json()
    assert doc["kept"] == ["app-1.10.zip"]


def test_retain_keep_last_zero_needs_force(cli: Cli, tmp_path: Path, releases: list[Path]) -> None:
    base = f"file://{tmp_path}/store/"
    cli.ok("cp", "--recursive", releases[0].parent, base + "app/")
    refused = cli("retain", "--keep-last", "0", base + "app/")
    assert refused.code == 2 and "--force" in refused.stderr
    assert cli.ok("--json", "ls", base + "app/").json()  # nothing removed
    cli.ok("retain", "--keep-last", "0", "--force", base + "app/")
    assert not list((tmp_path / "store" / "app").glob("*.zip*"))
