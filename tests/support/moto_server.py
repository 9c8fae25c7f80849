"""moto's S3 server in a subprocess on 127.0.0.1, for tests that need a real HTTP endpoint.

A separate process (rather than moto's ThreadedMotoServer) keeps its state apart from any in-process
``mock_aws`` in the same pytest session, and lets other programs (the original DeltaGlider, our CLI)
talk to the same buckets.

moto 5.2.1 honours ``If-None-Match: *`` on PutObject and CompleteMultipartUpload (412 when the key
exists), but checks and then writes without a lock: two CompleteMultipartUpload calls racing for one
key were seen to both succeed. AWS documents the check as atomic, so ``serialize_conditional_writes``
makes moto's write and delete handlers mutually exclusive, and adds S3's ``If-Match`` check on
multipart completion, which moto lacks, in-process and in the server this module starts
(run as a script, it patches moto and then runs ``moto.server``). The server also verifies upload
checksums as S3 does (``moto_checksums``), which moto alone does not.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Credentials moto accepts (it checks nothing unless IAM auth is switched on).
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
#: The variables naming botocore's config and credentials files; both point at ``empty_aws_config()``.
AWS_FILE_VARIABLES = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@functools.cache
def empty_aws_config() -> str:
    """An empty file in a temporary folder (one per process, removed at its exit) for botocore's config
    and credentials files, so that ``~/.aws``, where a profile could hold real credentials or an
    endpoint, is never read. A real file rather than ``os.devnull``: a device is no config file on
    every platform, and a program that writes its config there would lose it without a word."""
    folder = tempfile.mkdtemp(prefix="dg-fake-aws-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = os.path.join(folder, "empty")
    with open(path, "x"):
        pass
    return path


def _fake_values() -> dict[str, str]:
    return {**FAKE_AWS_ENV, **dict.fromkeys(AWS_FILE_VARIABLES, empty_aws_config())}


#: Variables that could point a test at a real account or endpoint; removed from test environments.
AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_SECURITY_TOKEN",
    "AWS_CA_BUNDLE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def use_fake_aws_env(setenv: Callable[[str, str], None], delenv: Callable[[str], None]) -> None:
    """Point this process's boto3 at nothing real (pass ``monkeypatch.setenv``/``delenv``)."""
    for name in AWS_ENV_TO_CLEAR:
        delenv(name)
    for name, value in _fake_values().items():
        setenv(name, value)


def fake_aws_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with fake credentials and no real AWS config."""
    env = dict(os.environ if base is None else base)
    for name in AWS_ENV_TO_CLEAR:
        env.pop(name, None)
    env.update(_fake_values())
    return env


@dataclass(frozen=True)
class MotoServer:
    url: str
    process: subprocess.Popen[bytes]

    def post(self, path: str, data: bytes = b"") -> bytes:
        """POST to moto's control API (``/moto-api/reset``, ``/moto-api/reset-auth``)."""
        # Not form-encoded: Flask would parse a form body away from ``request.data``.
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body: bytes = response.read()
            return body

    @contextlib.contextmanager
    def iam_auth(self) -> Iterator[None]:
        """IAM authentication and authorization enforced from now until the block ends."""
        self.post("/moto-api/reset-auth", b"0")
        try:
            yield
        finally:
            self.post("/moto-api/reset-auth", b"inf")


_WRITE_LOCK = threading.RLock()

#: moto's S3 handlers that check a write condition and then write: PUT object, and every POST on a key
#: (CompleteMultipartUpload among them).
_CONDITIONAL_WRITE_HANDLERS = ("put_object", "_key_response_post", "delete_object")


def _if_match_on_completion(response: Any, request: Any, bucket_name: str, query: Any, key_name: str) -> None:
    """S3 checks ``If-Match`` on CompleteMultipartUpload (412 when the object is another version, 404
    when it is gone); moto 5.2.1 ignores it there, though it honours it on PutObject and DeleteObject."""
    from moto.s3.exceptions import MissingKey, PreconditionFailed

    if_match = request.headers.get("If-Match")
    if not if_match or not query.get("uploadId"):
        return
    existing = response.backend.get_object(bucket_name, key_name)
    if existing is None:
        raise MissingKey(key=key_name)
    if if_match.strip('"') != existing.etag.strip('"'):
        raise PreconditionFailed("If-Match")


def serialize_conditional_writes(set_attr: Callable[[Any, str, Any], None] = setattr) -> None:
    """Make moto's check-then-write atomic, as S3's is, and honour ``If-Match`` on multipart
    completion. ``set_attr`` may be ``monkeypatch.setattr`` so that a test undoes it."""
    from moto.s3.responses import S3Response

    for name in _CONDITIONAL_WRITE_HANDLERS:
        original = getattr(S3Response, name)
        if getattr(original, "_dg_serialized", False):
            continue

        @functools.wraps(original)
        def locked(self: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                if _name == "_key_response_post":
                    request, _body, bucket_name, query, key_name = args
                    _if_match_on_completion(self, request, bucket_name, query, key_name)
                return _original(self, *args, **kwargs)

        locked._dg_serialized = True  # type: ignore[attr-defined]
        set_attr(S3Response, name, locked)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    return False


@contextlib.contextmanager
def run_moto_server(log_path: Path, attempts: int = 3, timeout_s: float = 30.0) -> Iterator[MotoServer]:
    """Starts moto's server (serialized, see above) on a free 127.0.0.1 port; stops it (by its own
    pid) on exit.

    The port is picked before the server binds it, so another process may take it first: retry.
    """
    for _ in range(attempts):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, __file__, "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=fake_aws_env(),
            )
        try:
            if _wait_ready(url, process, timeout_s):
                yield MotoServer(url=url, process=process)
                return
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    raise RuntimeError(f"moto server did not start; its log is {log_path}")


if __name__ == "__main__":
    # The server process: the same patches, then moto's own entry point with our arguments. Run as
    # a script, this folder (not its parent) is on sys.path.
    from moto.server import main
    from moto_checksums import verify_upload_checksums

    serialize_conditional_writes()
    verify_upload_checksums()
    main(sys.argv[1:])
