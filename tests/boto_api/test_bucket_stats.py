"""get_bucket_stats: the original's modes give the right totals for what was uploaded, and the totals
cached in the bucket are reused only while no object of the bucket changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.boto_bench import Bench, family

from deltaglider.boto_api import stats as bucket_stats
from deltaglider.boto_api.models import BucketStats
from deltaglider.core.service import DeltaService
from deltaglider.errors import InvalidURLError

CACHE_KEY = ".deltaglider/stats_native.json"


def _upload(bench: Bench, releases: list[Path], notes: Path) -> None:
    for path in releases:
        bench.client.upload(path, bench.url("app/"))
    bench.client.upload(notes, bench.url("docs/"))


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("release notes\n" * 50)  # small, no archive: stored whole
    return path


def _stored_total(bench: Bench) -> int:
    return sum(size for key, size in bench.stored().items() if not key.startswith(".deltaglider/"))


def test_detailed_totals_are_those_of_the_files_uploaded(
    bench: Bench, releases: list[Path], notes: Path
) -> None:
    _upload(bench, releases, notes)
    found = bench.client.get_bucket_stats(bench.bucket, mode="detailed")
    files = sum(p.stat().st_size for p in releases) + notes.stat().st_size
    assert isinstance(found, BucketStats)
    assert found.bucket == bench.bucket
    assert (found.object_count, found.delta_objects, found.direct_objects) == (5, 4, 1)
    assert found.total_size == files
    assert found.compressed_size == _stored_total(bench)  # the reference counted in, the cache not
    assert found.space_saved == files - found.compressed_size
    assert found.average_compression_ratio == pytest.approx(found.space_saved / files)
    assert found.object_limit_reached is False
    assert CACHE_KEY in bench.stored()


def test_quick_makes_no_head_and_claims_no_saving_it_has_not_seen(
    folder_bench: Bench, releases: list[Path], notes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = folder_bench
    _upload(bench, releases, notes)
    stored = bench.stored()
    heads: list[str] = []
    storage = type(bench.client.service.storage)
    real_head = storage.head

    def counted(self: object, bucket: str, key: str) -> object:
        heads.append(key)
        return real_head(self, bucket, key)  # type: ignore[arg-type]

    monkeypatch.setattr(storage, "head", counted)
    found = bench.client.get_bucket_stats(bench.bucket, mode="quick", use_cache=False)
    assert heads == []
    deltas = [size for key, size in stored.items() if key.endswith(".delta")]
    assert found.total_size == sum(deltas) + notes.stat().st_size
    assert found.compressed_size == sum(stored.values())
    assert found.space_saved == 0
    assert (found.object_count, found.delta_objects, found.direct_objects) == (5, 4, 1)


def test_quick_counts_the_sizes_an_earlier_head_learned_for_unchanged_deltas(
    bench: Bench, releases: list[Path], notes: Path, tmp_path: Path
) -> None:
    _upload(bench, releases, notes)
    exact = bench.client.get_bucket_stats(bench.bucket, mode="detailed")
    assert bench.client.get_bucket_stats(bench.bucket, mode="quick") == exact  # same objects: exact answer
    extra = family(tmp_path, 6, stem="app")[5]
    bench.client.upload(extra, bench.url("app/"))
    new_delta = bench.stored()["app/" + extra.name + ".delta"]
    quick = bench.client.get_bucket_stats(bench.bucket, mode="quick")
    # The old deltas' sizes are known from the detailed run; the new one counts as stored.
    assert quick.total_size == exact.total_size + new_delta
    assert quick.object_count == exact.object_count + 1


def test_sampled_heads_one_delta_per_folder_and_applies_its_size(
    folder_bench: Bench, releases: list[Path], notes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = folder_bench
    _upload(bench, releases, notes)
    heads: list[str] = []
    storage = type(bench.client.service.storage)
    real_head = storage.head

    def counted(self: object, bucket: str, key: str) -> object:
        heads.append(key)
        return real_head(self, bucket, key)  # type: ignore[arg-type]

    monkeypatch.setattr(storage, "head", counted)
    found = bench.client.get_bucket_stats(bench.bucket, mode="sampled", use_cache=False)
    assert heads == ["app/" + releases[0].name + ".delta"]
    # The releases all have one size, so the sample's stands for each of them exactly.
    assert found.total_size == sum(p.stat().st_size for p in releases) + notes.stat().st_size


@pytest.mark.parametrize("change", ["upload", "delete", "same-size overwrite"])
def test_the_cache_is_not_reused_once_the_bucket_changed(
    bench: Bench, releases: list[Path], notes: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _upload(bench, releases[:3], notes)
    before = bench.client.get_bucket_stats(bench.bucket, mode="detailed")
    if change == "upload":
        bench.client.upload(releases[3], bench.url("app/"))
    elif change == "delete":
        bench.client.delete(bench.url("docs/notes.txt"))
    else:
        # Same name, same size, other bytes: the original's count-and-size check sees no change.
        notes.write_text("RELEASE NOTES\n" * 50)
        bench.client.upload(notes, bench.url("docs/"))
    calls: list[str] = []
    real_stats = DeltaService.stats

    def recount(self: DeltaService, *args: object, **kwargs: object) -> object:
        calls.append("stats")
        return real_stats(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DeltaService, "stats", recount)
    after = bench.client.get_bucket_stats(bench.bucket, mode="detailed")
    assert calls == ["stats"], "the cached totals were used for a bucket that changed"
    if change == "upload":
        assert after.object_count == before.object_count + 1
        assert after.total_size == before.total_size + releases[3].stat().st_size
    elif change == "delete":
        assert after.object_count == before.object_count - 1
        assert after.total_size == before.total_size - notes.stat().st_size
    else:
        assert after == before  # same totals, but computed again


def test_an_unchanged_bucket_is_answered_from_the_cache(
    bench: Bench, releases: list[Path], notes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _upload(bench, releases, notes)
    first = bench.client.get_bucket_stats(bench.bucket, mode="detailed")

    def refuse(self: DeltaService, *args: object, **kwargs: object) -> object:
        raise AssertionError("computed again")

    monkeypatch.setattr(DeltaService, "stats", refuse)
    assert bench.client.get_bucket_stats(bench.bucket, mode="detailed") == first
    assert bench.client.get_bucket_stats(f"s3://{bench.bucket}/", mode="sampled") == first
    with pytest.raises(AssertionError, match="computed again"):
        bench.client.get_bucket_stats(bench.bucket, mode="detailed", refresh_cache=True)
    with pytest.raises(AssertionError, match="computed again"):
        bench.client.get_bucket_stats(bench.bucket, mode="detailed", use_cache=False)


def test_use_cache_false_writes_no_cache(folder_bench: Bench, releases: list[Path], notes: Path) -> None:
    _upload(folder_bench, releases, notes)
    folder_bench.client.get_bucket_stats(folder_bench.bucket, mode="detailed", use_cache=False)
    assert CACHE_KEY not in folder_bench.stored()


def test_a_damaged_cache_is_ignored_and_rewritten(
    folder_bench: Bench, releases: list[Path], notes: Path
) -> None:
    bench = folder_bench
    _upload(bench, releases, notes)
    exact = bench.client.get_bucket_stats(bench.bucket, mode="detailed")
    assert bench.root is not None
    cache = bench.root / bench.bucket / CACHE_KEY
    doc = json.loads(cache.read_text())
    doc["results"]["detailed"]["file_count"] = "many"
    cache.write_text(json.dumps(doc))
    assert bench.client.get_bucket_stats(bench.bucket, mode="detailed") == exact
    assert json.loads(cache.read_text())["results"]["detailed"]["file_count"] == exact.object_count


def test_the_original_stats_files_and_the_cache_are_not_counted(
    folder_bench: Bench, releases: list[Path], notes: Path
) -> None:
    bench = folder_bench
    _upload(bench, releases, notes)
    assert bench.root is not None
    helper = bench.root / bench.bucket / ".deltaglider" / "stats_quick.json"
    helper.parent.mkdir()
    helper.write_text("{}")  # as the original writes its own
    found = bench.client.get_bucket_stats(bench.bucket, mode="detailed", use_cache=False)
    assert found.object_count == 5


def test_bad_mode_and_bucket_are_refused(folder_bench: Bench) -> None:
    with pytest.raises(ValueError, match="mode"):
        folder_bench.client.get_bucket_stats("releases", mode="exact")  # type: ignore[arg-type]
    with pytest.raises(InvalidURLError):
        folder_bench.client.get_bucket_stats("s3://releases/app/")
    assert bucket_stats.MODES == ("quick", "sampled", "detailed")
