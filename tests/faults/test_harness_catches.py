"""The harnesses can fail: each is shown a broken store and must say so.

A fault harness that injects nothing, or a final check that reads nothing, would pass every test in
this package; these plant the damage the checks exist for.
"""

from __future__ import annotations

import random
from pathlib import Path

from support.crash import CrashSite, crash_round, leftovers
from support.fault_clients import Endpoint
from support.workload import Workload


def test_fault_check_catches_a_corrupted_object(endpoint: Endpoint, tmp_path: Path) -> None:
    """A stored delta whose bytes changed behind the client's back (metadata kept) must be found
    unreadable by the final read."""
    bucket = endpoint.create_bucket()
    space = f"s3://{bucket}/a/"
    workload = Workload(endpoint.client(), endpoint.client(faulty=False), tmp_path, [space], seed=3)
    workload.upload(space, "app-0.zip")
    s3 = endpoint.boto(faulty=False)
    stored = s3.get_object(Bucket=bucket, Key="a/app-0.zip.delta")
    body = bytearray(stored["Body"].read())
    body[len(body) // 2] ^= 0xFF
    s3.put_object(Bucket=bucket, Key="a/app-0.zip.delta", Body=bytes(body), Metadata=stored["Metadata"])
    report = workload.check()
    assert report.problems["unreadable"] == 1, report.as_dict()


def test_fault_check_catches_a_lost_file(endpoint: Endpoint, tmp_path: Path) -> None:
    bucket = endpoint.create_bucket()
    space = f"s3://{bucket}/a/"
    workload = Workload(endpoint.client(), endpoint.client(faulty=False), tmp_path, [space], seed=4)
    workload.upload(space, "notes.txt")
    endpoint.boto(faulty=False).delete_object(Bucket=bucket, Key="a/notes.txt")  # behind its back
    report = workload.check()
    assert report.problems["lost"] == 1 and report.problems["unlisted"] == 1, report.as_dict()


def test_crash_check_catches_damage_and_leftovers(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    site = CrashSite(root=tmp_path, spaces=[f"file://{store}/a/"], store_dir=store)
    setup = Workload(site.client(), site.client(), tmp_path / "setup", site.spaces, seed=5)
    setup.upload(site.spaces[0], "app-0.zip")
    site.model = setup.model
    zero_diff = store / "a" / "app-0.zip.delta"
    data = bytearray(zero_diff.read_bytes())
    data[len(data) // 2] ^= 0xFF
    zero_diff.write_bytes(bytes(data))
    (store / "a" / ".dg-meta" / "planted.tmp").write_bytes(b"x")
    assert "a/.dg-meta/planted.tmp" in leftovers(site).store
    result = crash_round(site, random.Random(5), max_kill_s=0.0, file_size=16 * 1024)
    assert result.report.problems, result.report.as_dict()
