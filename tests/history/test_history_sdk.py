"""The history of a name through the SDK, on a folder store and on moto's S3 server: what an
overwrite and a delete keep, what ``list_versions`` and ``download(version=...)`` give, what the
switch does and does not allow, and how retention and base collection treat kept versions."""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from support.moto_server import MotoServer, run_moto_server, use_fake_aws_env

from deltaglider import DeltaGliderClient, create_client
from deltaglider.core.format.layout import HELPER_FOLDER
from deltaglider.errors import IntegrityError, InvalidURLError, NotFoundError

SIZE = 120_000


@pytest.fixture(scope="module")
def history_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto_server(tmp_path_factory.mktemp("moto") / "server.log") as server:
        yield server


@pytest.fixture(autouse=True)
def _fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))


class Store:
    """Clients and the URL of an empty folder on one store."""

    def __init__(self, kind: str, tmp_path: Path, server: MotoServer | None) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.endpoint = None if server is None else server.url
        if server is None:
            self.folder = f"file://{tmp_path}/store/db/"
            self.root = f"file://{tmp_path}/store/"
        else:
            bucket = f"dg-hist-{uuid.uuid4().hex[:12]}"
            boto3.client("s3", region_name="us-east-1", endpoint_url=server.url).create_bucket(Bucket=bucket)
            self.folder = f"s3://{bucket}/db/"
            self.root = f"s3://{bucket}/"

    def client(self, *, keep_history: bool = True, cache: str = "cache") -> DeltaGliderClient:
        return create_client(
            endpoint_url=self.endpoint,
            cache_dir=str(self.tmp_path / cache),
            log_level="WARNING",
            keep_history=keep_history,
        )

    def stored_keys(self) -> list[str]:
        """Every stored key under the store's root (metadata sidecars left out)."""
        if self.endpoint is None:
            root = self.tmp_path / "store"
            return sorted(
                str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".dg-meta" not in p.parts
            )
        bucket = self.folder[5:].split("/")[0]
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=self.endpoint)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    server = request.getfixturevalue("history_moto") if request.param == "s3" else None
    return Store(request.param, tmp_path, server)


def _releases(tmp_path: Path, count: int, *, seed: int = 7) -> list[Path]:
    """``count`` versions of one file, each a little longer and edited: a family of dumps."""
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(SIZE))
    made = []
    for i in range(count):
        for _ in range(20):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data += rng.randbytes(2_000)
        path = tmp_path / f"dump-{i}.bin"
        path.write_bytes(bytes(data))
        made.append(path)
    return made


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _upload_all(client: DeltaGliderClient, folder: str, files: list[Path], name: str = "latest.iso") -> None:
    for path in files:
        client.upload(path, folder, name=name)


def test_every_overwrite_keeps_the_version_it_replaces(store: Store, tmp_path: Path) -> None:
    client = store.client()
    files = _releases(tmp_path, 4)
    _upload_all(client, store.folder, files)

    versions = client.list_versions(store.folder + "latest.iso")

    assert [v.sha256 for v in versions] == [_sha(f) for f in reversed(files)]
    assert [v.is_current for v in versions] == [True, False, False, False]
    assert [v.size for v in versions] == [f.stat().st_size for f in reversed(files)]
    ids = [v.version_id for v in versions]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    created = [v.created_at for v in versions]
    assert all(c is not None for c in created) and created == sorted(created, reverse=True)  # type: ignore[type-var]
    # Each old version costs its delta, not a copy of the file.
    assert all(v.is_delta and v.stored_size < SIZE / 4 for v in versions[1:3])
    for version, original in zip(versions, reversed(files), strict=True):
        got = client.download(store.folder + "latest.iso", tmp_path / "out", version=version.version_id)
        assert _sha(Path(got.path)) == _sha(original)
    # The plain download is the newest.
    client.download(store.folder + "latest.iso", tmp_path / "now.iso")
    assert _sha(tmp_path / "now.iso") == _sha(files[-1])


def test_without_the_switch_an_overwrite_keeps_nothing(store: Store, tmp_path: Path) -> None:
    client = store.client(keep_history=False)
    _upload_all(client, store.folder, _releases(tmp_path, 3))

    versions = client.list_versions(store.folder + "latest.iso")

    assert [v.is_current for v in versions] == [True]
    assert not any(HELPER_FOLDER in key for key in store.stored_keys())


def test_listings_show_only_the_current_file(store: Store, tmp_path: Path) -> None:
    client = store.client()
    _upload_all(client, store.folder, _releases(tmp_path, 3))

    assert [e.name for e in client.list(store.folder)] == ["latest.iso"]
    assert [e.name for e in client.list(store.root, recursive=True)] == ["db/latest.iso"]
    assert sum(HELPER_FOLDER in key for key in store.stored_keys()) == 2


def test_a_delete_keeps_the_version_and_all_versions_removes_the_history(
    store: Store, tmp_path: Path
) -> None:
    client = store.client()
    files = _releases(tmp_path, 3)
    _upload_all(client, store.folder, files)
    url = store.folder + "latest.iso"

    client.delete(url)

    kept = client.list_versions(url)
    assert [v.sha256 for v in kept] == [_sha(f) for f in reversed(files)]
    assert not any(v.is_current for v in kept)
    assert [e.name for e in client.list(store.folder)] == []
    got = client.download(url, tmp_path / "back", version=kept[0].version_id)
    assert _sha(Path(got.path)) == _sha(files[-1])

    done = client.delete(url, all_versions=True)

    assert len(done.deleted) == 3
    assert client.list_versions(url) == []
    assert not any(HELPER_FOLDER in key for key in store.stored_keys())


def test_a_client_without_history_deletes_the_names_history_with_it(store: Store, tmp_path: Path) -> None:
    _upload_all(store.client(), store.folder, _releases(tmp_path, 3))

    store.client(keep_history=False).delete(store.folder + "latest.iso")

    assert store.client().list_versions(store.folder + "latest.iso") == []
    assert not any(HELPER_FOLDER in key for key in store.stored_keys())


def test_retention_keeps_each_names_newest_versions(store: Store, tmp_path: Path) -> None:
    client = store.client()
    files = _releases(tmp_path, 5)
    _upload_all(client, store.folder, files, name="a.iso")
    _upload_all(client, store.folder, files[:2], name="b.iso")

    result = client.retain(store.folder, keep_versions=2)

    assert sorted(result.removed) == []
    assert len(result.versions_removed) == 3 and all(v.startswith("a.iso@") for v in result.versions_removed)
    a_versions = client.list_versions(store.folder + "a.iso")
    assert [v.sha256 for v in a_versions] == [_sha(files[4]), _sha(files[3])]
    assert len(client.list_versions(store.folder + "b.iso")) == 2
    # What the kept versions are deltas against stays, even through a collection of unused bases.
    client.remove_unused_bases(store.folder)
    fresh = store.client(cache="cache2")
    for version in a_versions:
        got = fresh.download(store.folder + "a.iso", tmp_path / "out", version=version.version_id)
        assert _sha(Path(got.path)) == version.sha256


def test_a_file_retention_removes_takes_its_history(store: Store, tmp_path: Path) -> None:
    client = store.client()
    files = _releases(tmp_path, 3)
    _upload_all(client, store.folder, files, name="app-1.iso")
    _upload_all(client, store.folder, files[1:], name="app-2.iso")

    result = client.retain(store.folder, keep_last=1, order="version")

    assert result.removed == ["app-1.iso"]
    assert client.list_versions(store.folder + "app-1.iso") == []
    assert len(client.list_versions(store.folder + "app-2.iso")) == 2


def test_bases_that_only_kept_versions_need_stay(store: Store, tmp_path: Path) -> None:
    """A kept version is a delta against its folder's base: collecting unused bases, recursively too,
    must count it, and never take a history folder for a DeltaSpace of its own."""
    client = store.client()
    files = _releases(tmp_path, 2)
    client.upload(files[0], store.folder, name="x.iso", max_ratio=0.0)  # a version stored whole
    client.upload(files[1], store.folder, name="x.iso")  # founds the reference
    client.delete(store.folder + "x.iso")  # kept: only the history needs the reference now

    assert client.retain(store.folder, keep_versions=5, dry_run=True).bases_removed == []
    removed = client.remove_unused_bases(store.root, recursive=True)

    assert removed.deleted == []
    assert len(client.list_versions(store.folder + "x.iso")) == 2
    fresh = store.client(cache="cache2")
    for version in fresh.list_versions(store.folder + "x.iso"):
        got = fresh.download(store.folder + "x.iso", tmp_path / "out", version=version.version_id)
        assert _sha(Path(got.path)) == version.sha256


def test_a_folder_lists_every_names_versions(store: Store, tmp_path: Path) -> None:
    client = store.client()
    files = _releases(tmp_path, 2)
    _upload_all(client, store.folder, files, name="a.iso")
    _upload_all(client, store.folder, files, name="b.iso")
    client.delete(store.folder + "b.iso")

    found = client.list_versions(store.folder)

    assert [(v.name, v.is_current) for v in found] == [
        ("a.iso", True),
        ("a.iso", False),
        ("b.iso", False),
        ("b.iso", False),
    ]


def test_a_version_is_asked_for_by_a_well_formed_id(tmp_path: Path) -> None:
    store = Store("folder", tmp_path, None)
    client = store.client()
    _upload_all(client, store.folder, _releases(tmp_path, 2))
    url = store.folder + "latest.iso"

    with pytest.raises(InvalidURLError):
        client.download(url, tmp_path / "x", version="../../etc/passwd")
    with pytest.raises(NotFoundError):
        client.download(url, tmp_path / "x", version="00000000000000001-0000000000000000")
    assert not (tmp_path / "x").exists()


def test_a_kept_object_that_holds_another_version_is_refused(tmp_path: Path) -> None:
    """A history key is trusted for nothing: the version it holds must carry the ID it is kept under."""
    store = Store("folder", tmp_path, None)
    client = store.client()
    _upload_all(client, store.folder, _releases(tmp_path, 3))
    url = store.folder + "latest.iso"
    old, older = client.list_versions(url)[1:]
    history = tmp_path / "store" / "db" / ".deltaglider" / "history" / "latest.iso"
    planted = history / (older.version_id[:-1] + ("0" if older.version_id[-1] != "0" else "1"))
    (history / older.version_id).rename(planted)  # its metadata (sidecar) moves with it

    with pytest.raises(IntegrityError):
        client.download(url, tmp_path / "x", version=planted.name)
    got = client.download(url, tmp_path / "y", version=old.version_id)
    assert _sha(Path(got.path)) == old.sha256


def test_the_switch_is_not_for_the_originals_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="original_compatible"):
        create_client(cache_dir=str(tmp_path / "c"), keep_history=True, original_compatible=True)
    monkeypatch.setenv("DG_KEEP_HISTORY", "1")
    client = create_client(cache_dir=str(tmp_path / "c"))
    assert client.service.keep_history


def test_boto3_style_calls_list_and_get_versions(history_moto: MotoServer, tmp_path: Path) -> None:
    store = Store("s3", tmp_path, history_moto)
    client = store.client()
    files = _releases(tmp_path, 3)
    _upload_all(client, store.folder, files)
    bucket = store.folder[5:].split("/")[0]

    answer = client.list_object_versions(Bucket=bucket, Prefix="db/latest")

    listed = answer["Versions"]
    assert [v["Key"] for v in listed] == ["db/latest.iso"] * 3
    assert [v["IsLatest"] for v in listed] == [True, False, False]
    assert client.list_object_versions(Bucket=bucket, Prefix="db/other")["Versions"] == []
    for version, original in zip(listed, reversed(files), strict=True):
        got = client.get_object(Bucket=bucket, Key="db/latest.iso", VersionId=version["VersionId"])
        assert got["VersionId"] == version["VersionId"]
        assert got["Body"].read() == original.read_bytes()


def test_stats_count_what_the_histories_take(store: Store, tmp_path: Path) -> None:
    client = store.client()
    _upload_all(client, store.folder, _releases(tmp_path, 3))
    kept = client.list_versions(store.folder + "latest.iso")[1:]

    for summary in (client.stats(store.folder), client.stats(store.folder, recursive=False)):
        assert summary.file_count == 1
        assert summary.history_count == 2
        assert summary.history_bytes == sum(v.stored_size for v in kept)


def test_a_whole_file_kept_as_a_base_is_kept_in_history_as_a_zero_diff(store: Store, tmp_path: Path) -> None:
    """A file stored whole that later uploads were made against is kept as a base when it is
    overwritten: its history entry is then a zero-diff against that base, not a second copy."""
    client = store.client()
    rng = random.Random(5)
    (tmp_path / "ref.iso").write_bytes(rng.randbytes(1_100_000))
    client.upload(tmp_path / "ref.iso", store.folder)  # the folder's reference
    drifted = rng.randbytes(1_300_000)
    (tmp_path / "x.iso").write_bytes(drifted)
    first = client.upload(tmp_path / "x.iso", store.folder)  # too far from the reference: whole
    (tmp_path / "y.iso").write_bytes(drifted[:-5000] + rng.randbytes(5000))
    second = client.upload(tmp_path / "y.iso", store.folder)  # a delta against x.iso
    assert not first.is_delta and second.is_delta, (first.reason, second.reason)
    (tmp_path / "x2.iso").write_bytes(rng.randbytes(1_000))

    client.upload(tmp_path / "x2.iso", store.folder, name="x.iso")

    kept = client.list_versions(store.folder + "x.iso")[1]
    assert kept.is_delta and kept.stored_size < 1_000, kept
    fresh = store.client(cache="cache2")
    got = fresh.download(store.folder + "x.iso", tmp_path / "back", version=kept.version_id)
    assert _sha(Path(got.path)) == _sha(tmp_path / "x.iso")
    fresh.download(store.folder + "y.iso", tmp_path / "y-back")
    assert _sha(tmp_path / "y-back") == _sha(tmp_path / "y.iso")


def test_a_version_the_original_wrote_is_kept_under_its_id(history_moto: MotoServer, tmp_path: Path) -> None:
    """An object with no write stamp (the original's) gets its ID from its date and ETag; its kept
    copy carries that ID, and reads back under it."""
    store = Store("s3", tmp_path, history_moto)
    bucket = store.folder[5:].split("/")[0]
    old = b"written by the original 6.2.0\n" * 100
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=history_moto.url)
    s3.put_object(
        Bucket=bucket,
        Key="db/notes.txt",
        Body=old,
        Metadata={
            "dg-file-sha256": hashlib.sha256(old).hexdigest(),
            "dg-file-size": str(len(old)),
            "dg-compression": "none",
            "dg-original-name": "notes.txt",
        },
    )
    client = store.client()
    before = client.list_versions(store.folder + "notes.txt")
    (tmp_path / "notes.txt").write_bytes(b"ours now\n")
    time.sleep(1.1)  # S3 dates have whole seconds: its kept copy's date differs from its own

    client.upload(tmp_path / "notes.txt", store.folder)

    versions = client.list_versions(store.folder + "notes.txt")
    assert [v.version_id for v in versions[1:]] == [before[0].version_id]
    got = client.download(store.folder + "notes.txt", tmp_path / "old", version=before[0].version_id)
    assert Path(got.path).read_bytes() == old


def test_a_base_file_overwritten_by_its_own_delta_is_stored_once(store: Store, tmp_path: Path) -> None:
    """The bench's finding: a file stored whole became the base of its next version, uploaded under
    its name; its content must be stored once (as the base), its kept version a zero-diff."""
    client = store.client()
    rng = random.Random(9)
    (tmp_path / "ref.iso").write_bytes(rng.randbytes(1_000_000))
    client.upload(tmp_path / "ref.iso", store.folder)
    night = bytearray(rng.randbytes(1_200_000))
    (tmp_path / "n1.iso").write_bytes(bytes(night))
    assert not client.upload(tmp_path / "n1.iso", store.folder, name="latest.iso").is_delta
    night[500:600] = rng.randbytes(100)
    (tmp_path / "n2.iso").write_bytes(bytes(night))

    assert client.upload(tmp_path / "n2.iso", store.folder, name="latest.iso").is_delta

    versions = client.list_versions(store.folder + "latest.iso")
    assert [v.sha256 for v in versions] == [_sha(tmp_path / "n2.iso"), _sha(tmp_path / "n1.iso")]
    assert versions[1].stored_size < 1_000
    stored = client.stats(store.folder)
    assert stored.stored_bytes + stored.history_bytes < 1_000_000 + 1_200_000 + 50_000
    fresh = store.client(cache="cache2")
    got = fresh.download(store.folder + "latest.iso", tmp_path / "back", version=versions[1].version_id)
    assert _sha(Path(got.path)) == _sha(tmp_path / "n1.iso")


def test_keep_within_applies_to_each_names_versions(tmp_path: Path) -> None:
    store = Store("folder", tmp_path, None)
    client = store.client()
    files = _releases(tmp_path, 3)
    _upload_all(client, store.folder, files)

    kept_all = client.retain(store.folder, keep_within=timedelta(days=1))
    # keep_last keeps the file; keep_within, older than nothing, keeps none of its kept versions.
    dropped = client.retain(store.folder, keep_last=1, keep_within=timedelta(0))

    assert kept_all.versions_removed == [] and kept_all.removed == []
    assert dropped.removed == [] and len(dropped.versions_removed) == 2
    versions = client.list_versions(store.folder + "latest.iso")
    assert [(v.sha256, v.is_current) for v in versions] == [(_sha(files[-1]), True)]


@pytest.mark.parametrize("mode", ["quick", "sampled", "detailed"])
def test_bucket_stats_count_the_histories_and_see_them_change(
    history_moto: MotoServer, tmp_path: Path, mode: str
) -> None:
    from deltaglider.boto_api.stats import bucket_summary

    store = Store("s3", tmp_path, history_moto)
    bucket = store.folder[5:].split("/")[0]
    client = store.client()
    _upload_all(client, store.folder, _releases(tmp_path, 3))

    before = bucket_summary(client.service, bucket, mode)  # type: ignore[arg-type]
    client.retain(store.folder, keep_versions=2)  # one kept version fewer, no file changed
    after = bucket_summary(client.service, bucket, mode)  # type: ignore[arg-type]

    kept = client.list_versions(store.folder + "latest.iso")[1:]
    assert before.history_count == 2 and before.file_count == 1
    assert after.history_count == 1 and after.history_bytes == sum(v.stored_size for v in kept)
