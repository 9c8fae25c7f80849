"""SIGKILL at random points of uploads, downloads and deletes (local folder and moto's server): the
store and the cache stay readable by later operations, and what is left behind is listed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.crash import CrashRound, CrashSite, Leftovers, crash_round, leftovers
from support.moto_server import MotoServer
from support.workload import Report, Workload

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
        assert after.store == [] and after.multipart == [] and after.part_files == [], after.counts()


@pytest.mark.parametrize(
    ("site_kind", "rounds"),
    [
        # The default run's sample: a few seeded rounds (a child process each, the cost of a round).
        ("local", 3),
        ("s3", 2),
        pytest.param("s3", 3, marks=pytest.mark.slow),
    ],
)
def test_sigkill_short(request: pytest.FixtureRequest, site_kind: str, rounds: int) -> None:
    site: CrashSite = request.getfixturevalue(f"{site_kind}_site")
    report, results = _run(site, rounds=rounds, seed=11, max_kill_s=1.0)
    assert not report.problems, "\n".join(report.violations)
    assert site.kills == rounds
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


#: point -> (files stored first, where the child dies, the operation it dies in). Where: a codec call
#: (``die_in``) or the n-th ``os.replace`` (``die_after_replace``, local store only).
POINTS: dict[str, tuple[list[str], dict[str, object], list[str]]] = {
    # The first file of a DeltaSpace: reference.bin is stored, its zero-diff delta not yet.
    "first-file-encode": ([], {"die_in": "encode"}, ["upload", "app-0.zip"]),
    # A delta encoded in the scratch folder, not yet stored.
    "delta-encode": (["app-0.zip"], {"die_in": "encode"}, ["upload", "app-1.zip"]),
    # A delta's self-check: encoded, being decoded back, not yet stored.
    "delta-self-check": (["app-0.zip"], {"die_in": "decode"}, ["upload", "app-1.zip"]),
    # A download rebuilding a delta into its .dg-part file.
    "download-decode": (["app-0.zip", "app-1.zip"], {"die_in": "decode"}, ["download", "app-1.zip"]),
}
#: The n-th ``os.replace`` of an upload over an older version in the local store. For a whole file
#: these are its commit's renames (new sidecar staged, data renamed, sidecar renamed); a delta's
#: upload renames other files first (1 and 2 when this was written), then its commit's.
COMMIT_POINTS = {
    f"{form}-after-replace-{n}": (setup, {"die_after_replace": n}, ["upload", name])
    for form, setup, name, counts in (
        ("whole", ["notes.txt"], "notes.txt", (1, 2, 3)),
        ("delta", ["app-0.zip", "app-1.zip"], "app-1.zip", (1, 2, 3, 4, 5)),
    )
    for n in counts
}


def _killed_at(site: CrashSite, point: str, tmp_path: Path) -> CrashRound:
    setup, where, (op, name) = {**POINTS, **COMMIT_POINTS}[point]
    space = site.spaces[0]
    workload = Workload(site.client(), site.client(), tmp_path / "setup", site.spaces, seed=21)
    for first in setup:
        workload.upload(space, first)
    site.model = workload.model
    result = crash_round(
        site,
        random.Random(21),
        max_kill_s=30.0,
        file_size=48 * 1024,
        first=[[op, space + name]],
        **where,
    )
    assert site.kills == 1
    assert site.killed_during == {op: 1}, site.killed_during
    # Caught in the act: the operation's scratch folder is still there.
    assert result.before_cleanup.scratch or "die_after_replace" in where
    return result


def _point_params() -> list[object]:
    # On moto's server the default run takes one point; the others go to the slow run.
    params: list[object] = [pytest.param("local", point, id=f"local-{point}") for point in POINTS]
    params += [pytest.param("local", point, id=f"local-{point}") for point in COMMIT_POINTS]
    for point in POINTS:
        marks = [] if point == "download-decode" else [pytest.mark.slow]
        params.append(pytest.param("s3", point, id=f"s3-{point}", marks=marks))
    return params


@pytest.mark.parametrize(("site_kind", "point"), _point_params())
def test_sigkill_at_a_chosen_point(
    request: pytest.FixtureRequest, tmp_path: Path, site_kind: str, point: str
) -> None:
    site: CrashSite = request.getfixturevalue(f"{site_kind}_site")
    result = _killed_at(site, point, tmp_path)
    assert not result.report.problems, "\n".join(result.report.violations)
    _assert_after_cleanup([result])


def test_scratch_folder_of_a_killed_upload_is_removed(local_site: CrashSite, tmp_path: Path) -> None:
    result = _killed_at(local_site, "delta-encode", tmp_path)
    after = result.after_cleanup or leftovers(local_site)
    assert after.scratch == [], after.scratch
