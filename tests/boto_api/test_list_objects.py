"""list_objects: ListObjectsV2's answer over the names users see. Sizes are the files', deltaglider's
own objects never show, pages give every name exactly once in order for any MaxKeys, and a page costs
one HEAD per delta on it, none for files stored whole."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from support.boto_shapes import Store, assert_fields_like, assert_shape_like, releases

from deltaglider.boto_api.listing import _page, decode_token, encode_token
from deltaglider.core.format.layout import display_name
from deltaglider.ports.storage import ObjectHead

# -- the paging rule, on made-up listings -------------------------------------------------------------

#: Names, and endings that put other keys between a name and its ``.delta`` in key order (``a-1``
#: sorts before ``a.delta``, which lists as ``a``).
_STEMS = ["a", "a.zip", "a-", "a/b", "a/reference.bin", "b", "a.", "a/.deltaglider/c", "-"]
_ENDINGS = ["", ".delta", "-1", "-2", " x", "/x", "/", ".delta.delta", ".delta-1"]


def _expected(keys: list[str], prefix: str, delimiter: str) -> list[str]:
    """Every entry of the listing, by brute force: visible names, rolled up, once each, sorted."""
    names = set()
    for key in keys:
        helper = key.startswith(".deltaglider/") or "/.deltaglider/" in key
        if not key.startswith(prefix) or key.endswith("/") or helper or display_name(key) is None:
            continue
        name = key.removesuffix(".delta")
        if not name:
            continue  # ".delta" stands for the empty name, which no key can have
        at = name.find(delimiter, len(prefix)) if delimiter else -1
        names.add(name[: at + len(delimiter)] if at >= 0 else name)
    return sorted(names)


def _walk(keys: list[str], prefix: str, delimiter: str, limit: int) -> list[str]:
    """Every page's names, following the continuation from the last name of each page."""
    objects = [ObjectHead("b", key, 1) for key in sorted(k for k in keys if k.startswith(prefix))]
    after, seen = "", []
    for _ in range(len(keys) + 2):
        entries, more = _page(iter(objects), prefix, delimiter, after, limit)
        seen.extend(e.name for e in entries)
        if not more:
            return seen
        assert len(entries) == limit
        after = entries[-1].name
    raise AssertionError("the pages never ended")


_KEYS = st.tuples(st.sampled_from(_STEMS), st.sampled_from(_ENDINGS)).map("".join)


@given(
    keys=st.lists(_KEYS, max_size=25),
    delimiter=st.sampled_from(["", "/", "-"]),
    prefix=st.sampled_from(["", "a", "a/"]),
    limit=st.integers(min_value=1, max_value=8),
)
def test_pages_give_every_name_once_in_order(
    keys: list[str], delimiter: str, prefix: str, limit: int
) -> None:
    keys = sorted(set(keys))
    assert _walk(keys, prefix, delimiter, limit) == _expected(keys, prefix, delimiter)


def test_a_delta_listed_before_a_key_that_sorts_ahead_of_its_stored_key() -> None:
    # "a.zip-1" sorts before "a.zip.delta", yet "a.zip" lists before "a.zip-1".
    keys = ["a.zip-1", "a.zip-2", "a.zip.delta", "b"]
    for limit in range(1, 5):
        assert _walk(keys, "", "", limit) == ["a.zip", "a.zip-1", "a.zip-2", "b"]


def test_tokens_round_trip_and_foreign_ones_are_refused() -> None:
    assert decode_token(encode_token("dir/ä x.zip")) == "dir/ä x.zip"
    for bad in ["garbage", "", "ZGcy", 12]:
        with pytest.raises(ClientError) as caught:
            decode_token(bad)
        assert caught.value.response["Error"]["Code"] == "InvalidArgument"


# -- on the stores ------------------------------------------------------------------------------------


def _fill(store: Store) -> dict[str, bytes]:
    """A folder whose names and stored keys sort differently, a sub-folder, and hidden objects."""
    client, bucket = store.client, store.bucket
    first, second, third = releases(3)
    files = {
        "d/a.zip": first,  # the folder's first file: reference.bin and a.zip.delta
        "d/a.zip-1": b"whole, listed after a.zip though stored before a.zip.delta",
        "d/a.zip-2": b"whole, as a.zip-1",
        "d/a.zip0": b"whole",
        "d/b.zip": second,  # a delta
        "d/c.delta": b"a user's file named .delta",  # stored under c.delta.delta
        "d/e/x.zip": third,
        "d/e/y.txt": b"y",
        "d/f.txt": b"f",
    }
    for key, data in files.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    # What the original's helpers leave: never listed.
    for hidden in ["d/.deltaglider/tmp/a.zip", ".deltaglider/stats.json"]:
        _raw_put(store, hidden, b"helper")
    assert client.service.storage.head(bucket, "d/reference.bin") is not None
    return files


def _raw_put(store: Store, key: str, data: bytes) -> None:
    if store.s3 is not None:
        store.s3.put_object(Bucket=store.bucket, Key=key, Body=data)
        return
    path = Path(store.client.service.storage.url(store.bucket, key))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _all_pages(store: Store, **kwargs: Any) -> tuple[list[str], list[dict[str, Any]]]:
    names: list[str] = []
    pages = []
    token = None
    while True:
        extra = {"ContinuationToken": token} if token else {}
        page = store.client.list_objects(Bucket=store.bucket, **kwargs, **extra)
        pages.append(page)
        # A page's files and sub-folders come in two lists: together, in name order.
        names += sorted(
            [o["Key"] for o in page["Contents"]] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        )
        assert page["KeyCount"] == len(page["Contents"]) + len(page.get("CommonPrefixes", []))
        if not page["IsTruncated"]:
            return names, pages
        token = page["NextContinuationToken"]


def test_sizes_are_the_files_and_hidden_objects_never_show(store: Store) -> None:
    files = _fill(store)
    listed = store.client.list_objects(Bucket=store.bucket, Prefix="d/")
    assert [o["Key"] for o in listed["Contents"]] == sorted(files)
    for obj in listed["Contents"]:
        assert obj["Size"] == len(files[obj["Key"]]), obj["Key"]
    flags = {o["Key"]: o["Metadata"]["deltaglider-is-delta"] for o in listed["Contents"]}
    assert flags["d/b.zip"] == "true" and flags["d/f.txt"] == "false"
    whole = store.client.list_objects(Bucket=store.bucket)
    assert [o["Key"] for o in whole["Contents"]] == sorted(files)
    top = store.client.list_objects(Bucket=store.bucket, Delimiter="/")
    assert top["Contents"] == [] and top["CommonPrefixes"] == [{"Prefix": "d/"}]


@pytest.mark.parametrize("delimiter", ["", "/"])
def test_every_max_keys_pages_through_every_name_once(store: Store, delimiter: str) -> None:
    files = _fill(store)
    rolled = {k if k.count("/") == 1 else "d/e/" for k in files}
    expected = sorted(rolled if delimiter else files)
    for max_keys in range(1, len(expected) + 2):
        names, pages = _all_pages(store, Prefix="d/", Delimiter=delimiter, MaxKeys=max_keys)
        assert names == expected, max_keys
        assert all(p["KeyCount"] == max_keys for p in pages[:-1])
        assert all(p["MaxKeys"] == max_keys for p in pages)
    for i, name in enumerate(expected):
        rest = store.client.list_objects(
            Bucket=store.bucket, Prefix="d/", Delimiter=delimiter, StartAfter=name
        )
        got = [o["Key"] for o in rest["Contents"]] + [p["Prefix"] for p in rest.get("CommonPrefixes", [])]
        assert sorted(got) == expected[i + 1 :]
        assert rest["StartAfter"] == name


def _counting_heads(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    storage = store.client.service.storage
    heads: list[str] = []
    real: Callable[[str, str], Any] = storage.head

    def head(bucket: str, key: str) -> Any:
        heads.append(key)
        return real(bucket, key)

    monkeypatch.setattr(storage, "head", head)
    return heads


def test_a_page_heads_its_deltas_only(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    payloads = releases(6, size=20_000)
    for i, data in enumerate(payloads):
        store.client.put_object(Bucket=store.bucket, Key=f"r/app-{i}.zip", Body=data)
    for i in range(4):
        store.client.put_object(Bucket=store.bucket, Key=f"r/z{i}.txt", Body=b"text")
    heads = _counting_heads(store, monkeypatch)

    first = store.client.list_objects(Bucket=store.bucket, Prefix="r/", MaxKeys=3)
    assert sorted(heads) == [f"r/app-{i}.zip.delta" for i in range(3)]
    assert [o["Size"] for o in first["Contents"]] == [len(p) for p in payloads[:3]]
    heads.clear()
    tail = store.client.list_objects(Bucket=store.bucket, Prefix="r/z", MaxKeys=10)
    assert len(tail["Contents"]) == 4
    # A folder store's listing carries no ETag: it reads each file's own (no request goes out).
    assert heads == ([] if store.kind == "s3" else [f"r/z{i}.txt" for i in range(4)])
    heads.clear()
    fetched = store.client.list_objects(Bucket=store.bucket, Prefix="r/z", FetchMetadata=True)
    assert len(heads) == 4
    assert fetched["Contents"][0]["Metadata"]["deltaglider-is-delta"] == "false"


def test_the_answer_has_boto3s_shape(store: Store, plain_pair: tuple[Any, str]) -> None:
    s3, plain_bucket = plain_pair
    for key in ["d/a.txt", "d/b.txt", "d/e/c.txt"]:
        store.client.put_object(Bucket=store.bucket, Key=key, Body=b"x")
        s3.put_object(Bucket=plain_bucket, Key=key, Body=b"x")
    for kwargs in [
        {"Prefix": "d/", "MaxKeys": 1},
        {"Prefix": "d/", "Delimiter": "/"},
        {"Prefix": "d/", "StartAfter": "d/a.txt"},
    ]:
        ours = store.client.list_objects(Bucket=store.bucket, **kwargs)
        boto = s3.list_objects_v2(Bucket=plain_bucket, **kwargs)
        assert_shape_like(ours, boto, f"{kwargs}: ")
        for mine, theirs in zip(ours["Contents"], boto["Contents"], strict=True):
            assert mine["Key"] == theirs["Key"]
            assert_fields_like(mine, theirs, "Contents: ")
        assert ours["IsTruncated"] == boto["IsTruncated"]
        assert ours["KeyCount"] == boto["KeyCount"]
        assert ours.get("CommonPrefixes") == boto.get("CommonPrefixes")
    token = store.client.list_objects(Bucket=store.bucket, Prefix="d/", MaxKeys=1)["NextContinuationToken"]
    following = store.client.list_objects(
        Bucket=store.bucket, Prefix="d/", MaxKeys=1, ContinuationToken=token
    )
    assert following["ContinuationToken"] == token
    assert [o["Key"] for o in following["Contents"]] == ["d/b.txt"]


def test_bad_arguments_and_missing_buckets_raise_client_errors(store: Store) -> None:
    cases = [
        ({"Bucket": "no-such-bucket-dg"}, "NoSuchBucket"),
        ({"Bucket": store.bucket, "ContinuationToken": "not-ours"}, "InvalidArgument"),
        ({"Bucket": store.bucket, "MaxKeys": -1}, "InvalidArgument"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ClientError) as caught:
            store.client.list_objects(**kwargs)
        assert caught.value.response["Error"]["Code"] == code
    empty = store.client.list_objects(Bucket=store.bucket, MaxKeys=0)
    assert empty["IsTruncated"] is False and empty["KeyCount"] == 0
