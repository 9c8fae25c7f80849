"""Fault injection on S3, crash safety and load: harnesses that find what is lost.

The harnesses live in ``tests/support`` (``bench/faults.py`` and ``bench/load.py`` use them too):

- ``fault_proxy.py``: a fault-injecting reverse proxy between boto3 and moto's server;
  ``fault_clients.py``: moto's server behind it, and the clients through it and around it.
- ``workload.py``: a seeded mix of uploads, downloads and deletes, checked against a model of what
  each name may hold, then read back over a clean connection (``test_s3_faults.py``).
- ``crash.py`` / ``crash_child.py``: SIGKILL at random points, then the store and the cache are read
  back and the leftovers listed (``test_crash.py``).
- ``load.py``: M processes x N threads on shared DeltaSpaces (``test_load.py``, ``bench/load.py``).

``test_found.py`` holds what the harnesses found, as deterministic reproductions.

The default run takes a short seeded sample of each schedule; ``pytest -m slow tests/faults`` the
long ones; ``bench/faults.py`` and ``bench/load.py`` print the figures recorded in
``bench/RESULTS.md``.
"""
