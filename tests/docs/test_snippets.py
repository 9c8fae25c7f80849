"""Every code snippet of the README and of docs/*.md runs as written (api.md is generated from the
docstrings, and checked by test_api_docs).

Each page runs in a fresh folder, its Python blocks in order in one fresh namespace, its
``deltaglider`` shell lines in their place (``support.doc_snippets`` says what runs and how), against
moto's S3 server on 127.0.0.1. The default run takes the Python blocks alone; the slow run (which CI
makes too) takes each page whole, commands included, as each command costs a program start.
``AWS_ENDPOINT_URL`` points ``create_client()`` and the CLI at the server, with fake credentials, and
the buckets the page names are created first. The files a page's snippets upload are made here as
small real releases (zips that differ by a few patches, tars of text). Blocks that do not run (a skip
marker, shell lines that install things or need an account) are reported as skipped tests, with their
reason.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tarfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from support.artifacts import release_zips
from support.doc_snippets import (
    Snippet,
    SnippetError,
    bad_markers,
    buckets,
    cli_lines,
    run_page,
    runnable,
    snippets,
)
from support.moto_server import MotoServer, run_moto_server, use_fake_aws_env

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    page
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    if page.is_file() and page.name != "api.md"
]
#: The addresses pages give for an S3 server of the reader's own.
MINIO_URLS = ("http://localhost:9000", "http://minio:9000")
#: Skip markers are for what cannot run here (a real account, a Lambda): keep them few.
MAX_MARKED_SKIPS = 3


def _releases(work: Path, names: dict[str, str]) -> None:
    """Consecutive releases of one zip, saved under the given names (``{"app-1.0.zip": "dist/x.zip"}``
    takes release 1.0 as ``dist/x.zip``)."""
    made = work / ".releases"
    made.mkdir()
    release_zips(made, "app", 4, size=200_000)
    for release, name in names.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made / release, work / name)
    shutil.rmtree(made)


def _tars(work: Path) -> None:
    """Two versions of a source tarball: the second edits one file and adds one."""
    sources = {
        f"src/mod{i}.py": "".join(f"def f{i}_{j}(x):\n    return x + {j}\n" for j in range(400))
        for i in range(5)
    }
    for name, edit in (
        ("old.tar", {}),
        ("new.tar", {"src/mod2.py": "# patched\n", "src/new.py": "NEW = 1\n"}),
    ):
        with tarfile.open(work / name, "w") as tar:
            for member, text in sorted({**sources, **edit}.items()):
                data = text.encode()
                info = tarfile.TarInfo(member)
                info.size = len(data)
                info.mtime = 1_700_000_000
                tar.addfile(info, fileobj=io.BytesIO(data))


def _readme(work: Path) -> None:
    _releases(
        work, {"app-1.1.zip": "app-1.1.zip", "app-1.2.zip": "build.zip", "app-1.3.zip": "dist/app-1.3.zip"}
    )
    (work / "dist" / "build.log").write_text("compiled 412 files\n")


def _sdk(work: Path) -> None:
    _releases(
        work,
        {
            "app-1.1.zip": "dist/app-1.1.zip",
            "app-1.2.zip": "build/out.zip",
            "app-1.3.zip": "app.zip",
        },
    )
    _tars(work)


def _cli(work: Path) -> None:
    _releases(
        work,
        {
            "app-1.0.zip": "app-1.0.zip",
            "app-1.1.zip": "build.zip",
            "app-1.2.zip": "dist/app-1.2.zip",
            "app-1.3.zip": "dist/app-1.3.zip",
        },
    )
    (work / "dist" / "build.log").write_text("compiled 412 files\n")


#: The files each page's snippets take as the reader's own; getting-started makes its own.
SAMPLES: dict[str, Callable[[Path], None]] = {"README.md": _readme, "sdk.md": _sdk, "cli.md": _cli}


def _not_run(page: Path) -> list[tuple[Snippet, str]]:
    """The blocks left out, and why: a skip marker's reason, or the shell lines that are not run."""
    left = []
    for block in snippets(page):
        if block.skip is not None:
            left.append((block, block.skip))
        elif block.lang == "sh":
            commands = [command for _, command in cli_lines(block.code)]
            others = [
                line.strip()
                for line in re.sub(r"\\\n\s*", " ", block.code).splitlines()
                if line.strip() and line.strip() not in commands
            ]
            if others:
                shown = [line if len(line) <= 60 else line[:57] + "..." for line in others]
                left.append((block, "not deltaglider commands, not run: " + " | ".join(shown)))
    return left


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with run_moto_server(tmp_path_factory.mktemp("moto") / "server.log") as server:
        yield server


@pytest.fixture
def reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_server: MotoServer) -> Path:
    """An empty working folder, an empty S3 server at ``AWS_ENDPOINT_URL``, no DG_* settings."""
    use_fake_aws_env(monkeypatch.setenv, lambda name: monkeypatch.delenv(name, raising=False))
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.url)
    for name in [name for name in os.environ if name.startswith("DG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DG_CACHE_DIR", str(tmp_path / "cache"))
    s3_server.post("/moto-api/reset")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def _stand_ins(server: MotoServer, work: Path) -> dict[str, str]:
    return {**dict.fromkeys(MINIO_URLS, server.url), "file:///srv/": f"file://{work}/srv/"}


def _run_and_check(page: Path, blocks: list[Snippet], work: Path, server: MotoServer) -> None:
    s3 = boto3.client("s3", endpoint_url=server.url)
    for bucket in buckets(snippets(page)):
        s3.create_bucket(Bucket=bucket)
    SAMPLES.get(page.name, lambda _: None)(work)
    run_page(blocks, work, _stand_ins(server, work))
    # What the Python blocks store at s3:// URLs reached the S3 server, not a local folder.
    python = [block for block in blocks if block.lang == "python"]
    empty = [b for b in buckets(python) if not s3.list_objects_v2(Bucket=b).get("KeyCount")]
    assert not empty, f"{page.name}'s snippets name s3:// URLs in {empty} but stored nothing there"


def _python(page: Path) -> list[Snippet]:
    return [block for block in runnable(page) if block.lang == "python"]


@pytest.mark.parametrize("page", [p for p in PAGES if _python(p)], ids=lambda p: p.name)
def test_the_pages_python_runs_as_written(page: Path, reader: Path, s3_server: MotoServer) -> None:
    _run_and_check(page, _python(page), reader, s3_server)


@pytest.mark.slow  # a second or so per command: each starts the program afresh
@pytest.mark.parametrize(
    "page", [p for p in PAGES if len(runnable(p)) > len(_python(p))], ids=lambda p: p.name
)
def test_the_page_runs_as_written_with_its_commands(page: Path, reader: Path, s3_server: MotoServer) -> None:
    _run_and_check(page, runnable(page), reader, s3_server)


NOT_RUN = [item for page in PAGES for item in _not_run(page)]


@pytest.mark.parametrize(("block", "reason"), NOT_RUN, ids=[block.where for block, _ in NOT_RUN])
def test_a_block_not_run_says_why(block: Snippet, reason: str) -> None:
    pytest.skip(f"{block.where}: {reason}")


def test_skip_markers_give_a_reason_and_stay_few() -> None:
    assert [bad for page in PAGES for bad in bad_markers(page)] == []
    marked = [block.where for page in PAGES for block in snippets(page) if block.skip is not None]
    assert len(marked) <= MAX_MARKED_SKIPS, marked


def _page(tmp_path: Path, text: str) -> Path:
    page = tmp_path / "page.md"
    page.write_text(text)
    return page


def test_a_snippet_that_raises_fails_its_page_at_its_line(tmp_path: Path) -> None:
    page = _page(
        tmp_path, "Intro.\n\n```python\nx = 1\n```\n\n```python\ny = x + 1\nraise KeyError(y)\n```\n"
    )
    with pytest.raises(KeyError) as raised:
        run_page(runnable(page), tmp_path, {})
    assert raised.value.args == (2,)
    frames = traceback.extract_tb(raised.value.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno) == (str(page), 9)


def test_printed_output_must_match_the_comments_after_the_print(tmp_path: Path) -> None:
    page = _page(tmp_path, "```python\nprint('PUT', 1000028)\n# PUT ...28\nprint('abc')\n# <sha>\n```\n")
    run_page(runnable(page), tmp_path, {})
    wrong = _page(tmp_path, "```python\nprint('PUT', 77)\n# PUT 78\n```\n")
    with pytest.raises(SnippetError, match="where the page says"):
        run_page(runnable(wrong), tmp_path, {})


def test_a_failing_deltaglider_line_fails_its_page(tmp_path: Path) -> None:
    page = _page(
        tmp_path, "```sh\npip install nothing\ndeltaglider verify file:///srv/no-such-folder/app.zip\n```\n"
    )
    with pytest.raises(SnippetError, match="exited 1"):
        run_page(runnable(page), tmp_path, {"file:///srv/": f"file://{tmp_path}/srv/"})


def test_a_skip_marker_leaves_its_block_out_and_a_stray_one_is_flagged(tmp_path: Path) -> None:
    page = _page(
        tmp_path,
        "<!-- snippet: skip (needs a real AWS account) -->\n```python\nraise SystemExit\n```\n\n"
        "<!-- snippet: maybe -->\ntext\n",
    )
    assert [block.skip for block in snippets(page)] == ["needs a real AWS account"]
    assert runnable(page) == []
    assert len(bad_markers(page)) == 1
