"""A client as a recipe a worker process can follow: :class:`ClientSpec`, the keywords of the
``create_client`` call that made it, picklable, and :func:`worker_client`, the client a worker builds
from it once and keeps for every task that carries the same recipe.

No live boto3 client or session travels: a worker makes its own, and finds its credentials as boto3
does on that machine (environment, profile, instance or pod role). Keys go with the recipe only when
the caller gave ``create_client`` keys of its own, which no worker could find.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from deltaglider.client import DeltaGliderClient

__all__ = ["ClientSpec", "worker_client"]

#: Keywords naming credentials: never shown in a repr or an error message.
SECRET_KEYWORDS: Final = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token"})


@dataclass(frozen=True)
class ClientSpec:
    """``create_client``'s keywords, which build the same client in another process."""

    keywords: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unfit = []
        for name, value in self.keywords.items():
            try:
                pickle.dumps(value)
            except Exception:
                unfit.append(name)
        if unfit:
            raise ValueError(
                f"{', '.join(sorted(unfit))} cannot travel to another process (a live client, session "
                "or object that cannot be pickled): give the workers what builds it instead (endpoint_url, "
                "profile, region...), or let them find it on their machines"
            )
        object.__setattr__(self, "keywords", dict(self.keywords))

    def __repr__(self) -> str:
        shown = {k: "***" if k in SECRET_KEYWORDS else v for k, v in sorted(self.keywords.items())}
        return f"ClientSpec({shown!r})"

    @classmethod
    def of(cls, client: DeltaGliderClient) -> ClientSpec:
        """The recipe of a client ``create_client`` made; ``ValueError`` for one made otherwise, or
        with something that cannot leave this process (a ready ``s3_client`` or ``session``)."""
        made_with = client._made_with
        if made_with is None:
            raise ValueError(
                "this client was not made by create_client: pass ClientSpec(keywords) for the workers"
            )
        return cls(made_with)

    @property
    def key(self) -> bytes:
        """The recipe as bytes: equal recipes, one client per worker process."""
        return pickle.dumps(sorted(self.keywords.items()))

    def build(self) -> DeltaGliderClient:
        from deltaglider.factory import create_client

        return create_client(**self.keywords)


_BUILT: dict[bytes, DeltaGliderClient] = {}
_BUILDING = threading.Lock()


def worker_client(spec: ClientSpec) -> DeltaGliderClient:
    """The client this process built from ``spec``, built on first use: a worker running many tasks
    keeps one client (its connection pool, its reference cache) for all of them."""
    key = spec.key
    with _BUILDING:
        client = _BUILT.get(key)
        if client is None:
            client = _BUILT[key] = spec.build()
        return client
