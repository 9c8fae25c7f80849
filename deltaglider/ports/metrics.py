"""The metrics port: counters and timings, tagged.

The service emits (tags in brackets):

| name | kind | what |
|---|---|---|
| ``put`` | counter | files uploaded [operation: ``PUT`` stored whole, ``PUT_DELTA`` as a delta] |
| ``put.bytes`` | counter | the uploaded files' bytes [operation] |
| ``put.stored_bytes`` | counter | bytes those uploads added to the store [operation] |
| ``put.saved_bytes`` | counter | the file's size less what it added to the store, at least 0 [operation] |
| ``put.seconds`` | timing | an upload's duration [operation] |
| ``get`` | counter | files downloaded [operation: ``GET`` stored whole, ``GET_DELTA`` rebuilt] |
| ``get.bytes`` | counter | the downloaded files' bytes [operation] |
| ``get.seconds`` | timing | a download's duration [operation] |
| ``cache.hit`` / ``cache.miss`` | counter | a base found in, or missing from, the reference cache |

A counter whose name ends in ``bytes`` counts bytes; any other counts events. Timings are seconds.
A metric of a given name always carries the same tag names (Prometheus needs fixed label names).
"""

from __future__ import annotations

from typing import Protocol


class MetricsPort(Protocol):
    def increment(self, name: str, value: int = 1, **tags: str) -> None: ...

    def timing(self, name: str, seconds: float, **tags: str) -> None: ...
