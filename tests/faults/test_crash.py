"""SIGKILL at random points of uploads, downloads and deletes (local folder and moto's server): the
store and the cache stay readable by later operations, and what is left behind is listed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.moto_server import MotoServer

from faults.crash import CrashRound, CrashSite, Leftovers, crash_round
from faults.workload import Report

#: Small files keep a round short; a kill still lands anywhere in an upload's many steps.
FILE_SIZE = 64 * 1024


@pytest.fixture
def local_site(tmp_path: Path) -> CrashSite:
    store = tmp_path / "store"
    store.mkdir()
    spaces = [f"file://{store}/a/", f"file://{store}/b/"]
    return CrashSite(root=tmp_path, spaces=spaces, store_dir=store)


@pytest.fixture
def s3_site(tmp_path: Path, fault_moto_server: MotoServer) -> CrashSite:
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=fault_moto_server.url)
    bucket = f"dg-crash-{random.randrange(1 << 40):010x}"
    s3.create_bucket(Bucket=bucket)
    spaces = [f"s3://{bucket}/a/", f"s3://{bucket}/b/"]
    return CrashSite(
        root=tmp_path, spaces=spaces, endpoint_url=fault_moto_server.url, bucket=bucket, s3_client=s3
    )


def _run(site: CrashSite, rounds: int, seed: int, max_kill_s: float) -> tuple[Report, list[CrashRound]]:
    rng = random.Random(seed)
    total = Report()
    results = []
    for _ in range(rounds):
        result = crash_round(site, rng, max_kill_s=max_kill_s, file_size=FILE_SIZE)
        total.merge(result.report)
        results.append(result)
    return total, results


def _assert_after_cleanup(results: list[CrashRound]) -> None:
    cleaned = [r.after_cleanup for r in results if r.after_cleanup is not None]
    for after in cleaned:
        assert isinstance(after, Leftovers)
        assert after.store == [] and after.multipart == [], after.counts()


@pytest.mark.parametrize("site_kind", ["local", "s3"])
def test_sigkill_short(request: pytest.FixtureRequest, site_kind: str) -> None:
    site: CrashSite = request.getfixturevalue(f"{site_kind}_site")
    report, results = _run(site, rounds=3, seed=11, max_kill_s=1.0)
    assert not report.problems, "\n".join(report.violations)
    assert site.kills == 3
    assert report.files_checked > 0
    _assert_after_cleanup(results)


@pytest.mark.slow
@pytest.mark.parametrize("site_kind", ["local", "s3"])
def test_sigkill_long(request: pytest.FixtureRequest, site_kind: str) -> None:
    site: CrashSite = request.getfixturevalue(f"{site_kind}_site")
    report, results = _run(site, rounds=25, seed=12, max_kill_s=2.0)
    assert not report.problems, "\n".join(report.violations)
    _assert_after_cleanup(results)


@pytest.mark.slow
def test_sigkill_multipart_s3(s3_site: CrashSite) -> None:
    """Files above boto3's 8 MiB multipart threshold: a kill between parts leaves a pending upload,
    which cleanup aborts."""
    rng = random.Random(13)
    total = Report()
    results = []
    for _ in range(6):
        result = crash_round(s3_site, rng, max_kill_s=4.0, file_size=9 * 1024 * 1024)
        total.merge(result.report)
        results.append(result)
    assert not total.problems, "\n".join(total.violations)
    _assert_after_cleanup(results)
