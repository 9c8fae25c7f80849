"""Filters, removal plans and sync decisions (deltaglider.batch): pure rules, no store."""

from __future__ import annotations

import pytest

from deltaglider.batch import (
    FilterRule,
    Item,
    SyncAction,
    digest_candidates,
    in_version_order,
    is_included,
    plan_removal,
    plan_sync,
    seed_indexes,
    select,
)


def _rules(*pairs: str) -> list[FilterRule]:
    """``"-*.zip"`` is an exclude, ``"+*.zip"`` an include, in the order given."""
    return [FilterRule("include" if p[0] == "+" else "exclude", p[1:]) for p in pairs]


@pytest.mark.parametrize(
    ("rules", "name", "expected"),
    [
        ((), "a.zip", True),
        (("-*",), "a.zip", False),
        (("-*", "+*.zip"), "a.zip", True),
        (("-*", "+*.zip"), "a.txt", False),
        # Order matters: the later rule wins, so excluding after including drops everything.
        (("+*.zip", "-*"), "a.zip", False),
        # '*' crosses '/', as in aws s3: a pattern is matched against the whole relative name.
        (("-*.log",), "sub/deep/x.log", False),
        (("-sub/*",), "sub/deep/x.zip", False),
        (("-sub/*",), "other/x.zip", True),
        (("-a?.zip",), "ab.zip", False),
        (("-[ab].zip",), "c.zip", True),
        # Case-sensitive, as S3 keys are.
        (("-*.ZIP",), "a.zip", True),
    ],
)
def test_filters_later_rules_win(rules: tuple[str, ...], name: str, expected: bool) -> None:
    assert is_included(name, _rules(*rules)) is expected


def test_select_sorts_by_name_and_filters() -> None:
    items = [Item("b.zip", 1), Item("a.txt", 2), Item("a.zip", 3)]
    assert [i.name for i in select(items, _rules("-*.txt"))] == ["a.zip", "b.zip"]


def test_removal_puts_deltas_last_and_frees_references_of_emptied_folders() -> None:
    items = [
        Item("app/app-1.1.zip", 10, is_delta=True),
        Item("app/app-1.0.zip", 10, is_delta=True),
        Item("app/notes.txt", 5),
        Item("lib/lib-1.0.zip", 10, is_delta=True),
        Item("lib/lib-1.1.zip", 10, is_delta=True),
        Item("top.txt", 1),
    ]
    plan = plan_removal(items, _rules("-lib/lib-1.1.zip"))
    assert plan.names == ["app/notes.txt", "top.txt", "app/app-1.0.zip", "app/app-1.1.zip", "lib/lib-1.0.zip"]
    # lib/ keeps a delta, so its reference stays.
    assert plan.reference_folders == ["app"]


def test_removal_of_everything_frees_every_reference() -> None:
    items = [Item("x.zip", 1, is_delta=True), Item("s/y.zip", 1, is_delta=True), Item("s/z.bin", 1)]
    plan = plan_removal(items, ())
    assert plan.reference_folders == ["", "s"]


def _never(name: str) -> str | None:
    raise AssertionError(f"hashed {name} although the sizes decide")


def test_sync_copies_new_and_resized_files_without_hashing() -> None:
    decisions = plan_sync(
        [Item("new.zip", 3), Item("grown.zip", 5)],
        [Item("grown.zip", 4)],
        source_sha256=_never,
        dest_sha256=_never,
    )
    assert [(d.name, d.action, d.reason) for d in decisions] == [
        ("grown.zip", SyncAction.COPY, "size differs"),
        ("new.zip", SyncAction.COPY, "new"),
    ]


def test_sync_equal_size_is_decided_by_sha256() -> None:
    src = {"same.zip": "aa", "edited.zip": "bb", "unknown.zip": "cc"}
    dst: dict[str, str | None] = {"same.zip": "AA", "edited.zip": "dd", "unknown.zip": None}
    decisions = plan_sync(
        [Item(n, 7) for n in src],
        [Item(n, 7) for n in dst],
        source_sha256=src.get,
        dest_sha256=dst.get,
    )
    assert {d.name: d.action for d in decisions} == {
        "same.zip": SyncAction.SKIP,
        "edited.zip": SyncAction.COPY,
        "unknown.zip": SyncAction.COPY,
    }


def test_sync_size_only_never_hashes() -> None:
    decisions = plan_sync(
        [Item("a.zip", 7), Item("b.zip", 7)],
        [Item("a.zip", 7), Item("b.zip", None)],
        size_only=True,
        source_sha256=_never,
        dest_sha256=_never,
    )
    assert [(d.name, d.action) for d in decisions] == [("a.zip", SyncAction.SKIP), ("b.zip", SyncAction.COPY)]


def test_sync_deletes_only_with_delete_and_never_excluded_names() -> None:
    source = [Item("keep.zip", 1)]
    dest = [Item("keep.zip", 2), Item("gone.zip", 1), Item("gone.log", 1)]
    without = plan_sync(source, dest, source_sha256=_never, dest_sha256=_never)
    assert [d.action for d in without] == [SyncAction.COPY]
    with_delete = plan_sync(
        source, dest, delete=True, rules=_rules("-*.log"), source_sha256=_never, dest_sha256=_never
    )
    assert [(d.name, d.action) for d in with_delete] == [
        ("gone.zip", SyncAction.DELETE),
        ("keep.zip", SyncAction.COPY),
    ]


def test_sync_excluded_source_files_are_not_copied() -> None:
    decisions = plan_sync(
        [Item("a.zip", 1), Item("b.tmp", 1)],
        [],
        rules=_rules("-*.tmp"),
        source_sha256=_never,
        dest_sha256=_never,
    )
    assert [d.name for d in decisions] == ["a.zip"]


def test_removal_keeps_the_reference_when_an_excluded_user_file_is_named_like_it() -> None:
    items = [Item("app/a.zip", 1, is_delta=True), Item("app/reference.bin", 1, is_delta=True)]
    assert plan_removal(items, _rules("-*/reference.bin")).reference_folders == []
    assert plan_removal(items, ()).reference_folders == ["app"]


def test_digest_candidates_are_the_names_plan_sync_hashes() -> None:
    source = [
        Item("same.zip", 7),
        Item("grown.zip", 8),
        Item("new.zip", 1),
        Item("unknown.zip", 3),
        Item("x.log", 7),
    ]
    dest = [Item("same.zip", 7), Item("grown.zip", 7), Item("unknown.zip", None), Item("x.log", 7)]
    rules = _rules("-*.log")
    asked: list[str] = []

    def digest(name: str) -> str | None:
        asked.append(name)
        return "aa"

    plan_sync(source, dest, rules=rules, source_sha256=digest, dest_sha256=digest)
    assert digest_candidates(source, dest, rules=rules) == sorted(set(asked)) == ["same.zip", "unknown.zip"]
    assert digest_candidates(source, dest, rules=rules, size_only=True) == []


@pytest.mark.parametrize(
    "ordered",
    [
        ["app-1.2.zip", "app-1.10.zip", "app-1.11.zip"],
        ["v2", "v10", "v100"],
        # PEP 440: development, pre-releases, the release, post-releases, the next release.
        [
            "app-1.0.dev1.zip",
            "app-1.0a1.zip",
            "app-1.0b2.zip",
            "app-1.0rc1.zip",
            "app-1.0rc2.zip",
            "app-1.0.zip",
            "app-1.0-1.zip",
            "app-1.0.post2.zip",
            "app-1.0.1.zip",
        ],
        # A wheel's version is the first version of its name; the tags that follow do not decide.
        [
            "grpcio_tools-1.9.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            "grpcio_tools-1.62.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        ],
        # A digit run inside a word is a number, not a version; text is compared without case.
        ["python3-tool.zip", "python10-tool.zip", "Tool-2.zip", "tool-10.zip"],
        # Letters that merely follow a version are text, not a pre- or post-release.
        ["app-1.0b1.bz2", "app-1.0.bz2", "app-1.0.post1.bz2"],
    ],
)
def test_version_order_is_the_order_releases_were_made(ordered: list[str]) -> None:
    assert in_version_order(reversed(ordered)) == ordered
    assert in_version_order(sorted(ordered)) == ordered


def test_a_trailing_zero_does_not_make_another_version() -> None:
    # 1, 1.0 and 1.0.0 are one version: only their characters order them.
    names = ["app-1.0.1.zip", "app-1.0.0.zip", "app-1.zip", "app-1.0.zip", "app-1.0a1.zip"]
    assert in_version_order(names) == [
        "app-1.0a1.zip",
        "app-1.0.0.zip",
        "app-1.0.zip",
        "app-1.zip",
        "app-1.0.1.zip",
    ]


def test_each_folder_is_seeded_by_its_oldest_release() -> None:
    names = ["a/v10", "a/v2", "b/x-1.10.zip", "b/x-1.9.zip", "top-10.zip", "top-2.zip", "a/v2.1"]
    seeds, rest = seed_indexes(names)
    assert ([names[i] for i in seeds], [names[i] for i in rest]) == (
        ["a/v2", "b/x-1.9.zip", "top-2.zip"],
        ["a/v2.1", "a/v10", "b/x-1.10.zip", "top-10.zip"],
    )


def test_items_without_a_name_seed_nothing_and_keep_their_place_at_the_end() -> None:
    assert seed_indexes([None, "f/v10", None, "f/v9"]) == ([3], [1, 0, 2])
