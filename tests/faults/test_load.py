"""A small load run: 2 processes x 2 threads on shared DeltaSpaces of moto's server for a second or two;
nothing lost or corrupted. ``bench/load.py`` runs the same for longer and reports throughput."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import boto3
import pytest
from support.fault_proxy import FaultPlan, FaultProxy
from support.load import LoadConfig, pin_references, run_load
from support.moto_server import MotoServer


def _config(server: MotoServer, tmp_path: Path, **options: float) -> LoadConfig:
    bucket = f"dg-load-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name="us-east-1", endpoint_url=server.url).create_bucket(Bucket=bucket)
    return LoadConfig(
        endpoint_url=server.url,
        spaces=[f"s3://{bucket}/a/", f"s3://{bucket}/b/"],
        workdir=str(tmp_path / "work"),
        cache_dir=str(tmp_path / "cache"),
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("seconds", [1.5, pytest.param(3.0, marks=pytest.mark.slow)], ids=lambda s: f"{s}s")
def test_load_short(fault_moto_server: MotoServer, tmp_path: Path, seconds: float) -> None:
    config = _config(fault_moto_server, tmp_path, processes=2, threads=2, seconds=seconds)
    pinned = pin_references(config)
    result = run_load(config, pinned=pinned)
    summary = result.as_dict()
    assert result.worker.problems == [], summary
    assert not result.check.problems, summary
    assert result.worker.ops["upload"] >= 4, summary
    assert result.check.files_checked >= 4, summary


@pytest.mark.slow
def test_load_long(fault_moto_server: MotoServer, tmp_path: Path) -> None:
    config = _config(fault_moto_server, tmp_path, processes=3, threads=4, seconds=60.0)
    result = run_load(config, pinned=pin_references(config))
    summary = result.as_dict()
    assert result.worker.problems == [], summary
    assert not result.check.problems, summary


@pytest.mark.slow
def test_load_through_faults(fault_moto_server: MotoServer, tmp_path: Path) -> None:
    """The same, with every worker going through the fault proxy: failures are allowed, wrong or
    lost bytes are not."""
    with FaultProxy(fault_moto_server.url, FaultPlan(seed=5, rate=0.2)) as proxy:
        config = _config(fault_moto_server, tmp_path, processes=2, threads=3, seconds=30.0)
        config = dataclasses.replace(
            config, endpoint_url=proxy.url, check_endpoint_url=fault_moto_server.url, faulty=True
        )
        result = run_load(config, pinned=pin_references(config))
    summary = result.as_dict()
    assert result.worker.problems == [], summary
    assert not result.check.problems, summary
    assert proxy.stats.total_faults > 0
