"""The code blocks of a Markdown page, and running them as a reader would: in order, in one namespace.

A page's ```python blocks run in one fresh namespace, in the order they appear, compiled under the
page's own path and line numbers (a traceback points at the Markdown line). Its ```sh blocks
contribute their ``deltaglider ...`` command lines, run through bash in the same folder, in their
place in the page; the other shell lines (pip, docker, aws, python) install things or need a network
or an account, and are not run. An HTML comment right before a block, ``<!-- snippet: skip (why) -->``,
leaves that block out, with its reason.

Comment lines right after a ``print(...)`` line are the output the page promises: when a block has
any, what the block prints must match them line for line, where ``...`` stands for any text and
``<words>`` for one word (``# GET_DELTA 1000013 <its SHA-256>``).

Before running, each ``stand_ins`` key in the code is replaced by its value: the page's MinIO address
by a local S3 server, ``file:///srv/`` by a temporary folder, so that no snippet writes outside the
test's folder.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)^```[ \t]*$", re.S | re.M)
_MARKER = re.compile(r"<!--\s*snippet:(?P<body>.*?)-->", re.S)
_SKIP = re.compile(r"\s*skip\s*\((?P<reason>[^)]+)\)\s*")
_BUCKET = re.compile(r"s3://([a-z0-9][a-z0-9.-]*[a-z0-9])(?=[/\s\"'`]|$)", re.M)
_WILDCARD = re.compile(r"(\.\.\.|<[^>\s][^>]*>)")

#: A CLI line's longest run; the samples are small.
CLI_TIMEOUT_S = 120


class SnippetError(AssertionError):
    """A page's snippet failed: what ran, where it is in the page, and what it printed."""


@dataclass(frozen=True)
class Snippet:
    page: Path
    line: int  # the 1-based Markdown line of the block's first code line
    lang: str
    code: str
    skip: str | None  # the reason given in a skip marker, else None

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"


def snippets(page: Path) -> list[Snippet]:
    """Every fenced block of the page, with the skip reason of a marker right before it."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip()
        skip = None
        marker = _MARKER.fullmatch(before, before.rfind("<!--")) if before.endswith("-->") else None
        if marker is not None:
            reason = _SKIP.fullmatch(marker.group("body"))
            skip = reason.group("reason").strip() if reason else None
        line = text.count("\n", 0, match.start("code")) + 1
        found.append(Snippet(page, line, match.group("lang"), match.group("code"), skip))
    return found


def bad_markers(page: Path) -> list[str]:
    """Snippet markers that are not ``skip (reason)`` or do not sit right before a block."""
    text = page.read_text(encoding="utf-8")
    bad = []
    for marker in _MARKER.finditer(text):
        line = text.count("\n", 0, marker.start()) + 1
        if _SKIP.fullmatch(marker.group("body")) is None:
            bad.append(f"{page.name}:{line}: {marker.group(0)!r} is not 'snippet: skip (reason)'")
        elif not text[marker.end() :].lstrip().startswith("```"):
            bad.append(f"{page.name}:{line}: the skip marker is not right before a code block")
    return bad


def runnable(page: Path) -> list[Snippet]:
    """The blocks that run: Python blocks, and sh blocks holding a ``deltaglider`` line; not skipped."""
    return [
        s
        for s in snippets(page)
        if s.skip is None and (s.lang == "python" or (s.lang == "sh" and cli_lines(s.code)))
    ]


def buckets(blocks: list[Snippet]) -> list[str]:
    """The buckets that the blocks' ``s3://`` URLs name, to create before they run."""
    return sorted({name for block in blocks for name in _BUCKET.findall(block.code)})


def cli_lines(code: str) -> list[tuple[int, str]]:
    """The ``deltaglider ...`` commands of a shell block, continuation lines joined, each with its line
    offset in the block."""
    commands = []
    lines = code.splitlines()
    at = 0
    while at < len(lines):
        start, line = at, lines[at]
        while line.endswith("\\") and at + 1 < len(lines):
            at += 1
            line = line[:-1] + " " + lines[at].strip()
        if re.match(r"\s*deltaglider(\s|$)", line):
            commands.append((start, line.strip()))
        at += 1
    return commands


def expected_output(code: str) -> list[str]:
    """The comment lines that follow ``print(...)`` lines: what the block says it prints."""
    expected: list[str] = []
    after_print = False
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and after_print:
            expected.append(stripped[1:].strip())
            continue
        after_print = "print(" in stripped and not stripped.startswith("#")
    return expected


def output_matches(expected: str, printed: str) -> bool:
    pattern = "".join(
        (".*" if part == "..." else r"\S+") if _WILDCARD.fullmatch(part) else re.escape(part)
        for part in _WILDCARD.split(expected)
        if part
    )
    return re.fullmatch(pattern, printed) is not None


def _substitute(code: str, stand_ins: dict[str, str]) -> str:
    for old, new in stand_ins.items():
        code = code.replace(old, new)
    return code


def _run_python(block: Snippet, code: str, namespace: dict[str, object]) -> None:
    printed = io.StringIO()
    # Leading newlines put each line at its Markdown line number in tracebacks.
    compiled = compile("\n" * (block.line - 1) + code, str(block.page), "exec")
    with contextlib.redirect_stdout(printed):
        exec(compiled, namespace)
    expected = expected_output(block.code)
    lines = printed.getvalue().splitlines()
    if expected and (len(lines) != len(expected) or not all(map(output_matches, expected, lines))):
        raise SnippetError(
            f"{block.where}: the block printed\n  "
            + "\n  ".join(lines)
            + "\nwhere the page says\n  "
            + "\n  ".join(expected)
        )


def _run_cli(block: Snippet, code: str, cwd: Path) -> None:
    # The command of this interpreter's installation, whatever PATH holds.
    define = f'deltaglider() {{ "{sys.executable}" -m deltaglider "$@"; }}\n'
    for offset, line in cli_lines(code):
        done = subprocess.run(
            ["bash", "-c", define + line],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )
        if done.returncode != 0:
            raise SnippetError(
                f"{block.page.name}:{block.line + offset}: `{line}` exited {done.returncode}\n"
                f"{done.stdout}{done.stderr}"
            )


def _show_python_only(page: Path, blocks: list[tuple[Snippet, str]]) -> None:
    """Tracebacks and pytest show the page's Python lines as run, its prose as blank lines (read as
    Python, the prose would make pytest print the whole page up to the failing line)."""
    lines = [""] * (page.read_text(encoding="utf-8").count("\n") + 1)
    for block, code in blocks:
        for offset, line in enumerate(code.splitlines()):
            lines[block.line - 1 + offset] = line
    text = [line + "\n" for line in lines]
    linecache.cache[str(page)] = (sum(map(len, text)), None, text, str(page))


def run_page(blocks: list[Snippet], cwd: Path, stand_ins: dict[str, str]) -> None:
    """Runs the blocks in order, Python in one fresh namespace, CLI lines in ``cwd`` (which must be
    the process's working folder too). Raises what a block raises, or ``SnippetError``."""
    namespace: dict[str, object] = {"__name__": "__snippets__"}
    ready = [(block, _substitute(block.code, stand_ins)) for block in blocks]
    for page in {block.page for block in blocks}:
        _show_python_only(
            page, [(block, code) for block, code in ready if block.page == page and block.lang == "python"]
        )
    for block, code in ready:
        if block.lang == "python":
            _run_python(block, code, namespace)
        else:
            _run_cli(block, code, cwd)
