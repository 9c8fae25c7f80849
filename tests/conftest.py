"""Suite-wide settings: hypothesis profiles chosen by HYPOTHESIS_PROFILE (``ci`` runs more examples),
and the library logger restored after every test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "fuzz", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _library_logger_as_found() -> Iterator[None]:
    """A CLI run in-process installs its stderr handler and stops propagation on the ``deltaglider``
    logger; a later test's ``caplog`` would see nothing, so each test gets the logger back as it was."""
    logger = logging.getLogger("deltaglider")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:] = saved[0]
    logger.level, logger.propagate = saved[1], saved[2]
