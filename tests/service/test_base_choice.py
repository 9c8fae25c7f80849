"""Choosing a base on what the delta is made of: a container's decoded stream.

Two release lines of an archive uploaded in turn, where every release changes every member a little
(its version string) and drifts a little more: the raw fingerprints of any two releases are noise (each
deflated member is new bytes from its first line on), so only fingerprints of the decoded streams tell
the lines apart.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path
from typing import Any

import pytest
from support.sdk import make_service, sha256

from deltaglider.adapters.storage_memory import MemoryStorage
from deltaglider.core.family import bases
from deltaglider.core.family.fingerprint import Fingerprint
from deltaglider.core.models import DeltaSpace, ObjectKey
from deltaglider.core.put import private_copy
from deltaglider.transforms import container

SPACE = DeltaSpace("b", "rel")


def two_lines(folder: Path, count: int, *, files: int = 40, lines: int = 60, seed: int = 3) -> list[Path]:
    """``count`` zips of source text, alternately of a maintenance line (1.x) and of a main line (2.x)
    that forked from it (a third of its lines rewritten). Each release writes its version into every
    file and rewrites 2% of its line's lines."""
    rng = random.Random(seed)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(3, 9)))
        for _ in range(2000)
    ]

    def text() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(4, 12)))

    maintenance = {f"src/mod{i:02d}.py": [text() for _ in range(lines)] for i in range(files)}
    main = {name: list(body) for name, body in maintenance.items()}
    names = list(maintenance)

    def drift(body: dict[str, list[str]], share: float) -> None:
        for _ in range(int(files * lines * share)):
            body[rng.choice(names)][rng.randrange(lines)] = text()

    drift(main, 0.33)
    paths = []
    for n in range(count):
        body, version = (maintenance, f"1.{n // 2}") if n % 2 == 0 else (main, f"2.{n // 2}")
        if n >= 2:
            drift(body, 0.02)
        path = folder / f"app-{version}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text_lines in body.items():
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, f'__version__ = "{version}"\n' + "\n".join(text_lines) + "\n")
        paths.append(path)
    return paths


def test_each_release_goes_against_its_own_line_and_none_becomes_a_base(tmp_path: Path) -> None:
    family = two_lines(tmp_path, 8)
    store = MemoryStorage()
    service = make_service(store)
    summaries = [service.put(path, SPACE) for path in family]

    roots = {0: sha256(family[0]), 1: sha256(family[1])}
    assert summaries[1].reason.startswith("drifted from its base")  # the main line's root: a snapshot
    for n, summary in enumerate(summaries[2:], start=2):
        assert summary.operation == "PUT_DELTA", (family[n].name, summary.reason)
        assert summary.reference_hash == roots[n % 2], (family[n].name, summary.reason)
        assert summary.stored_size < bases.DRIFT * summary.file_size, family[n].name
    base_keys = [k for k in store.keys("b") if k.rpartition("/")[2].startswith("reference")]
    assert len(base_keys) == 2, base_keys
    for path in family:
        service.get(ObjectKey("b", f"rel/{path.name}"), tmp_path / "out")
        assert sha256(tmp_path / "out") == sha256(path)


def test_a_base_records_the_fingerprint_of_its_decoded_stream(tmp_path: Path) -> None:
    first, second = two_lines(tmp_path, 2)
    store = MemoryStorage()
    service = make_service(store)
    service.put(first, SPACE)
    service.put(second, SPACE)
    recorded = {
        key: Fingerprint.from_text(head.metadata["dg-fingerprint"])
        for key in store.keys("b")
        if (head := store.head("b", key)) is not None and "dg-fingerprint" in head.metadata
    }
    assert len(recorded) == 2  # reference.bin and the main line's snapshot
    assert {fingerprint.form for fingerprint in recorded.values()} == {"decoded"}


def test_the_decoded_stream_is_made_once_and_gone_before_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fingerprint that chose the base and the guess of the decoded delta read one decoded
    stream; it is released before the parameter search writes its own."""
    family = two_lines(tmp_path, 3)
    service = make_service(MemoryStorage())
    service.put(family[0], SPACE)
    service.put(family[1], SPACE)
    decodes: list[str] = []
    real_decode = private_copy.decode_all

    def counted(path: Any, out: Any, **kwargs: Any) -> int:
        decodes.append(Path(out).name)
        return real_decode(path, out, **kwargs)

    on_disk: list[list[str]] = []
    real_search = container.encode_container

    def search(path: Any, decoded: Any, **kwargs: Any) -> Any:
        on_disk.append([p.name for p in Path(path).parent.glob("*.decoded")])
        return real_search(path, decoded, **kwargs)

    monkeypatch.setattr(private_copy, "decode_all", counted)
    monkeypatch.setattr("deltaglider.core.put.archives.encode_container", search)

    summary = service.put(family[2], SPACE)

    assert summary.transform == "zip"
    assert decodes == ["file.decoded"]
    assert on_disk == [[]]
