"""upload_chunked, upload_batch and download_batch: where files go, the original's callbacks, and
failures reported without stopping the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.boto_bench import Bench

from deltaglider.errors import NotFoundError


def test_upload_batch_stores_each_file_in_the_folder_under_its_name(
    bench: Bench, releases: list[Path]
) -> None:
    calls: list[tuple[str, int, int]] = []
    done = bench.client.upload_batch(
        releases, bench.url("app"), progress_callback=lambda *args: calls.append(args)
    )
    assert [s.key.rpartition("/")[2].removesuffix(".delta") for s in done[1:]] == [
        p.name for p in releases[1:]
    ]
    assert done[0].key == "app/reference.bin"  # the first release became the reference
    assert all(s.is_delta for s in done[1:])
    assert sorted(calls) == sorted((p.name, i, 4) for i, p in zip(range(1, 5), releases, strict=True)) or (
        sorted(name for name, _, _ in calls) == sorted(p.name for p in releases)
        and sorted(i for _, i, _ in calls) == [1, 2, 3, 4]
    )
    assert {c[2] for c in calls} == {4}
    listed = [e.name for e in bench.client.list(bench.url("app/"))]
    assert listed == [p.name for p in releases]


def test_upload_batch_raises_the_first_failure_after_the_others_went(
    folder_bench: Bench, releases: list[Path], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.tar"
    with pytest.raises(FileNotFoundError):
        folder_bench.client.upload_batch([releases[0], missing, releases[1]], folder_bench.url("app/"))
    assert [e.name for e in folder_bench.client.list(folder_bench.url("app/"))] == [
        p.name for p in releases[:2]
    ]


def test_download_batch_round_trips_and_names_files_without_delta(
    bench: Bench, releases: list[Path], tmp_path: Path
) -> None:
    bench.client.upload_batch(releases, bench.url("app/"))
    urls = [bench.url("app/" + p.name) for p in releases[:2]] + [
        bench.url("app/" + releases[2].name + ".delta")
    ]
    calls: list[tuple[str, int, int]] = []
    out = tmp_path / "out" / "deep"
    paths = bench.client.download_batch(urls, out, progress_callback=lambda *args: calls.append(args))
    assert paths == [out / p.name for p in releases[:3]]
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in releases[:3]]
    assert sorted(calls) == sorted(
        [(p.name, i, 3) for p, i in zip(releases[:3], [1, 2, 3], strict=True)]
    ) or (sorted(i for _, i, _ in calls) == [1, 2, 3])


def test_download_batch_refuses_two_urls_for_one_file_before_fetching(
    folder_bench: Bench, releases: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=releases[0].name):
        folder_bench.client.download_batch(
            [folder_bench.url("a/" + releases[0].name), folder_bench.url("b/" + releases[0].name)], out
        )
    assert not out.exists()


def test_download_batch_raises_the_first_failure(
    folder_bench: Bench, releases: list[Path], tmp_path: Path
) -> None:
    folder_bench.client.upload(releases[0], folder_bench.url("app/"))
    out = tmp_path / "out"
    with pytest.raises(NotFoundError):
        folder_bench.client.download_batch(
            [folder_bench.url("app/nope.tar"), folder_bench.url("app/" + releases[0].name)], out
        )
    assert (out / releases[0].name).read_bytes() == releases[0].read_bytes()


@pytest.mark.parametrize("where", ["folder/", "folder/{name}", "folder"])
def test_upload_chunked_reports_each_chunk_then_the_end(
    bench: Bench, releases: list[Path], where: str
) -> None:
    path = releases[0]
    size = path.stat().st_size
    calls: list[tuple[int, int, int, int]] = []
    summary = bench.client.upload_chunked(
        path,
        bench.url(where.format(name=path.name)),
        chunk_size=64 * 1024,
        progress_callback=lambda *a: calls.append(a),
    )
    assert summary.original_size == size
    total = -(-size // (64 * 1024))
    assert calls[-1] == (total, total, size, size)
    assert [c[0] for c in calls] == list(range(1, total + 1))
    assert all(c[1] == total and c[3] == size for c in calls)
    assert [c[2] for c in calls[:-1]] == [n * 64 * 1024 for n in range(1, total)]
    assert [e.name for e in bench.client.list(bench.url("folder/"))] == [path.name]


def test_upload_chunked_small_file_and_bad_chunk_size(folder_bench: Bench, tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_text("x" * 10)
    calls: list[tuple[int, int, int, int]] = []
    folder_bench.client.upload_chunked(
        small, folder_bench.url("s/"), progress_callback=lambda *a: calls.append(a)
    )
    assert calls == [(1, 1, 10, 10)]
    with pytest.raises(ValueError, match="chunk_size"):
        folder_bench.client.upload_chunked(small, folder_bench.url("s/"), chunk_size=0)
