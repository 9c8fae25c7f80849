"""Which delta recent uploads of each container kind chose in a DeltaSpace, so that an upload pays
for the delta of decoded content only when it can win.

An upload of a container (zip, gzip, xz, ar) makes the plain delta of its bytes and, to learn whether
decoding wins, the delta of its decoded content: every stream inflated, and that stream encoded
against the decoded base. On some families decoding wins at nearly every upload; on others (an
archive whose compressed members mostly stay the same) almost never. So what the tries chose is kept
per DeltaSpace and container kind:

- with no try known, or when the last one chose the decoded delta, the upload tries;
- when the last one chose the plain delta, the upload skips the decoded one;
- it tries again after :data:`RETRY_EVERY` uploads skipped, and always when its base is another
  than the one the last try was made against: the bases' fingerprints chose another one, or the
  family drifted into a new one.

What is known lives in a memo of the service (:class:`Choices`, shared by its threads) and in the
metadata of the DeltaSpace's bases (``dg-choices``, written when a base is made), so that another
process starts from what the base its upload is encoded against recorded. Reading it costs no request:
a base's metadata is read anyway to choose it. Such a process cannot know how many uploads skipped
since the base was made: it starts counting at a point drawn from the file's SHA-256, so that over
many processes one upload in about :data:`RETRY_EVERY` tries again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from deltaglider.core.format.metadata import CHOICES_KEY

#: Which delta a try chose: the plain delta of the file's bytes, or the delta of its decoded content.
Won: TypeAlias = Literal["plain", "decoded"]
_WON: Final[frozenset[str]] = frozenset(("plain", "decoded"))
#: How many uploads in a row skip the decoded delta before one tries it again.
RETRY_EVERY: Final = 8
#: The longest record read back: more than any set of container kinds writes.
_MAX_TEXT: Final = 256


@dataclass
class _Entry:
    won: Won
    base_sha256: str  # the base the choice was made against (or read from)
    skipped: int  # uploads that skipped the decoded delta since


def parse(text: str | None) -> dict[str, Won]:
    """A ``dg-choices`` value (``zip=plain,gzip=decoded``) as a map by container kind; what is not
    understood is left out (an unknown record means: try)."""
    found: dict[str, Won] = {}
    if not text or len(text) > _MAX_TEXT:
        return found
    for item in text.split(","):
        kind, _, won = item.strip().partition("=")
        if kind and won == "plain":
            found[kind] = "plain"
        elif kind and won == "decoded":
            found[kind] = "decoded"
    return found


def to_text(choices: Mapping[str, Won]) -> str | None:
    """The ``dg-choices`` value of ``choices``, kinds in order; None when there is none."""
    return ",".join(f"{kind}={choices[kind]}" for kind in sorted(choices)) or None


class Choices:
    """The memo of one service: per DeltaSpace (its location) and container kind, the last try's
    choice, the base it was made against, and the uploads that skipped since."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def should_try(
        self, space: str, kind: str, *, base_sha256: str, base_metadata: Mapping[str, str], sha256: str
    ) -> bool:
        """Whether the upload of a ``kind`` container (of SHA-256 ``sha256``) into ``space``, encoded
        against the base of ``base_sha256`` and ``base_metadata``, makes the decoded delta too; a
        skip is counted (module doc)."""
        with self._lock:
            entry = self._entries.get((space, kind))
            if entry is None:
                recorded = parse(base_metadata.get(CHOICES_KEY)).get(kind)
                if recorded is None:
                    return True
                # What skipped since the base was made is not known here: a point drawn from the file.
                entry = _Entry(recorded, base_sha256, int(sha256[:8], 16) % (RETRY_EVERY + 1))
                self._entries[(space, kind)] = entry
            if entry.won == "decoded" or entry.base_sha256 != base_sha256 or entry.skipped >= RETRY_EVERY:
                return True
            entry.skipped += 1
            return False

    def chose(self, space: str, kind: str, won: Won, *, base_sha256: str) -> None:
        """Records what a try against the base of ``base_sha256`` chose."""
        with self._lock:
            self._entries[(space, kind)] = _Entry(won, base_sha256, 0)

    def known(self, space: str) -> dict[str, Won]:
        """The last choice of each container kind in ``space``: what a base made now records."""
        with self._lock:
            return {kind: entry.won for (where, kind), entry in self._entries.items() if where == space}
