"""One name, one form: the last upload of a name wins, and one of its forms always survives.

A name is stored whole (``<name>``) or as a delta (``<name>.delta``); a new upload in one form makes
the other stale, and readers try one form first, so the other must go. Two uploads of one name in
different forms at once must not each remove the other's object. Every upload therefore records a
*write stamp* (``dg-write-stamp``: microseconds since the epoch, at least one more than the other
form's, and a random token, ordered as that pair); after writing, the upload heads the other form and

- removes it when it is older (or carries no stamp: written before stamps, or by the original);
- when it is newer, removes its *own* object instead, if that still carries its stamp;
- then checks that its own object is still there, and writes it again if another upload removed it
  as stale in the window between that upload's head and delete.

So the newest stamp's object is never removed by an older upload for long, and whenever both forms
are gone the last upload to notice puts its own back. The settling itself is
:func:`deltaglider.core.protocol.settle`: removing the other form is a removal like any other.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from deltaglider.core.context import Context
from deltaglider.core.format.layout import VERSION_ID_RE
from deltaglider.core.format.metadata import read_field
from deltaglider.ports.storage import ObjectHead

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_stamp(ctx: Context, bucket: str, other: str | None) -> str:
    """A stamp later than the clock and than the other form's, so that an upload that follows another
    wins even when the clocks of their machines disagree."""
    floor = None
    if other is not None:
        theirs = ctx.storage.head(bucket, other)
        if theirs is not None:
            floor = stamp_of(theirs.metadata)
    return stamp_after(ctx, floor)


def stamp_after(ctx: Context, floor: str | None) -> str:
    """A stamp later than the clock and than ``floor`` (a stamp, or None)."""
    micros = (ctx.clock.now().astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    micros = max(micros, _order(floor)[0] + 1)
    return f"{micros:017d}-{secrets.token_hex(8)}"


def _order(stamp: str | None) -> tuple[int, str]:
    """Stamps sort by time, then token; an object without one sorts before every stamped one."""
    if not stamp:
        return (-1, "")
    micros, _, token = stamp.partition("-")
    try:
        return (int(micros), token)
    except ValueError:
        return (-1, "")


def stamp_of(metadata: Mapping[str, str]) -> str | None:
    return read_field(metadata, "write_stamp")


def newer(stamp: str | None, than: str | None) -> bool:
    """Whether a version stamped ``stamp`` was written after one stamped ``than``."""
    return _order(stamp) > _order(than)


def version_id(head: ObjectHead) -> str:
    """The ID of the version of a name that ``head`` (a HEAD or a GET, with metadata) holds: its write
    stamp, which orders the name's versions. An object written without one (by the original, or by
    another tool) gets one of the same form from its date and ETag, the same on every look at it."""
    stamp = stamp_of(head.metadata)
    if stamp is not None and VERSION_ID_RE.match(stamp):
        return stamp
    when = head.last_modified or _EPOCH
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    micros = max(0, (when.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1))
    token = "".join(c for c in (head.etag or "").lower() if c in "0123456789abcdef")
    return f"{micros:017d}-{(token + '0' * 16)[:16]}"


def with_stamp(metadata: Mapping[str, str], stamp: str) -> dict[str, str]:
    """``metadata`` with its write stamp replaced by ``stamp``."""
    return {**metadata, "dg-write-stamp": stamp}
