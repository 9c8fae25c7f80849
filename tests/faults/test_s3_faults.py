"""Uploads, downloads and deletes through a fault-injecting proxy in front of moto's server.

Properties, whatever the fault: a failed operation raises one of ``deltaglider.errors`` (never a raw
botocore/urllib3 error) and leaves nothing half-visible; every file reported stored reads back byte
for byte over a clean connection; a download writes its destination only when the bytes are exact.

Two drivers: a matrix that puts each kind of fault on each kind of request of each flow (rules), and a
seeded random mix of operations with random faults (a short seeded sample here, the long schedules
under ``-m slow``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fault_clients import STALL_S, Endpoint
from support.fault_proxy import FAULT_KINDS, FaultPlan, Rule
from support.workload import Report, Workload

#: scenario -> (files uploaded first, the operation, which request of it gets the fault).
SCENARIOS: dict[str, tuple[list[str], tuple[str, str], dict[str, str]]] = {
    "upload-first": ([], ("upload", "app-0.zip"), {"method": "PUT", "path": r"reference\.bin$"}),
    "upload-zero-diff": ([], ("upload", "app-0.zip"), {"method": "PUT", "path": r"\.delta$"}),
    "upload-delta": (["app-0.zip"], ("upload", "app-1.zip"), {"method": "PUT", "path": r"\.delta$"}),
    "upload-head": (["app-0.zip"], ("upload", "app-1.zip"), {"method": "HEAD"}),
    "upload-whole": (["notes.txt"], ("upload", "notes.txt"), {"method": "PUT"}),
    "download-delta": (["app-0.zip", "app-1.zip"], ("download", "app-1.zip"), {"method": "GET"}),
    "download-reference": (
        ["app-0.zip", "app-1.zip"],
        ("download-cold", "app-1.zip"),
        {"method": "GET", "path": r"reference\.bin$"},
    ),
    "download-whole": (["notes.txt"], ("download", "notes.txt"), {"method": "GET"}),
    "delete-delta": (["app-0.zip", "app-1.zip"], ("delete", "app-1.zip"), {"method": "DELETE"}),
    "delete-reference": (
        ["app-0.zip"],
        ("delete", "app-0.zip"),
        {"method": "DELETE", "path": r"reference\.bin$"},
    ),
    "delete-listing": (["app-0.zip"], ("delete", "app-0.zip"), {"method": "GET", "query": "list-type"}),
}


_BODY_KINDS = frozenset(
    {"reset_mid_request", "corrupt_request", "corrupt_response", "truncate_response", "throttle"}
)


#: Faults that only a request carrying data can get (a PUT's body), and those that only an answer
#: carrying data can (a GET's body): on the other scenarios' requests the proxy lets them pass
#: untouched, so the matrix leaves those scenarios out for them.
_ON_PUT_ONLY = frozenset({"corrupt_request"})
_ON_GET_ONLY = frozenset({"corrupt_response", "truncate_response", "throttle"})


def _fits(kind: str, where: dict[str, str]) -> bool:
    if kind in _ON_PUT_ONLY:
        return where["method"] == "PUT"
    if kind in _ON_GET_ONLY:
        return where["method"] == "GET"
    return True


def _assert_clean(report: Report) -> None:
    assert not report.problems, "\n".join(report.violations)


def _matrix(endpoint: Endpoint, workdir: Path, kind: str, repeat: int) -> Report:
    bucket = endpoint.create_bucket()
    workload = Workload(endpoint.client(), endpoint.client(faulty=False), workdir, [], seed=1)
    for scenario, (setup, (op, name), where) in SCENARIOS.items():
        if not _fits(kind, where):
            continue
        space = f"s3://{bucket}/{scenario}/"
        workload.spaces.append(space)
        endpoint.proxy.set_plan(FaultPlan(stall_s=STALL_S))
        with endpoint.proxy.paused():
            for first in setup:
                workload.upload(space, first)
        # ``repeat`` > 1 hits every retry of the request, so the operation fails outright.
        endpoint.proxy.set_plan(FaultPlan(rules=[Rule(kind, count=repeat, **where)], stall_s=STALL_S))
        if op == "upload":
            workload.upload(space, name)
        elif op == "download":
            workload.download(space + name)
        elif op == "download-cold":
            workload.download(space + name, client=endpoint.client())
        else:
            workload.delete(space + name)
    endpoint.proxy.set_plan(FaultPlan())
    with endpoint.proxy.paused():
        report = workload.check()
    endpoint.settle_multipart(bucket, report)
    return report


def _matrix_params() -> list[object]:
    params = []
    for kind in FAULT_KINDS:
        for repeat, label in ((1, "once"), (3, "every-retry")):
            default = (repeat == 3 and kind in _EVERY_RETRY_IN_DEFAULT) or (
                repeat == 1 and kind in _ONCE_IN_DEFAULT
            )
            marks = [] if default else [pytest.mark.slow]
            params.append(pytest.param(kind, repeat, id=f"{label}-{kind}", marks=marks))
    return params


#: The default run: one fault of each effect on the client (refused before the server acted, applied
#: but reported failed, cut off while sending, corrupted either way), on every retry so that the
#: operation fails outright; and one that a retry absorbs. The rest run under ``-m slow``.
_EVERY_RETRY_IN_DEFAULT = frozenset(
    {"error_500_after", "reset_mid_request", "corrupt_request", "corrupt_response", "truncate_response"}
)
_ONCE_IN_DEFAULT = frozenset({"error_500"})


@pytest.mark.parametrize(("kind", "repeat"), _matrix_params())
def test_each_fault_on_each_flow(endpoint: Endpoint, tmp_path: Path, kind: str, repeat: int) -> None:
    report = _matrix(endpoint, tmp_path, kind, repeat)
    _assert_clean(report)
    assert report.pending_multipart_after_cleanup == 0
    # Body faults fit only the requests that carry a body (a PUT, a GET of data).
    expected = 3 if kind in _BODY_KINDS else len(SCENARIOS) - 1
    assert endpoint.proxy.stats.total_faults >= expected, endpoint.proxy.stats.as_dict()


def _random_run(
    endpoint: Endpoint, workdir: Path, *, seed: int, steps: int, rate: float, **options: int
) -> Report:
    bucket = endpoint.create_bucket()
    spaces = [f"s3://{bucket}/a/", f"s3://{bucket}/b/"]
    multipart = options.pop("multipart_threshold", None)
    workload = Workload(
        endpoint.client(multipart_threshold=multipart),
        endpoint.client(faulty=False),
        workdir,
        spaces,
        seed=seed,
        **options,
    )
    endpoint.proxy.set_plan(FaultPlan(seed=seed, rate=rate, stall_s=STALL_S))
    workload.run(steps)
    with endpoint.proxy.paused():
        report = workload.check()
    endpoint.settle_multipart(bucket, report)
    return report


@pytest.mark.parametrize(
    ("seed", "steps", "least"),
    [
        # The default run's sample: two short seeded schedules with uploads, downloads, deletes and
        # failures among them (seed 4 draws ten kinds of fault in eight operations).
        pytest.param(4, 8, (1, 6), id="sample-seed-4"),
        pytest.param(1, 8, (1, 6), id="sample-seed-1"),
        pytest.param(20261130, 30, (6, 11), id="30-steps", marks=pytest.mark.slow),
    ],
)
def test_random_faults_short(
    endpoint: Endpoint, tmp_path: Path, seed: int, steps: int, least: tuple[int, int]
) -> None:
    report = _random_run(endpoint, tmp_path, seed=seed, steps=steps, rate=0.3)
    _assert_clean(report)
    # The harness did something: at least so many files were stored and so many faults injected.
    least_stored, least_faults = least
    assert report.reported_stored >= least_stored, report.as_dict()
    assert endpoint.proxy.stats.total_faults >= least_faults, endpoint.proxy.stats.as_dict()


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 7))
def test_random_faults_long(endpoint: Endpoint, tmp_path: Path, seed: int) -> None:
    report = _random_run(endpoint, tmp_path, seed=seed, steps=300, rate=0.3)
    _assert_clean(report)


@pytest.mark.slow
def test_random_faults_multipart(endpoint: Endpoint, tmp_path: Path) -> None:
    """Files above the multipart threshold: parts and completions get the faults too."""
    report = _random_run(
        endpoint,
        tmp_path,
        seed=99,
        steps=40,
        rate=0.15,
        multipart_threshold=5 * 1024 * 1024,
        file_size=6 * 1024 * 1024,
        names_per_space=2,
    )
    _assert_clean(report)
    assert report.pending_multipart_after_cleanup == 0
