"""The client over a local folder: the README's use, end to end."""

from __future__ import annotations

import gzip
import io
import multiprocessing
import random
import threading
from pathlib import Path

import pytest

from deltaglider import create_client
from deltaglider.demo import main as demo_main
from deltaglider.demo import run as demo_run
from deltaglider.errors import IntegrityError


def test_similar_files_are_stored_small_and_come_back_exact(releases: list[Path], tmp_path: Path) -> None:
    client = create_client()
    store = tmp_path / "store"
    summaries = [client.upload(p, f"{store}/") for p in releases]
    assert [s.operation for s in summaries] == ["PUT", "PUT_DELTA", "PUT_DELTA", "PUT_DELTA"]
    assert all(s.savings_percent > 90 for s in summaries[1:])
    names = sorted(p.name for p in store.iterdir())
    assert names == [".dg-meta", *sorted(f"{p.name}.delta" for p in releases), "reference.bin"]
    for path in releases:
        out = tmp_path / "out" / path.name
        client.download(str(store / path.name), out)
        assert out.read_bytes() == path.read_bytes()
        assert client.verify(str(store / path.name))


def test_tar_gz_by_gzip_minus_9_round_trips(tmp_path: Path) -> None:
    data = random.Random(5).randbytes(40_000) * 4
    archive = tmp_path / "site-backup.tar.gz"
    buf = io.BytesIO()
    with gzip.GzipFile("site-backup.tar", "wb", 9, buf, mtime=1_234_567_890) as gz:
        gz.write(data)
    archive.write_bytes(buf.getvalue())
    client = create_client()
    store = tmp_path / "store"
    summary = client.upload(archive, f"{store}/")
    assert summary.operation == "PUT" and not summary.is_delta
    out = tmp_path / "restored.tar.gz"
    client.download(str(store / archive.name), out)
    assert out.read_bytes() == archive.read_bytes()


def test_corrupt_delta_gives_no_output_file(releases: list[Path], tmp_path: Path) -> None:
    client = create_client()
    store = tmp_path / "store"
    for p in releases[:2]:
        client.upload(p, f"{store}/")
    delta = store / "app-1.1.zip.delta"
    data = bytearray(delta.read_bytes())
    data[-5] ^= 0x55
    delta.write_bytes(bytes(data))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(IntegrityError, match=r"app-1\.1\.zip\.delta"):
        client.download(str(store / "app-1.1.zip"), out_dir / "app.zip")
    assert list(out_dir.iterdir()) == []
    assert not client.verify(str(store / "app-1.1.zip"))


def test_concurrent_first_uploads_on_a_local_store(releases: list[Path], tmp_path: Path) -> None:
    store = tmp_path / "store"
    barrier = threading.Barrier(len(releases))
    errors: list[BaseException] = []

    def upload(path: Path) -> None:
        client = create_client()
        barrier.wait()
        try:
            client.upload(path, f"{store}/")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(p,)) for p in releases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    client = create_client()
    for path in releases:
        out = tmp_path / "o.zip"
        client.download(str(store / path.name), out)
        assert out.read_bytes() == path.read_bytes()


def _process_upload(path: str, store: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    client = create_client()
    barrier.wait()
    client.upload(path, store)


def test_concurrent_first_uploads_from_processes(releases: list[Path], tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    store = f"{tmp_path}/store/"
    barrier = ctx.Barrier(len(releases))
    procs = [ctx.Process(target=_process_upload, args=(str(p), store, barrier)) for p in releases]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * len(procs)
    client = create_client()
    for path in releases:
        out = tmp_path / "o.zip"
        client.download(f"{store}{path.name}", out)
        assert out.read_bytes() == path.read_bytes()


def test_demo_prints_savings_and_verifies(releases: list[Path], tmp_path: Path) -> None:
    out = io.StringIO()
    assert demo_run(releases, tmp_path / "store", create_client(), out) == 0
    text = out.getvalue()
    assert "reference" in text and "delta" in text and "total" in text
    assert text.count("verified") == len(releases)
    assert "all files came back byte for byte" in text


def test_demo_cli(releases: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_main([*map(str, releases[:2]), "--store", str(tmp_path / "s")]) == 0
    assert "total" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        demo_main([str(tmp_path / "missing.zip")])


def test_progress_callbacks_count_the_bytes_moved(releases: list[Path], tmp_path: Path) -> None:
    client = create_client()
    store = tmp_path / "store"
    seen: list[int] = []
    first = client.upload(releases[0], f"{store}/", progress=seen.append)
    assert sum(seen) == first.original_size  # an upload counts the file read, whatever it stores
    seen.clear()
    second = client.upload(releases[1], f"{store}/", progress=seen.append)
    assert sum(seen) == second.original_size
    assert second.stored_size < second.original_size
    seen.clear()
    client.download(str(store / releases[1].name), tmp_path / "o.zip", progress=seen.append)
    assert sum(seen) == second.stored_size
