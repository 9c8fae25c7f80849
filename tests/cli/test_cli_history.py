"""The history of a name on the command line: ``--keep-history`` (or ``DG_KEEP_HISTORY``), ``ls
--versions``, ``cp --version ID``, ``rm --all-versions`` and ``retain --keep-versions``."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from support.variants import CLI_AS_A_PROCESS, CLI_ON_S3_TOO

from .conftest import Cli, Store


def _dumps(folder: Path, count: int) -> list[Path]:
    rng = random.Random(3)
    # Text, so that a version written to standard output compares as it is read back.
    data = bytearray("".join(rng.choice("abcdefgh \n") for _ in range(60_000)).encode())
    made = []
    for i in range(count):
        data[rng.randrange(len(data))] = ord(rng.choice("xyz"))
        data += f"night {i}\n".encode()
        path = folder / f"night-{i}.iso"
        path.write_bytes(bytes(data))
        made.append(path)
    return made


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _overwrite(cli: Cli, files: list[Path], url: str) -> None:
    for path in files:
        cli.ok("--keep-history", "cp", path, url)


@CLI_ON_S3_TOO
def test_ls_versions_and_cp_version_give_back_every_night(store: Store, tmp_path: Path) -> None:
    files = _dumps(tmp_path, 3)
    url = store.base + "db/latest.iso"
    _overwrite(store.cli, files, url)

    listed = store.cli.ok("--json", "ls", "--versions", url).json()["versions"]

    assert [v["sha256"] for v in listed] == [_sha(f) for f in reversed(files)]
    assert [v["is_current"] for v in listed] == [True, False, False]
    shown = store.cli.ok("ls", "--versions", url).stdout.splitlines()
    assert len(shown) == 3 and listed[2]["version_id"] in shown[2] and "current" in shown[0]
    for version, original in zip(listed, reversed(files), strict=True):
        out = tmp_path / f"back-{version['version_id']}"
        store.cli.ok("cp", "--version", version["version_id"], url, out)
        assert _sha(out) == _sha(original)
    # The plain listing shows the file once, and nothing of its history.
    assert [
        line.split()[-1] for line in store.cli.ok("ls", "--recursive", store.base).stdout.splitlines()
    ] == ["db/latest.iso"]


@CLI_AS_A_PROCESS  # the file goes to the process's own standard output
def test_cp_version_to_standard_output(cli: Cli, tmp_path: Path) -> None:
    files = _dumps(tmp_path, 2)
    url = f"file://{tmp_path}/store/db/latest.iso"
    _overwrite(cli, files, url)
    oldest = cli.ok("--json", "ls", "--versions", url).json()["versions"][-1]["version_id"]

    result = cli.ok("cp", "--version", oldest, url, "-")

    assert result.stdout == files[0].read_text()
    assert oldest in result.stderr


def test_rm_keeps_the_version_and_all_versions_removes_the_history(store: Store, tmp_path: Path) -> None:
    files = _dumps(tmp_path, 2)
    url = store.base + "db/latest.iso"
    _overwrite(store.cli, files, url)

    store.cli.ok("--keep-history", "rm", url)

    listed = store.cli.ok("--json", "ls", "--versions", url).json()["versions"]
    assert len(listed) == 2 and not any(v["is_current"] for v in listed)
    assert store.cli.ok("ls", store.base + "db/").stdout.strip() == ""

    store.cli.ok("rm", "--all-versions", url)

    assert store.cli.ok("--json", "ls", "--versions", url).json()["versions"] == []
    assert not [key for key in store.stored() if ".deltaglider/" in key]


def test_retain_keep_versions(store: Store, tmp_path: Path) -> None:
    files = _dumps(tmp_path, 4)
    url = store.base + "db/latest.iso"
    _overwrite(store.cli, files, url)

    done = store.cli.ok("--json", "retain", "--keep-versions", "2", store.base + "db/").json()

    assert len(done["versions_removed"]) == 2 and done["removed"] == []
    listed = store.cli.ok("--json", "ls", "--versions", url).json()["versions"]
    assert [v["sha256"] for v in listed] == [_sha(files[3]), _sha(files[2])]


@pytest.mark.parametrize(
    "argv",
    [
        ["ls", "--versions"],
        ["ls", "--versions", "--recursive", "URL"],
        ["cp", "--version", "00000000000000001-0000000000000000", "URL", "URL2"],
        ["rm", "--all-versions", "--recursive", "URL"],
    ],
)
def test_what_the_history_options_refuse(cli: Cli, tmp_path: Path, argv: list[str]) -> None:
    base = f"file://{tmp_path}/store/db/"
    args = [a.replace("URL2", base + "copy.iso").replace("URL", base + "x.iso") for a in argv]

    result = cli(*args)

    assert result.code == 2, result.stderr
