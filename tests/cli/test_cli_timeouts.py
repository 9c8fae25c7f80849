"""An S3 endpoint that accepts connections and never answers: ``--read-timeout`` (and the SDK's
``read_timeout``) make a command fail soon, with a clear error, instead of after minutes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from deltaglider.errors import StorageError
from deltaglider.factory import S3Options, create_client

Cli = Any  # the ``cli`` fixture (tests/cli/conftest.py)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """http://127.0.0.1:<port> of a server that accepts every connection and says nothing."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_a_silent_endpoint_fails_the_command_after_the_read_timeout(cli: Cli, silent_endpoint: str) -> None:
    started = time.monotonic()
    result = cli("ls", "s3://bucket/", "--endpoint-url", silent_endpoint, "--read-timeout", "0.2", timeout=60)
    elapsed = time.monotonic() - started
    assert result.code == 1, result.stderr
    # Each attempt waits 0.2 s, retries included: not botocore's 60 s a try.
    assert elapsed < 15
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "did not answer in time" in result.stderr and "--read-timeout" in result.stderr


def test_the_sdk_takes_the_timeouts_and_zero_is_no_limit(silent_endpoint: str) -> None:
    client = create_client(endpoint_url=silent_endpoint, read_timeout=0.5, connect_timeout=2, max_attempts=1)
    with pytest.raises(StorageError, match="did not answer in time"):
        list(client.list("s3://bucket/"))
    unlimited = S3Options(connect_timeout=0, read_timeout=0).botocore_config()
    assert (unlimited.connect_timeout, unlimited.read_timeout) == (None, None)
    assert S3Options().botocore_config().read_timeout == 60  # botocore's default when not given


@pytest.mark.parametrize("value", [-1, float("inf"), float("nan"), True, "5"])
def test_a_timeout_must_be_a_number_of_seconds(value: object) -> None:
    with pytest.raises(ValueError, match="read_timeout"):
        S3Options(read_timeout=value)  # type: ignore[arg-type]


def test_the_command_line_refuses_a_negative_timeout(cli: Cli) -> None:
    result = cli("ls", "s3://bucket/", "--connect-timeout", "-1")
    assert result.code == 2 and "connect-timeout" in result.stderr
