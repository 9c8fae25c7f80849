"""Comparing a response of ours with boto3's own for the same call: the same keys, each value of the
same type, all the way down (lists compared by their first item)."""

from __future__ import annotations

from typing import Any


def assert_same_shape(ours: Any, theirs: Any, where: str = "response") -> None:
    assert type(ours) is type(theirs), (
        f"{where}: {type(ours).__name__} where boto3 has {type(theirs).__name__}"
    )
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), f"{where}: keys {sorted(ours)} where boto3 has {sorted(theirs)}"
        for name in theirs:
            if name != "ResponseMetadata":  # request ids, dates and headers differ by nature
                assert_same_shape(ours[name], theirs[name], f"{where}[{name!r}]")
    elif isinstance(theirs, list) and theirs:
        assert ours, f"{where}: empty where boto3 has items"
        assert_same_shape(ours[0], theirs[0], f"{where}[0]")
