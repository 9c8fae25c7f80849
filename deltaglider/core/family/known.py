"""What a client last learned of a DeltaSpace's bases, kept a short while so that a run of uploads
into one folder asks the store for them once, not once per file.

An upload reads ``reference.bin``'s HEAD and lists the folder for its other bases before it chooses
one (:mod:`deltaglider.core.family.bases`). Those answers change only when a base is added or removed,
which is rare next to uploads. A stale answer costs no correctness: every write that depends on a
base re-checks it once written (:func:`deltaglider.core.protocol.held`), and a base chosen from a
memo that no longer holds it is kept again, or the upload stores the file whole, as it would if the
base had gone while it was encoded. It may cost a better base another client added meanwhile, so a
memo lives :data:`KNOWN_FOR` at most, and anything this client learns or does that changes the bases
(a write of a base, a removal, a re-check that found its base changed, a base that could not be read)
forgets it at once.

The memo belongs to the client: its service's context holds it, and the clones of that service share it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from deltaglider.ports.storage import ObjectHead

if TYPE_CHECKING:
    from deltaglider.core.context import Context
    from deltaglider.core.family.bases import Base

#: How long, in seconds, a client trusts what it last listed of a DeltaSpace's bases.
KNOWN_FOR: Final = 30.0


@dataclass(frozen=True)
class Known:
    """``reference.bin`` as a HEAD gave it, the other bases an upload weighs (None until listed),
    and when it was learned (``time.monotonic``)."""

    reference: ObjectHead
    bases: Sequence[Base] | None
    at: float


class KnownBases:
    """One client's memo: what it learned of each DeltaSpace's bases, by (bucket, prefix). Held by
    the service's context, so that its clones (the same client over a wrapped store) share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], Known] = {}

    def get(self, bucket: str, prefix: str) -> Known | None:
        with self._lock:
            found = self._known.get((bucket, prefix))
        if found is None or time.monotonic() - found.at > KNOWN_FOR:
            return None
        return found

    def put(self, bucket: str, prefix: str, entry: Known) -> None:
        with self._lock:
            self._known[(bucket, prefix)] = entry

    def drop(self, bucket: str, prefix: str) -> None:
        with self._lock:
            self._known.pop((bucket, prefix), None)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


def known(ctx: Context, bucket: str, prefix: str) -> Known | None:
    """What this client knows of the DeltaSpace's bases, if it learned it less than KNOWN_FOR ago."""
    return ctx.bases_known.get(bucket, prefix)


def remember(
    ctx: Context, bucket: str, prefix: str, reference: ObjectHead, bases: Sequence[Base] | None = None
) -> None:
    ctx.bases_known.put(bucket, prefix, Known(reference, bases, time.monotonic()))


def forget(ctx: Context, bucket: str, prefix: str) -> None:
    """Drops what this client knew of the DeltaSpace's bases: something changed them."""
    ctx.bases_known.drop(bucket, prefix)
