"""The fault proxy itself: each kind of fault does to a plain boto3 call what it says, and is counted.

If these fail, the fault tests above them prove nothing: a proxy that injects nothing passes them all.
"""

from __future__ import annotations

import contextlib

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from support.fault_clients import STALL_S, Endpoint
from support.fault_proxy import FaultPlan, Rule

DATA = bytes(range(256)) * 64


def _plan(*rules: Rule) -> FaultPlan:
    return FaultPlan(rules=list(rules), stall_s=STALL_S)


def test_no_fault_passes_everything_through(endpoint: Endpoint) -> None:
    bucket = endpoint.create_bucket()
    s3 = endpoint.boto()
    s3.put_object(Bucket=bucket, Key="k", Body=DATA)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == DATA
    assert s3.head_object(Bucket=bucket, Key="k")["ContentLength"] == len(DATA)
    assert endpoint.proxy.stats.requests == 3
    assert endpoint.proxy.stats.total_faults == 0


@pytest.mark.parametrize(
    "kind",
    ["error_500", pytest.param("slowdown_503", marks=pytest.mark.slow), "reset_before", "reset_mid_request"],
)
def test_write_failing_before_the_server_stores_nothing(endpoint: Endpoint, kind: str) -> None:
    bucket = endpoint.create_bucket()
    # Every attempt of the client's retries hits the fault.
    endpoint.proxy.set_plan(_plan(Rule(kind, method="PUT", count=10)))
    with pytest.raises((ClientError, BotoCoreError)):
        endpoint.boto().put_object(Bucket=bucket, Key="k", Body=DATA)
    assert endpoint.proxy.stats.faults[kind] == 3  # FAULTY_CONFIG: three attempts
    assert "Contents" not in endpoint.boto(faulty=False).list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("kind", ["error_500_after", pytest.param("reset_after", marks=pytest.mark.slow)])
def test_write_failing_after_the_server_stored_it(endpoint: Endpoint, kind: str) -> None:
    bucket = endpoint.create_bucket()
    endpoint.proxy.set_plan(_plan(Rule(kind, method="PUT", count=10)))
    with pytest.raises((ClientError, BotoCoreError)):
        endpoint.boto().put_object(Bucket=bucket, Key="k", Body=DATA)
    stored = endpoint.boto(faulty=False).get_object(Bucket=bucket, Key="k")["Body"].read()
    assert stored == DATA


def test_corrupt_request_is_refused_like_s3_does(endpoint: Endpoint) -> None:
    bucket = endpoint.create_bucket()
    endpoint.proxy.set_plan(_plan(Rule("corrupt_request", method="PUT")))
    with pytest.raises(ClientError) as caught:
        endpoint.boto().put_object(Bucket=bucket, Key="k", Body=DATA)
    assert caught.value.response["Error"]["Code"] in ("XAmzContentSHA256Mismatch", "BadDigest")
    assert endpoint.proxy.stats.rejected_by_digest == 1
    assert "Contents" not in endpoint.boto(faulty=False).list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("kind", ["corrupt_response", "truncate_response"])
def test_broken_response_bodies_are_caught_by_botocore(endpoint: Endpoint, kind: str) -> None:
    bucket = endpoint.create_bucket()
    endpoint.boto(faulty=False).put_object(Bucket=bucket, Key="k", Body=DATA)
    endpoint.proxy.set_plan(_plan(Rule(kind, method="GET", count=10)))
    with pytest.raises(BotoCoreError):
        endpoint.boto().get_object(Bucket=bucket, Key="k")["Body"].read()
    assert endpoint.proxy.stats.faults[kind] >= 1


@pytest.mark.parametrize("kind", ["delay", "throttle"])
def test_slow_answers_still_arrive(endpoint: Endpoint, kind: str) -> None:
    bucket = endpoint.create_bucket()
    endpoint.boto(faulty=False).put_object(Bucket=bucket, Key="k", Body=DATA)
    endpoint.proxy.set_plan(_plan(Rule(kind, method="GET")))
    assert endpoint.boto().get_object(Bucket=bucket, Key="k")["Body"].read() == DATA
    assert endpoint.proxy.stats.faults[kind] == 1


def test_stall_outlasts_the_client_timeout_and_is_retried(endpoint: Endpoint) -> None:
    bucket = endpoint.create_bucket()
    endpoint.boto(faulty=False).put_object(Bucket=bucket, Key="k", Body=DATA)
    endpoint.proxy.set_plan(_plan(Rule("stall", method="GET")))
    assert endpoint.boto().get_object(Bucket=bucket, Key="k")["Body"].read() == DATA
    assert endpoint.proxy.stats.by_method["GET"] == 2  # the stalled attempt, then the retry


def test_random_schedule_is_seeded(endpoint: Endpoint) -> None:
    bucket = endpoint.create_bucket()
    endpoint.boto(faulty=False).put_object(Bucket=bucket, Key="k", Body=DATA)
    logs = []
    for _ in range(2):
        endpoint.proxy.set_plan(FaultPlan(seed=7, rate=0.5, kinds=("error_500", "slowdown_503")))
        endpoint.proxy.stats.log.clear()
        for _ in range(6):
            with contextlib.suppress(ClientError):
                endpoint.boto().head_object(Bucket=bucket, Key="k")
        logs.append(list(endpoint.proxy.stats.log))
    assert logs[0] == logs[1]
    assert logs[0]
