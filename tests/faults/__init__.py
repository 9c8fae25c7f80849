"""Fault injection on S3, crash safety and load: harnesses that find what is lost.

- ``support/fault_proxy.py``: a fault-injecting reverse proxy between boto3 and moto's server.
- ``workload.py``: a seeded mix of uploads, downloads and deletes, checked against a model of what
  each name may hold, then read back over a clean connection (``test_s3_faults.py``).
- ``crash.py`` / ``crash_child.py``: SIGKILL at random points, then the store and the cache are read
  back and the leftovers listed (``test_crash.py``).
- ``load.py``: M processes x N threads on shared DeltaSpaces (``test_load.py``, ``bench/load.py``).
- ``test_found.py``: what the harnesses found, as deterministic reproductions.

The default run takes the short versions; ``pytest -m slow tests/faults`` the long ones;
``bench/faults.py`` and ``bench/load.py`` print the figures recorded in ``bench/RESULTS.md``.
"""
