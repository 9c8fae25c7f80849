"""The package index of ``deltaglider serve``: PEP 503 HTML and PEP 691 JSON over the wheels and sdists
stored in a folder of the store, and pip installing from it into a fresh virtual environment."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from serve.web_support import BUCKET, INDEX_URL, WebApp, folder_client, make_wheel, serving, web_app
from starlette.testclient import TestClient

from deltaglider.core.models import ListEntry
from deltaglider.serve import metrics, pypi

#: PEP 700's upload-time: ISO 8601, UTC, ``Z``.
UPLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@dataclass
class Index:
    web: WebApp
    http: TestClient
    originals: dict[str, bytes]  # file name -> the bytes uploaded


def _sdist(folder: Path, stem: str) -> Path:
    path = folder / f"{stem}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        data = f"[project]\nname = '{stem}'\n".encode()
        info = tarfile.TarInfo(f"{stem}/pyproject.toml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    """Two versions of ``demo-pkg`` in a folder of their own (the second a delta of the first), an
    sdist of ``Other.Project`` flat in the index folder, and a file that is no distribution."""
    serve_metrics = metrics.ServeMetrics()
    client = folder_client(tmp_path, serve_metrics)
    made = tmp_path / "made"
    made.mkdir()
    wheels = [make_wheel(made, "demo-pkg", v, module="demo_pkg") for v in ("1.0", "1.1")]
    stored = [client.upload(w, INDEX_URL + "demo-pkg/") for w in wheels]
    assert stored[1].is_delta, "the second wheel is a delta: the index serves a rebuilt file"
    sdist = _sdist(made, "Other.Project-2.0")
    client.upload(sdist, INDEX_URL)
    notes = made / "README.txt"
    notes.write_text("not a distribution")
    client.upload(notes, INDEX_URL)
    web = web_app(client, serve_metrics, tmp_path / "scratch")
    originals = {p.name: p.read_bytes() for p in [*wheels, sdist]}
    with TestClient(web.app) as http:
        yield Index(web, http, originals)


class _Links(HTMLParser):
    """The anchors of a page: (href, text, attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, dict[str, str | None]]] = []
        self.meta: dict[str, str | None] = {}
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open = dict(attrs)
        elif tag == "meta":
            found = dict(attrs)
            self.meta[found.get("name") or ""] = found.get("content")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.links.append((self._open["href"] or "", data, self._open))
            self._open = None


def _links(page: str) -> _Links:
    parser = _Links()
    parser.feed(page)
    return parser


def test_json_project_page_follows_pep_691_and_700(index: Index) -> None:
    response = index.http.get("/simple/demo-pkg/", headers={"Accept": pypi.JSON})
    assert response.status_code == 200
    assert response.headers["content-type"] == pypi.JSON
    assert "accept" in response.headers["vary"].lower()
    document = response.json()
    assert set(document) == {"meta", "name", "files", "versions"}
    assert document["meta"] == {"api-version": "1.1"}
    assert document["name"] == "demo-pkg"
    assert sorted(document["versions"]) == ["1.0", "1.1"]
    assert [f["filename"] for f in document["files"]] == [
        "demo_pkg-1.0-py3-none-any.whl",
        "demo_pkg-1.1-py3-none-any.whl",
    ]
    for record in document["files"]:
        original = index.originals[record["filename"]]
        assert set(record) <= {
            "filename",
            "url",
            "hashes",
            "requires-python",
            "dist-info-metadata",
            "gpg-sig",
            "yanked",
            "size",
            "upload-time",
            "core-metadata",
        }
        assert record["hashes"] == {"sha256": hashlib.sha256(original).hexdigest()}
        assert record["size"] == len(original)
        assert UPLOAD_TIME.match(record["upload-time"]), record["upload-time"]
        downloaded = index.http.get(record["url"])
        assert downloaded.status_code == 200
        assert downloaded.content == original


def test_json_project_list(index: Index) -> None:
    response = index.http.get("/simple/", headers={"Accept": "application/vnd.pypi.simple.latest+json"})
    assert response.headers["content-type"] == pypi.JSON
    assert response.json() == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "demo-pkg"}, {"name": "other-project"}],
    }


def test_html_pages_follow_pep_503(index: Index) -> None:
    root = index.http.get("/simple/")
    assert root.status_code == 200
    assert root.headers["content-type"].startswith("text/html")
    found = _links(root.text)
    assert found.meta["pypi:repository-version"] == "1.1"
    assert [(href, text) for href, text, _ in found.links] == [
        ("demo-pkg/", "demo-pkg"),
        ("other-project/", "other-project"),
    ]
    for href, _, _ in found.links:
        page = index.http.get("/simple/" + href)
        assert page.status_code == 200
        for link, text, _ in _links(page.text).links:
            url, _, fragment = link.partition("#")
            original = index.originals[text]
            assert fragment == f"sha256={hashlib.sha256(original).hexdigest()}"
            assert index.http.get(url).content == original


def test_the_hash_comes_from_the_metadata_not_a_rebuild(index: Index) -> None:
    """The project page HEADs each file: a rebuild would count a get in the client's metrics."""
    for accept in (pypi.JSON, "text/html"):
        assert index.http.get("/simple/demo-pkg/", headers={"Accept": accept}).status_code == 200
    assert (
        index.web.metrics.registry.get_sample_value("deltaglider_get_total", {"operation": "GET_DELTA"})
        is None
    )
    assert index.web.metrics.registry.get_sample_value("deltaglider_get_total", {"operation": "GET"}) is None


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("*/*", "text/html"),
        ("text/html", "text/html"),
        (pypi.HTML, pypi.HTML),
        (pypi.JSON, pypi.JSON),
        # What pip sends: JSON first.
        (f"{pypi.JSON}, {pypi.HTML}; q=0.1, text/html; q=0.01", pypi.JSON),
        (f"{pypi.JSON}; q=0.2, text/html; q=0.5", "text/html"),
        (f"{pypi.JSON}; q=0, text/html", "text/html"),
        ("application/xml", None),
        (f"{pypi.JSON}; q=0", None),
    ],
)
def test_content_negotiation(accept: str | None, expected: str | None) -> None:
    assert pypi.choose_format(accept) == expected


def test_negotiated_responses(index: Index) -> None:
    html = index.http.get("/simple/demo-pkg/", headers={"Accept": pypi.HTML})
    assert html.headers["content-type"] == pypi.HTML
    assert "#sha256=" in html.text
    refused = index.http.get("/simple/demo-pkg/", headers={"Accept": "application/xml"})
    assert refused.status_code == 406
    by_query = index.http.get(
        "/simple/demo-pkg/", params={"format": pypi.JSON}, headers={"Accept": "text/html"}
    )
    assert by_query.headers["content-type"] == pypi.JSON
    assert json.loads(by_query.text)["name"] == "demo-pkg"


def test_names_are_normalized(index: Index) -> None:
    moved = index.http.get("/simple/Demo_Pkg/", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == "/simple/demo-pkg/"
    page = index.http.get("/simple/Other.Project/", headers={"Accept": pypi.JSON})
    assert page.json()["name"] == "other-project"
    assert page.json()["files"][0]["filename"] == "Other.Project-2.0.tar.gz"
    assert index.http.get("/simple/no-such-project/").status_code == 404


def _entry(name: str) -> ListEntry:
    return ListEntry(bucket=BUCKET, name=name, key=name, original_size=1, stored_size=1, is_delta=False)


@pytest.mark.parametrize(
    ("name", "project", "version"),
    [
        ("demo_pkg-1.0-py3-none-any.whl", "demo-pkg", "1.0"),
        ("Demo.Pkg-2.0-1-cp311-abi3-manylinux_2_28_x86_64.whl", "demo-pkg", "2.0"),
        ("sub/zope.interface-6.0.tar.gz", "zope-interface", "6.0"),
        ("legacy-name-with-dashes-0.9b1.zip", "legacy-name-with-dashes", "0.9b1"),
        ("foo-2-1.0.tar.gz", "foo-2", "1.0"),
    ],
)
def test_distribution_names(name: str, project: str, version: str) -> None:
    found = pypi.distribution(_entry(name), "pypi/")
    assert found is not None
    assert (found.project, found.version, found.key) == (project, version, "pypi/" + name)


@pytest.mark.parametrize("name", ["README.txt", "broken.whl", "a-b.whl", "noversion.tar.gz", "sub/"])
def test_what_is_not_a_distribution(name: str) -> None:
    assert pypi.distribution(_entry(name)) is None


def test_a_file_removed_while_the_page_is_made_is_a_503(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltaglider.errors import NotFoundError

    def gone(url: str) -> None:
        raise NotFoundError(url)

    monkeypatch.setattr(index.web.client, "head", gone)
    assert index.http.get("/simple/demo-pkg/").status_code == 503


def test_links_follow_a_mount_prefix(index: Index) -> None:
    """Mounted under a prefix no bucket can have (``-``), every link and redirect carries it."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/-", routes=index.web.app.routes)])
    with TestClient(app) as http:
        document = http.get("/-/simple/demo-pkg/", headers={"Accept": pypi.JSON}).json()
        for record in document["files"]:
            assert record["url"].startswith("/-/files/")
            assert http.get(record["url"]).content == index.originals[record["filename"]]
        assert (
            http.get("/-/simple/Demo.Pkg/", follow_redirects=False).headers["location"]
            == "/-/simple/demo-pkg/"
        )


def test_an_index_whose_folder_is_missing_is_empty(tmp_path: Path) -> None:
    from starlette.applications import Starlette

    client = folder_client(tmp_path)
    for missing in (f"s3://{BUCKET}/no-such-folder/", "s3://no-such-bucket/pypi/"):
        app = Starlette(routes=pypi.routes(client, pypi.IndexOptions(missing)))
        with TestClient(app) as http:
            assert http.get("/simple/", headers={"Accept": pypi.JSON}).json()["projects"] == []
            assert http.get("/simple/demo-pkg/").status_code == 404


def test_the_index_is_a_folder_of_the_store() -> None:
    with pytest.raises(ValueError, match="folder of the store"):
        _ = pypi.IndexOptions("/tmp/wheels/").location


def test_pip_installs_from_the_index_into_a_fresh_venv(index: Index, tmp_path: Path) -> None:
    """pip, isolated from any configuration of this machine, installs the latest wheel (the delta,
    rebuilt) from the index served over a real socket, into a virtual environment made here."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    with serving(index.web.app) as base:
        installed = subprocess.run(
            [sys.executable, "-m", "pip", "--isolated", "--python", str(python), "install",
             "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
             "--index-url", f"{base}/simple/", "Demo.Pkg"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert re.search(r"^Successfully installed demo[-_.]pkg-1\.1$", installed.stdout, re.M | re.I), (
        installed.stdout
    )
    imported = subprocess.run(
        [str(python), "-c", "import demo_pkg; print(demo_pkg.VERSION, len(demo_pkg.BLOB))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert imported.stdout.split()[0] == "1.1"
    served = index.web.metrics.registry.get_sample_value(
        "deltaglider_serve_requests_total",
        {"route": "/files/{bucket}/{key:path}", "method": "GET", "status": "200"},
    )
    assert served == 1
