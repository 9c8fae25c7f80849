"""Fixtures for the fault tests: moto's HTTP server (fake credentials, 127.0.0.1 only), a fault proxy
in front of it, and clients through the proxy and straight to the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.fault_clients import Endpoint
from support.moto_server import MotoServer, run_moto_server, use_fake_aws_env


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))


@pytest.fixture(scope="session")
def fault_moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    log = tmp_path_factory.mktemp("moto-faults") / "server.log"
    with run_moto_server(log) as server:
        yield server


@pytest.fixture
def endpoint(fault_moto_server: MotoServer, _fake_aws_credentials: None) -> Iterator[Endpoint]:
    with Endpoint.start(fault_moto_server.url) as ep:
        yield ep
