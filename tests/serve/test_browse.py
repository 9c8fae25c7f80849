"""The browse page: a folder's sub-folders and files with sizes, stored sizes and savings, links that
lead to the folders and to the files' exact bytes, names escaped, traversal refused; and the page in a
real headless browser (Debian's Chromium driven by Selenium), phone- and desktop-sized."""

from __future__ import annotations

import html
import http.client
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from serve.web_support import BUCKET, WebApp, folder_client, serving, web_app
from starlette.testclient import TestClient
from support.artifacts import release_zips

from deltaglider.client import DeltaGliderClient
from deltaglider.serve import browse, metrics

#: A file whose name is markup: it must show as text and download by its own name.
MARKUP_NAME = '<script>alert("x")<img src=x onerror=alert(1)>.txt'
#: The folder ``apps/`` as its page shows it: sub-folders first, then files by name ("<" sorts first).
SHOWN = ["old/", MARKUP_NAME, "app-1.0.zip", "app-1.1.zip", "app-1.2.zip"]
#: Where the browser test writes its screenshot for the docs, when this variable is set.
SCREENSHOT_ENV = "DG_UPDATE_SCREENSHOT"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "serve-browse.png"


@dataclass
class Site:
    web: WebApp
    http: TestClient
    originals: dict[str, bytes]  # key -> bytes uploaded


def _fill(client: DeltaGliderClient, made: Path) -> dict[str, bytes]:
    """Releases of a zip in ``apps/`` (deltas after the first), an older one in ``apps/old/``, and a
    file named with markup."""
    originals = {}
    for path in release_zips(made, "app", 3, size=150_000):
        client.upload(path, f"s3://{BUCKET}/apps/")
        originals[f"apps/{path.name}"] = path.read_bytes()
    old = release_zips(made / "old", "app", 1, size=50_000, seed=3)[0]
    client.upload(old, f"s3://{BUCKET}/apps/old/", name="app-0.9.zip")
    originals["apps/old/app-0.9.zip"] = old.read_bytes()
    markup = made / "markup.txt"
    markup.write_text("escaped\n")
    client.upload(markup, f"s3://{BUCKET}/apps/", name=MARKUP_NAME)
    originals[f"apps/{MARKUP_NAME}"] = markup.read_bytes()
    return originals


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    serve_metrics = metrics.ServeMetrics()
    client = folder_client(tmp_path, serve_metrics)
    made = tmp_path / "made"
    (made / "old").mkdir(parents=True)
    originals = _fill(client, made)
    web = web_app(client, serve_metrics, tmp_path / "scratch")
    with TestClient(web.app) as http_client:
        yield Site(web, http_client, originals)


class _Table(HTMLParser):
    """The rows of a page's table (each cell's text by its ``data-label``, and the row's link), its
    totals line and every link."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.links: list[str] = []
        self.totals = ""
        self._cell: str | None = None
        self._in_totals = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("class") != "head":
            self.rows.append({})
        elif tag == "td":
            self._cell = found.get("data-label") or ""
            self.rows[-1][self._cell] = ""
        elif tag == "a":
            self.links.append(found["href"] or "")
            if self._cell == "Name":
                self.rows[-1]["href"] = found["href"] or ""
        elif tag == "p" and found.get("class") == "totals":
            self._in_totals = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        elif tag == "p":
            self._in_totals = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self.rows[-1][self._cell] += data
        elif self._in_totals:
            self.totals += data


def _table(page: str) -> _Table:
    parser = _Table()
    parser.feed(page)
    parser.rows = [row for row in parser.rows if row]
    return parser


def test_a_folder_lists_its_folders_and_files_with_sizes_and_savings(site: Site) -> None:
    response = site.http.get(f"/browse/{BUCKET}/apps/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    table = _table(response.text)
    by_name = {row["Name"]: row for row in table.rows}
    assert list(by_name) == SHOWN
    client = site.web.client
    for entry in client.list(f"s3://{BUCKET}/apps/"):
        row = by_name[entry.name]
        if entry.is_prefix:
            below = client.stats(f"s3://{BUCKET}/apps/{entry.name}")
            assert row["Form"] == "1 file"
            assert row["Size"] == browse.human_size(below.original_bytes)
            assert row["Stored"] == browse.human_size(below.stored_bytes)
            assert row["Saved"] == browse.savings(below.original_bytes, below.stored_bytes)
            continue
        stored = entry.stored_size + entry.base_size
        assert row["Size"] == browse.human_size(entry.original_size)
        assert row["Stored"] == browse.human_size(stored)
        assert row["Saved"] == browse.savings(entry.original_size, stored)
    assert by_name["app-1.2.zip"]["Form"] == "delta"
    assert float(by_name["app-1.2.zip"]["Saved"].rstrip("%")) > 90
    everything = client.stats(f"s3://{BUCKET}/apps/")
    assert table.totals == (
        f"{everything.file_count} files: {browse.human_size(everything.original_bytes)} stored in "
        f"{browse.human_size(everything.stored_bytes)} (saved "
        f"{browse.savings(everything.original_bytes, everything.stored_bytes)})"
    )


def test_every_link_resolves_and_files_download_exactly(site: Site) -> None:
    seen: set[str] = set()
    todo = ["/browse/"]
    downloaded: dict[str, bytes] = {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        response = site.http.get(path)
        assert response.status_code == 200, path
        if path.startswith("/files/"):
            downloaded[unquote(path).removeprefix(f"/files/{BUCKET}/")] = response.content
        else:
            todo += _table(response.text).links
    assert downloaded == site.originals


def test_links_follow_a_mount_prefix(site: Site) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/-", routes=site.web.app.routes)])
    with TestClient(app) as http:
        table = _table(http.get(f"/-/browse/{BUCKET}/apps/").text)
        assert table.links and all(link.startswith(("/-/browse/", "/-/files/")) for link in table.links)
        file_link = next(link for link in table.links if link.endswith("app-1.1.zip"))
        assert http.get(file_link).content == site.originals["apps/app-1.1.zip"]
        assert http.get(f"/-/browse/{BUCKET}/apps", follow_redirects=False).headers["location"] == (
            f"/-/browse/{BUCKET}/apps/"
        )


def test_names_are_escaped(site: Site) -> None:
    page = site.http.get(f"/browse/{BUCKET}/apps/").text
    assert "<script>" not in page and "<img" not in page
    assert html.escape(MARKUP_NAME) in page


@pytest.mark.parametrize(
    "path",
    [
        f"/browse/{BUCKET}/%2e%2e/",
        f"/browse/{BUCKET}/apps/%2e%2e/",
        f"/browse/{BUCKET}/apps/%2E%2E%2F%2E%2E/",
        "/browse/%2e%2e/",
        f"/browse/{BUCKET}/apps//",
        f"/browse/{BUCKET}/apps/%2e/",
    ],
)
def test_traversal_is_refused(site: Site, path: str) -> None:
    assert site.http.get(path).status_code == 400


def test_a_literal_dot_dot_on_the_wire_is_refused(site: Site) -> None:
    with serving(site.web.app) as base:
        connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
        connection.request("GET", f"/browse/{BUCKET}/apps/../apps/")
        response = connection.getresponse()
        response.read()
        connection.close()
    assert response.status == 400


def test_hidden_objects_are_not_listed(site: Site) -> None:
    names = [row["Name"] for row in _table(site.http.get(f"/browse/{BUCKET}/apps/").text).rows]
    assert not any("reference" in name or name.endswith(".delta") for name in names)


def test_the_root_lists_the_buckets_and_paths_are_folders(site: Site) -> None:
    root = _table(site.http.get("/browse/").text)
    assert [row["Name"] for row in root.rows] == [f"{BUCKET}/"]
    assert root.rows[0]["href"] == f"/browse/{BUCKET}/"
    moved = site.http.get(f"/browse/{BUCKET}/apps", follow_redirects=False)
    assert moved.status_code == 308
    assert moved.headers["location"] == f"/browse/{BUCKET}/apps/"
    assert site.http.get(f"/browse/{BUCKET}/no-such-folder/").status_code == 404
    assert site.http.get("/browse/no-such-bucket/").status_code == 404


def test_options_limit_the_buckets_and_skip_folder_totals(site: Site) -> None:
    from starlette.applications import Starlette

    from deltaglider.serve import files

    options = browse.BrowseOptions(buckets=("elsewhere",), folder_stats=False)
    app = Starlette(routes=[*files.routes(site.web.client), *browse.routes(site.web.client, options)])
    with TestClient(app) as client:
        assert [r["Name"] for r in _table(client.get("/browse/").text).rows] == ["elsewhere/"]
        assert client.get(f"/browse/{BUCKET}/apps/").status_code == 404
    everywhere = browse.BrowseOptions(folder_stats=False)
    app = Starlette(routes=[*files.routes(site.web.client), *browse.routes(site.web.client, everywhere)])
    with TestClient(app) as client:
        rows = _table(client.get(f"/browse/{BUCKET}/apps/").text).rows
    assert rows[0]["Name"] == "old/"
    assert (rows[0]["Size"], rows[0]["Stored"], rows[0]["Form"]) == ("—", "—", "folder")


def test_the_page_is_built_for_phones_and_desktops(site: Site) -> None:
    page = site.http.get(f"/browse/{BUCKET}/apps/").text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media (max-width:" in page
    assert "<script" not in page.replace(html.escape("<script"), "")


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "—"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**3, "5.0 GiB"),
    ],
)
def test_human_size(size: int | None, text: str) -> None:
    assert browse.human_size(size) == text


def test_savings() -> None:
    assert browse.savings(1000, 250) == "75.0%"
    assert browse.savings(1000, 1200) == "-20.0%"
    assert browse.savings(None, 5) == "—"
    assert browse.savings(0, 0) == "—"
    assert browse.savings(100_000, 100_004) == "0.0%"  # not -0.0%


def _chromium() -> tuple[str, str]:
    pytest.importorskip("selenium", reason="selenium is installed by .ci/run (the serve tests' browser)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip("Debian's chromium and chromium-driver packages are needed (installed by .ci/run)")
    return browser, driver


def test_a_real_browser_lists_follows_and_downloads(site: Site, tmp_path: Path) -> None:
    """Chromium opens the bucket's page, follows the folder link, downloads a file by its link (the
    bytes exact); the page fits a phone's width without scrolling sideways. The desktop view is the
    docs' screenshot (written there when DG_UPDATE_SCREENSHOT is set)."""
    browser, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en"):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    with serving(site.web.app) as base:
        chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            chrome.set_window_size(1000, 560)
            chrome.get(f"{base}/browse/{BUCKET}/")
            chrome.find_element(By.LINK_TEXT, "apps/").click()
            assert chrome.current_url == f"{base}/browse/{BUCKET}/apps/"
            shown = [a.text for a in chrome.find_elements(By.CSS_SELECTOR, "td.name a")]
            assert shown == SHOWN
            chrome.save_screenshot(str(tmp_path / "desktop.png"))
            chrome.find_element(By.LINK_TEXT, "app-1.2.zip").click()
            target = downloads / "app-1.2.zip"
            deadline = time.monotonic() + 60
            while not target.is_file() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert target.read_bytes() == site.originals["apps/app-1.2.zip"]

            chrome.set_window_size(390, 844)
            chrome.get(f"{base}/browse/{BUCKET}/apps/")
            overflow = chrome.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"the page scrolls sideways on a phone by {overflow}px"
            header = chrome.find_element(By.CSS_SELECTOR, "thead")
            assert not header.is_displayed(), "on a phone each row is a card, with no table header"
        finally:
            chrome.quit()
    if os.environ.get(SCREENSHOT_ENV):
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp_path / "desktop.png", DOCS_SCREENSHOT)
