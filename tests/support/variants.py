"""Which variants of a parametrized fixture a test takes in the default run.

A fixture parametrized over two ways of doing the same marks the costlier one ``slow``: S3 on moto's
server for the command line (``store``) and the command run as a subprocess (``cli_runner``), both in
tests/cli/conftest.py; moto in process for the S3 tests (``s3``) and S3 for the client tests
(``client_and_folder``), in tests/s3/conftest.py; S3 for the races (``store``,
tests/races/test_findings.py, with a mark of its own there). Every test then runs the cheaper way by
default and both ways under ``pytest -m slow``; the tests that stand for what the costlier way does
differently keep it in the default run with one of the marks below, which replace the fixture's own
params.
"""

from __future__ import annotations

import pytest

#: A command line test that runs on S3 (moto's server) in the default run as well as on a folder.
CLI_ON_S3_TOO = pytest.mark.parametrize("store", ["folder", "s3"], indirect=True)

#: An S3 test that runs on moto in process in the default run as well as on moto's server.
S3_IN_PROCESS_TOO = pytest.mark.parametrize("s3", ["mock_aws", "server"], indirect=True)

#: An S3 test cheaper on moto in process: the server run is the ``slow`` one.
S3_IN_PROCESS_FIRST = pytest.mark.parametrize(
    "s3", ["mock_aws", pytest.param("server", marks=pytest.mark.slow)], indirect=True
)

#: A client test (``client_and_folder``, tests/s3/conftest.py) that runs on S3 in the default run as
#: well as on a folder store.
CLIENT_ON_S3_TOO = pytest.mark.parametrize("client_and_folder", ["folder", "s3"], indirect=True)

#: A command line test that runs as a subprocess in the default run as well as in process
#: (``cli_runner``, tests/cli/conftest.py).
CLI_AS_A_PROCESS_TOO = pytest.mark.parametrize("cli_runner", ["in-process", "subprocess"], indirect=True)

#: A command line test of what only a process does (``python -m``, work at its exit): a subprocess
#: always.
CLI_AS_A_PROCESS = pytest.mark.parametrize("cli_runner", ["subprocess"], indirect=True)
