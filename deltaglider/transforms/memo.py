"""The reconstructor's choices found in this process, by the digest of the stream they rebuild.

The reconstructor's analysis (:mod:`.reconstruct`) is slow, and a stream that changed since a
family's reference stays changed in every later release: uploading releases one after another
(``sync``, a folder copied) meets the same stream again in each. The same compressed bytes inflate to
the same decoded bytes and are rebuilt by the same choices, so what one upload analysed, the next
takes from here; the upload's proof rebuilds the file all the same.
"""

from __future__ import annotations

import threading
from typing import Final

from deltaglider.transforms.reconstruct import ReconstructParams

#: The stored choices kept at most, oldest dropped first.
MEMO_BYTES: Final = 32 << 20


class ChoicesMemo:
    """Choices by stream digest, at most ``limit`` stored bytes of them; safe across threads."""

    def __init__(self, limit: int = MEMO_BYTES) -> None:
        self._limit = limit
        self._held = 0
        self._known: dict[bytes, ReconstructParams] = {}
        self._lock = threading.Lock()

    def get(self, stream_digest: bytes) -> ReconstructParams | None:
        with self._lock:
            return self._known.get(stream_digest)

    def remember(self, stream_digest: bytes, params: ReconstructParams) -> None:
        with self._lock:
            if stream_digest in self._known or len(params.stored) > self._limit:
                return
            self._known[stream_digest] = params
            self._held += len(params.stored)
            while self._held > self._limit:
                oldest = next(iter(self._known))
                self._held -= len(self._known.pop(oldest).stored)


#: The process's memo.
CHOICES: Final = ChoicesMemo()
