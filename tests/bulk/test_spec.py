"""The client as a recipe: what travels to a worker, and what does not."""

from __future__ import annotations

import pickle
from pathlib import Path

import boto3
import pytest

from deltaglider import create_client
from deltaglider.bulk.spec import ClientSpec, worker_client
from deltaglider.client import DeltaGliderClient
from deltaglider.core.service import DeltaService


def test_a_worker_builds_the_same_client_from_the_recipe(tmp_path: Path) -> None:
    client = create_client(
        endpoint_url="http://127.0.0.1:9", cache_dir=str(tmp_path), max_ratio=0.3, tags={"team": "a"}
    )
    spec = pickle.loads(pickle.dumps(ClientSpec.of(client)))
    assert spec.keywords == {
        "endpoint_url": "http://127.0.0.1:9",
        "cache_dir": str(tmp_path),
        "max_ratio": 0.3,
        "tags": {"team": "a"},
    }
    built = worker_client(spec)
    assert built.endpoint_url == "http://127.0.0.1:9"
    assert built.service._ctx.max_ratio == 0.3
    assert built._put_options.tags == {"team": "a"}
    # One client per recipe in each process, whatever the tasks that bring it.
    assert worker_client(pickle.loads(pickle.dumps(spec))) is built


def test_credentials_found_by_the_caller_are_not_in_the_recipe() -> None:
    # The environment's keys (the fixture's fake ones) are for each worker to find on its own.
    spec = ClientSpec.of(create_client(endpoint_url="http://127.0.0.1:9"))
    assert not any(name.startswith("aws_") for name in spec.keywords)


def test_keys_given_to_the_client_travel_but_are_never_shown() -> None:
    spec = ClientSpec.of(create_client(aws_access_key_id="AKIDSECRET", aws_secret_access_key="shh"))
    assert spec.keywords["aws_access_key_id"] == "AKIDSECRET"
    assert "AKIDSECRET" not in repr(spec) and "shh" not in repr(spec)


def test_a_live_boto3_client_cannot_travel() -> None:
    live = boto3.client("s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="s3_client cannot travel"):
        ClientSpec.of(create_client(s3_client=live))


def test_a_client_made_by_hand_has_no_recipe() -> None:
    service = create_client().service
    assert isinstance(service, DeltaService)
    with pytest.raises(ValueError, match="not made by create_client"):
        ClientSpec.of(DeltaGliderClient(service))
