"""How many examples a property test runs, by the hypothesis profile that ``HYPOTHESIS_PROFILE`` names
(tests/conftest.py registers them): ``dev``, a developer's default run, is kept short; ``ci`` (what CI's
default run loads) and ``fuzz`` run more."""

from __future__ import annotations

import os

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")


def examples(count: int) -> int:
    """For a test that names its own count: ``count`` under ``ci`` and ``fuzz``, half of it (at least
    one) under ``dev``."""
    return max(1, count // 2) if PROFILE == "dev" else count
