"""Suite-wide settings: hypothesis profiles chosen by HYPOTHESIS_PROFILE (``dev`` by default, short;
``ci``, which CI loads, runs more examples), the library logger restored after every test, and the
tests that outran the default run's budget listed at the end of a run (CONTRIBUTING: a test over a few
seconds is marked ``slow``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from support.examples import PROFILE

settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "fuzz", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(PROFILE)

#: Seconds a test not marked ``slow`` may take before the run's summary names it
#: (``DG_SLOW_TEST_S`` changes it).
SLOW_TEST_S = float(os.environ.get("DG_SLOW_TEST_S", "5"))
_OVER_BUDGET: list[tuple[float, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.duration > SLOW_TEST_S and "slow" not in report.keywords:
        _OVER_BUDGET.append((report.duration, report.nodeid))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _OVER_BUDGET:
        return
    terminalreporter.section(f"tests over {SLOW_TEST_S:g} s not marked slow")
    for duration, nodeid in sorted(_OVER_BUDGET, reverse=True):
        terminalreporter.write_line(f"{duration:6.2f}s {nodeid}")
    terminalreporter.write_line(
        "Mark each slow, keeping a short sample in the default run (CONTRIBUTING.md, Test)."
    )


@pytest.fixture(autouse=True)
def _library_logger_as_found() -> Iterator[None]:
    """A CLI run in-process installs its stderr handler and stops propagation on the ``deltaglider``
    logger; a later test's ``caplog`` would see nothing, so each test gets the logger back as it was."""
    logger = logging.getLogger("deltaglider")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:] = saved[0]
    logger.level, logger.propagate = saved[1], saved[2]
