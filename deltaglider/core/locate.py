"""Finding the stored object behind a user's key (``key`` or ``key.delta``)."""

from __future__ import annotations

from deltaglider.core.context import Context
from deltaglider.core.layout import lookup_keys
from deltaglider.core.models import ObjectKey
from deltaglider.errors import InvalidURLError, NotFoundError
from deltaglider.ports.storage import ObjectHead

#: An upload that changes a name's form writes the new form before removing the old, so a lookup
#: that missed both had its heads straddle that change; the second pass sees the new form.
_PASSES = 2


def locate(ctx: Context, obj: ObjectKey) -> ObjectHead:
    if not obj.key or obj.key.endswith("/"):
        raise InvalidURLError(f"{ctx.storage.url(obj.bucket, obj.key)}: names a folder, not an object")
    tried = lookup_keys(obj.key)
    for _ in range(_PASSES):
        for key in tried:
            head = ctx.storage.head(obj.bucket, key)
            if head is not None:
                return head
    raise NotFoundError(
        f"no object at {ctx.storage.url(obj.bucket, tried[0])} nor {ctx.storage.url(obj.bucket, tried[1])}"
    )
