"""What the fault harness found: each a minimal, deterministic reproduction (rules, not chance).

Marked ``xfail(strict=True)`` while the bug is there; the fix makes them pass and the mark must go
(as it went for the corrupted GET).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.fault_clients import Endpoint
from support.fault_proxy import FaultPlan, Rule
from support.workload import Workload

from deltaglider.errors import DeltaGliderError

SIZE = 48 * 1024


def _both_forms(endpoint: Endpoint, tmp_path: Path, stale: str) -> tuple[Workload, str]:
    """A name left in both forms: its upload stored the new form, then every DELETE of the now stale
    other form failed (on each of the client's retries), so the upload raised."""
    bucket = endpoint.create_bucket()
    space = f"s3://{bucket}/a/"
    workload = Workload(endpoint.client(), endpoint.client(faulty=False), tmp_path, [space], seed=3)
    workload.upload(space, "app-0.zip")  # the reference
    unrelated = random.Random(1).randbytes(SIZE)  # stored whole: its delta would exceed max_ratio
    near = bytearray(workload.contents.bases[space])
    near[100:110] = b"0123456789"  # stored as a delta
    first, second = (unrelated, bytes(near)) if stale == "whole" else (bytes(near), unrelated)
    workload.upload(space, "app-1.zip", first)
    stale_key = r"app-1\.zip$" if stale == "whole" else r"app-1\.zip\.delta$"
    endpoint.proxy.set_plan(FaultPlan(rules=[Rule("error_500", method="DELETE", path=stale_key, count=20)]))
    workload.upload(space, "app-1.zip", second)
    assert workload.report.errors["upload:StorageError"] == 1
    endpoint.proxy.set_plan(FaultPlan())
    return workload, space


@pytest.mark.parametrize("stale", ["whole", "delta"])
def test_delete_removes_a_name_left_in_both_forms(endpoint: Endpoint, tmp_path: Path, stale: str) -> None:
    workload, space = _both_forms(endpoint, tmp_path, stale)
    workload.delete(space + "app-1.zip")  # reports success
    report = workload.check()
    assert not report.problems, report.violations


def test_a_name_left_in_both_forms_is_listed_once(endpoint: Endpoint, tmp_path: Path) -> None:
    workload, space = _both_forms(endpoint, tmp_path, "whole")
    names = [entry.name for entry in workload.check_client.list(space)]
    assert sorted(names) == sorted(set(names)), names


@pytest.mark.parametrize("name", ["notes.txt", "app-0.zip"], ids=["whole", "delta"])
def test_a_get_corrupted_in_flight_is_retried(endpoint: Endpoint, tmp_path: Path, name: str) -> None:
    """Found by the faulty load run: one flipped byte in a GET response failed the download with
    IntegrityError, though the object was intact. Fixed since (the body is compared with its ETag
    and fetched again); kept as the regression test."""
    bucket = endpoint.create_bucket()
    space = f"s3://{bucket}/a/"
    workload = Workload(endpoint.client(), endpoint.client(faulty=False), tmp_path, [space], seed=3)
    workload.upload(space, "app-0.zip")
    workload.upload(space, "notes.txt")
    endpoint.proxy.set_plan(FaultPlan(rules=[Rule("corrupt_response", method="GET", count=1)]))
    workload.download(space + name)
    assert endpoint.proxy.stats.faults["corrupt_response"] == 1
    assert not workload.report.errors, workload.report.errors


@pytest.mark.parametrize("operation", ["list", "delete"])
def test_a_malformed_listing_raises_a_library_error(
    endpoint: Endpoint, tmp_path: Path, operation: str
) -> None:
    """Found by the long random run (seed 4): one flipped byte in a ListObjectsV2 answer."""
    bucket = endpoint.create_bucket()
    space = f"s3://{bucket}/a/"
    workload = Workload(endpoint.client(), endpoint.client(faulty=False), tmp_path, [space], seed=3)
    workload.upload(space, "app-0.zip")
    workload.upload(space, "app-1.zip")
    # "2026-..." becomes "h026-...": every listing answer, on every retry.
    spoil = Rule("corrupt_response", method="GET", query="list-type", at=r"<LastModified>\d", count=50)
    endpoint.proxy.set_plan(FaultPlan(rules=[spoil]))
    with pytest.raises(DeltaGliderError):
        if operation == "list":
            list(workload.client.list(space))
        else:
            workload.client.delete(space + "app-0.zip")
    assert endpoint.proxy.stats.faults["corrupt_response"] >= 1
