"""What the fault harness found: each a minimal, deterministic reproduction (rules, not chance).

Marked ``xfail(strict=True)`` while the bug is there; the fix makes them pass and the mark must go.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.fault_proxy import FaultPlan, Rule

from faults.clients import Endpoint
from faults.workload import Workload

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


@pytest.mark.xfail(
    strict=True,
    reason="a name left in both forms (see _both_forms): a successful delete removes one form and the "
    "name stays readable, with the other form's bytes",
)
@pytest.mark.parametrize("stale", ["whole", "delta"])
def test_delete_removes_a_name_left_in_both_forms(endpoint: Endpoint, tmp_path: Path, stale: str) -> None:
    workload, space = _both_forms(endpoint, tmp_path, stale)
    workload.delete(space + "app-1.zip")  # reports success
    report = workload.check()
    assert not report.problems, report.violations


@pytest.mark.xfail(strict=True, reason="a name left in both forms is listed twice")
def test_a_name_left_in_both_forms_is_listed_once(endpoint: Endpoint, tmp_path: Path) -> None:
    workload, space = _both_forms(endpoint, tmp_path, "whole")
    names = [entry.name for entry in workload.check_client.list(space)]
    assert sorted(names) == sorted(set(names)), names
