"""``deltaglider serve`` as a command: nothing of the server is imported by the package or the other
commands; without the extra it says how to install it; it refuses to start with no way in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import deltaglider
from deltaglider import create_client

#: The deltaglider this test imported (the checkout, or the installed wheel in CI), never the sdist's
#: source tree beside the tests, which has no compiled codec.
PACKAGE_ROOT = Path(deltaglider.__file__).resolve().parents[1]


def python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    for name in ("DG_SERVE_ACCESS_KEY", "DG_SERVE_SECRET_KEY"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_package_and_cli_import_no_server() -> None:
    done = python(
        "import sys, deltaglider, deltaglider.cli.app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'anyio')))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_the_extra_it_says_how_to_install(tmp_path: Path) -> None:
    done = python(
        "import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None; "
        "from deltaglider.cli.app import run; sys.exit(run(sys.argv[1:]))",
        "serve",
        str(tmp_path),
        "--anonymous-read",
    )
    assert done.returncode == 1
    assert "pip install 'deltaglider-native[serve]'" in done.stderr


def test_no_keys_and_no_anonymous_read_is_a_usage_error(tmp_path: Path) -> None:
    done = python(
        "import sys; from deltaglider.cli.app import run; sys.exit(run(sys.argv[1:]))", "serve", str(tmp_path)
    )
    assert done.returncode == 2
    assert "--access-key" in done.stderr and "--anonymous-read" in done.stderr


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _serving(root: Path, *flags: str) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "deltaglider", "serve", str(root), "--port", str(port), "-q", *flags], env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while _get_or_none(url + "/healthz") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("deltaglider serve did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def _get_or_none(url: str) -> int | None:
    try:
        return _get(url)[0]
    except OSError:
        return None


def test_the_command_mounts_the_browse_page_index_and_metrics(tmp_path: Path) -> None:
    wheel = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not a real wheel: the index reads names and hashes")
    create_client(endpoint_url=f"file://{tmp_path / 'store'}").upload(wheel, "s3://rel/pypi/demo-pkg/")
    served = _serving(tmp_path / "store", "--anonymous-read", "--index", "s3://rel/pypi/")
    url = next(served)
    try:
        status, page = _get(url + "/-/browse/rel/pypi/demo-pkg/")
        assert status == 200 and b"demo_pkg-1.0-py3-none-any.whl" in page
        status, index = _get(url + "/-/simple/demo-pkg/")
        assert status == 200 and b"#sha256=" in index
        link = index.split(b'href="')[1].split(b"#")[0].decode()
        status, body = _get(urllib.parse.urljoin(url + "/-/simple/demo-pkg/", link))
        assert (status, body) == (200, wheel.read_bytes())
        status, text = _get(url + "/metrics")
        assert status == 200 and b"deltaglider_serve_requests" in text
    finally:
        served.close()


def test_a_server_that_asks_for_signatures_shows_no_page(tmp_path: Path) -> None:
    (tmp_path / "store" / "rel").mkdir(parents=True)
    keys = ["--access-key", "AK", "--secret-key", "SECRETSECRET"]
    served = _serving(tmp_path / "store", *keys)
    url = next(served)
    try:
        assert _get(url + "/-/browse/")[0] in (400, 403, 404)
        assert _get(url + "/metrics")[0] == 200
    finally:
        served.close()
    done = python(
        "from deltaglider.cli.app import main; main()", "serve", str(tmp_path), "--index", "s3://rel/"
    )
    assert done.returncode == 2 and "--anonymous-read" in done.stderr
