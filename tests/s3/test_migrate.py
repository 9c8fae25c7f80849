"""``client.migrate``: one store folder into another, keeping the source folder's name by default,
resumable, planned by ``dry_run`` and stopped by ``confirm``; a file the source holds whole is copied
inside the store (S3: CopyObject), the others stored as uploads are. On a folder store and on moto's
S3 server."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.artifacts import release_zips
from support.variants import CLIENT_ON_S3_TOO

from deltaglider import DeltaGliderClient
from deltaglider.transforms.sniff import COMPRESS_MAGIC
from deltaglider.trees import Done, TreeResult
from deltaglider.urls import parse_url


@pytest.fixture
def filled(client_and_folder: tuple[DeltaGliderClient, str], tmp_path: Path) -> tuple[DeltaGliderClient, str]:
    """A store folder ``.../app/`` holding three releases (a reference and deltas), a compressed
    file (stored whole) and a sub-folder's release; returns the client and the folder above it."""
    client, folder = client_and_folder
    (tmp_path / "files").mkdir()
    for path in release_zips(tmp_path / "files", "app", 3, size=60_000):
        client.upload(path, folder)
    # Unix compress (.Z) content: no delta can see into it, so it is stored whole (bzip2 content is
    # decoded since issue 22).
    notes = tmp_path / "files" / "notes.txt.Z"
    notes.write_bytes(COMPRESS_MAGIC + b"\x90" + random.Random(7).randbytes(5_000))
    assert not client.upload(notes, folder).is_delta
    client.upload(tmp_path / "files" / "app-1.0.zip", folder + "old/")
    return client, folder.removesuffix("app/")


NAMES = ["app-1.0.zip", "app-1.1.zip", "app-1.2.zip", "notes.txt.Z", "old/app-1.0.zip"]


def _names(client: DeltaGliderClient, folder: str) -> list[str]:
    return sorted(entry.name for entry in client.list(folder, recursive=True))


def _raw_metadata(client: DeltaGliderClient, url: str) -> dict[str, str]:
    loc = parse_url(url)
    head = client._service_for(loc).storage.head(loc.bucket, loc.key)
    assert head is not None, url
    return dict(head.metadata)


@CLIENT_ON_S3_TOO
def test_migrate_keeps_the_folders_name_and_copies_whole_files_inside_the_store(
    filled: tuple[DeltaGliderClient, str], tmp_path: Path
) -> None:
    client, root = filled
    result = client.migrate(root + "app/", root + "new")
    assert result.ok and sorted(result.copied) == NAMES
    assert _names(client, root + "new/") == [f"app/{name}" for name in NAMES]
    for name in NAMES:
        client.download(root + f"new/app/{name}", tmp_path / "out")
        client.download(root + f"app/{name}", tmp_path / "src")
        assert (tmp_path / "out").read_bytes() == (tmp_path / "src").read_bytes()
        assert client.verify(root + f"new/app/{name}")
    # The compressed file, stored whole at the source, was copied as it is stored: the same object.
    by_name = {end.step.name: end for end in result.ended if isinstance(end, Done)}
    assert by_name["notes.txt.Z"].upload is not None and by_name["notes.txt.Z"].upload.operation == "COPY"
    assert _raw_metadata(client, root + "new/app/notes.txt.Z") == _raw_metadata(
        client, root + "app/notes.txt.Z"
    )
    # The releases went the long way: stored at the destination as uploads are, deltas included.
    assert by_name["app-1.2.zip"].upload is not None and by_name["app-1.2.zip"].upload.is_delta


def test_a_second_run_resumes_and_no_preserve_prefix_lands_in_the_folder_itself(
    filled: tuple[DeltaGliderClient, str],
) -> None:
    client, root = filled
    client.delete(root + "app/app-1.1.zip")
    first = client.migrate(root + "app/", root + "flat/", preserve_prefix=False)
    assert first.ok and _names(client, root + "flat/") == [n for n in NAMES if n != "app-1.1.zip"]
    back = client.migrate(root + "app/", root + "flat/", preserve_prefix=False, dry_run=True)
    assert back.planned == [] and len(back.skipped) == 4
    assert client.copy(root + "flat/app-1.0.zip", root + "app/app-1.1.zip").ok
    again = client.migrate(root + "app/", root + "flat/", preserve_prefix=False)
    assert again.copied == ["app-1.1.zip"] and [s.name for s in again.skipped] == [
        "app-1.0.zip",
        "app-1.2.zip",
        "notes.txt.Z",
        "old/app-1.0.zip",
    ]


def test_dry_run_and_a_refused_confirmation_change_nothing(filled: tuple[DeltaGliderClient, str]) -> None:
    client, root = filled
    planned = client.migrate(root + "app/", root + "new/", dry_run=True)
    assert sorted(step.name for step in planned.planned) == NAMES and planned.ended == []
    seen: list[TreeResult] = []

    def refuse(plan: TreeResult) -> bool:
        seen.append(plan)
        return False

    refused = client.migrate(root + "app/", root + "new/", confirm=refuse)
    assert len(seen) == 1 and sorted(step.name for step in seen[0].planned) == NAMES
    assert refused.ended == [] and _names(client, root + "new/") == []
    # Both sides must be stores.
    with pytest.raises(ValueError, match="both must be"):
        client.migrate(root + "app/", "/tmp/not-a-store/")
