"""Forced interleavings over HTTP: the proxy holds one request (``hold``) until the test has done
the other party's work, so a race is reproduced every time rather than hoped for.

Each guards a fix (the download racing an overwrite failed for whole objects when it was written).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from support.fault_clients import Endpoint
from support.fault_proxy import FaultPlan, Rule
from support.workload import Workload, digest


@pytest.mark.parametrize(
    "held", [r"app-1\.zip\.delta$", r"reference\.bin$"], ids=["delta-put", "reference-get"]
)
def test_delete_of_the_last_delta_racing_an_upload(endpoint: Endpoint, tmp_path: Path, held: str) -> None:
    """Issue 8, finding 1 over HTTP: an upload has encoded against the reference (or is fetching it)
    when another client deletes the DeltaSpace's last delta. The upload must stay recoverable."""
    bucket = endpoint.create_bucket()
    space = f"s3://{bucket}/a/"
    workload = Workload(endpoint.client(), endpoint.client(faulty=False), tmp_path, [space], seed=3)
    workload.upload(space, "app-0.zip")  # reference.bin and app-0.zip's zero-diff delta
    near = bytearray(workload.contents.bases[space])
    near[5:9] = b"abcd"
    method = "PUT" if held.startswith("app") else "GET"
    uploader = endpoint.client()
    if method == "GET":
        workload.client = uploader  # an empty cache: the upload must fetch the reference
    endpoint.proxy.set_plan(FaultPlan(rules=[Rule("hold", method=method, path=held)]))
    upload = threading.Thread(target=workload.upload, args=(space, "app-1.zip", bytes(near)))
    upload.start()
    try:
        assert endpoint.proxy.wait_held()
        endpoint.client(faulty=False).delete(space + "app-0.zip")
        workload.model.deleted(space + "app-0.zip", ok=True)
    finally:
        endpoint.proxy.release()
        upload.join()
    report = workload.check()
    assert not report.problems, report.violations


@pytest.mark.parametrize("name", ["notes.txt", "app-1.zip"], ids=["whole", "delta"])
def test_a_download_racing_an_overwrite_serves_one_version(
    endpoint: Endpoint, tmp_path: Path, name: str
) -> None:
    """Found by the shared-names load run: a download whose object was replaced between its HEAD
    and its GET failed with IntegrityError. Fixed since; kept as the regression test."""
    bucket = endpoint.create_bucket()
    space = f"s3://{bucket}/a/"
    workload = Workload(endpoint.client(), endpoint.client(faulty=False), tmp_path, [space], seed=3)
    workload.upload(space, "app-0.zip")
    workload.upload(space, name)
    # The reader's GET of the object waits at the proxy, after its HEAD, until the writer is done.
    endpoint.proxy.set_plan(FaultPlan(rules=[Rule("hold", method="GET", path=re.escape(name))]))
    reader = threading.Thread(target=workload.download, args=(space + name,))
    reader.start()
    try:
        assert endpoint.proxy.wait_held()
        writer = Workload(
            endpoint.client(faulty=False), endpoint.client(faulty=False), tmp_path / "w", [space], seed=4
        )
        writer.contents.bases = workload.contents.bases
        data = writer.contents.make(space, name)
        writer.upload(space, name, data)
        workload.model.uploaded(space + name, digest(data), ok=False)  # either version may be served
    finally:
        endpoint.proxy.release()
        reader.join()
    assert not writer.report.errors
    assert not workload.report.errors, workload.report.errors
    assert not workload.report.problems, workload.report.violations
