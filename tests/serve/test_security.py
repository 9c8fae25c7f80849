"""What the server refuses: wrong keys and signatures, expired presigned URLs, anonymous requests
(unless anonymous reads are on, and then only reads), keys that step out of their folder, bodies
longer than declared or than allowed."""

from __future__ import annotations

import hashlib
import http.client
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from .conftest import ACCESS_KEY, BUCKET, SECRET_KEY, Served, start_server

MIB = 1024 * 1024


def error_code(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def raw(served: Served, data: bytes) -> bytes:
    """What the server answers to bytes sent as they are, until it closes or goes quiet."""
    port = int(served.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received


def signed(
    served: Served, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> dict[str, str]:
    """The headers of a request signed with the server's key pair by botocore's signer, declaring the
    payload given in ``headers`` (by default the body's SHA-256)."""
    headers = {"x-amz-content-sha256": hashlib.sha256(body).hexdigest(), **headers}
    request = AWSRequest(method=method, url=served.url + path, data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    return {"Host": served.url.removeprefix("http://"), **dict(request.headers.items())}


@pytest.fixture(scope="module")
def stored(s3: Any) -> bytes:
    data = b"secret file " * 1000
    s3.put_object(Bucket=BUCKET, Key="sec/file.txt", Body=data)
    return data


def test_wrong_secret_is_refused(served: Served, stored: bytes) -> None:
    client = served.boto3(secret_key="not-the-secret")
    assert error_code(lambda: client.get_object(Bucket=BUCKET, Key="sec/file.txt")) == (
        "SignatureDoesNotMatch",
        403,
    )
    assert error_code(lambda: client.put_object(Bucket=BUCKET, Key="sec/new.txt", Body=b"x")) == (
        "SignatureDoesNotMatch",
        403,
    )


def test_unknown_access_key_is_refused(served: Served, stored: bytes) -> None:
    client = served.boto3(access_key="someone-else")
    assert error_code(lambda: client.list_objects_v2(Bucket=BUCKET)) == ("InvalidAccessKeyId", 403)


def test_tampered_signed_header_is_refused(served: Served, stored: bytes) -> None:
    headers = signed(served, "GET", f"/{BUCKET}/sec/file.txt", {"Range": "bytes=0-9"})
    headers["Range"] = "bytes=0-99"
    connection = http.client.HTTPConnection(served.url.removeprefix("http://"))
    connection.request("GET", f"/{BUCKET}/sec/file.txt", headers=headers)
    answer = connection.getresponse()
    assert answer.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in answer.read()


def test_expired_presigned_urls_are_refused(served: Served, stored: bytes) -> None:
    v4 = served.boto3(signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "sec/file.txt"}, ExpiresIn=1
    )
    v2 = served.boto3().generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "sec/file.txt"}, ExpiresIn=1
    )
    assert fetch(v4) == (200, stored)
    time.sleep(2.1)
    for url in (v4, v2):
        status, body = fetch(url)
        assert status == 403
        assert b"<Code>AccessDenied</Code>" in body and b"expired" in body


def test_presigned_url_for_another_key_is_refused(served: Served, stored: bytes) -> None:
    url = served.boto3(signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "sec/file.txt"}, ExpiresIn=60
    )
    status, body = fetch(url.replace("sec/file.txt", "sec/other.txt"))
    assert status == 403 and b"SignatureDoesNotMatch" in body


def test_anonymous_requests_are_refused(served: Served, stored: bytes) -> None:
    for method, path in (("GET", f"/{BUCKET}/sec/file.txt"), ("GET", f"/{BUCKET}?list-type=2"), ("GET", "/")):
        status, body = fetch(served.url + path, method)
        assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert fetch(served.url + f"/{BUCKET}/sec/file.txt", "HEAD")[0] == 403


@pytest.mark.parametrize(
    "key", ["sec/../escape.txt", "../escape.txt", "sec/%2e%2e/escape.txt", "sec\\escape.txt", "sec/./x"]
)
def test_traversal_keys_are_refused(s3: Any, served: Served, key: str) -> None:
    assert error_code(lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")) == ("InvalidArgument", 400)
    assert not list(served.root.parent.glob("escape.txt")) and not (served.root / "escape.txt").exists()


def test_sha256_mismatch_is_refused(served: Served, stored: bytes) -> None:
    headers = signed(served, "PUT", f"/{BUCKET}/sec/mismatch.txt", {}, body=b"declared body")
    connection = http.client.HTTPConnection(served.url.removeprefix("http://"))
    connection.request("PUT", f"/{BUCKET}/sec/mismatch.txt", body=b"another body!", headers=headers)
    answer = connection.getresponse()
    assert answer.status == 400 and b"XAmzContentSHA256Mismatch" in answer.read()
    assert not (served.root / BUCKET / "sec" / "mismatch.txt").exists()


def test_chunked_body_longer_than_declared_is_refused(served: Served, stored: bytes) -> None:
    body = b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"
    headers = {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": "5",
        "content-encoding": "aws-chunked",
    }
    headers = signed(served, "PUT", f"/{BUCKET}/sec/longer.txt", headers, body=body)
    connection = http.client.HTTPConnection(served.url.removeprefix("http://"))
    connection.request("PUT", f"/{BUCKET}/sec/longer.txt", body=body, headers=headers)
    answer = connection.getresponse()
    assert answer.status == 400 and b"IncompleteBody" in answer.read()
    assert not (served.root / BUCKET / "sec" / "longer.txt").exists()


def test_bytes_past_content_length_never_join_the_object(served: Served, stored: bytes) -> None:
    headers = signed(
        served,
        "PUT",
        f"/{BUCKET}/sec/exact.txt",
        {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
        body=b"0123456789",
    )
    head = "".join(
        f"{name}: {value}\r\n" for name, value in headers.items() if name.lower() != "content-length"
    )
    request = f"PUT /{BUCKET}/sec/exact.txt HTTP/1.1\r\nContent-Length: 10\r\n{head}\r\n"
    answer = raw(served, request.encode() + b"0123456789" + b"EXTRA BYTES NOT DECLARED\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"HTTP/1.1 400" in answer  # the rest is no request
    assert (served.root / BUCKET / "sec" / "exact.txt").read_bytes() == b"0123456789"


@pytest.fixture(scope="module")
def open_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("anonymous")
    (root / BUCKET).mkdir()
    (root / BUCKET / "pub").mkdir()
    (root / BUCKET / "pub" / "notes.txt").write_bytes(b"public notes")
    with start_server(root, anonymous_read=True, max_object_bytes=MIB) as running:
        yield running


def test_anonymous_read_allows_reads_only(open_served: Served) -> None:
    url = open_served.url
    assert fetch(f"{url}/{BUCKET}/pub/notes.txt") == (200, b"public notes")
    assert fetch(f"{url}/{BUCKET}/pub/notes.txt", "HEAD")[0] == 200
    status, body = fetch(f"{url}/{BUCKET}?list-type=2&prefix=pub/")
    assert status == 200 and b"<Key>pub/notes.txt</Key>" in body
    status, body = fetch(f"{url}/{BUCKET}/pub/new.txt", "PUT", b"data")
    assert status == 403 and b"AccessDenied" in body
    assert fetch(f"{url}/{BUCKET}/pub/notes.txt", "DELETE")[0] == 403
    assert fetch(f"{url}/{BUCKET}/pub/new.txt?uploads", "POST", b"")[0] == 403
    assert (open_served.root / BUCKET / "pub" / "notes.txt").exists()
    assert not (open_served.root / BUCKET / "pub" / "new.txt").exists()


def test_anonymous_read_still_checks_signatures(open_served: Served) -> None:
    client = open_served.boto3(secret_key="wrong")
    assert error_code(lambda: client.get_object(Bucket=BUCKET, Key="pub/notes.txt")) == (
        "SignatureDoesNotMatch",
        403,
    )


@pytest.mark.parametrize(
    "path",
    ["/bkt/../../etc/passwd", "/bkt/%2e%2e/%2e%2e/etc/passwd", "/bkt/pub/%252e%252e/x", "/bkt/pub%5c..%5cx"],
)
def test_raw_traversal_paths_are_refused(open_served: Served, path: str) -> None:
    answer = raw(open_served, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


def test_too_large_and_undeclared_bodies_are_refused(open_served: Served, tmp_path: Path) -> None:
    client = open_served.boto3()
    assert error_code(lambda: client.put_object(Bucket=BUCKET, Key="pub/big.bin", Body=b"x" * (MIB + 1))) == (
        "EntityTooLarge",
        400,
    )
    headers = signed(
        open_served, "PUT", f"/{BUCKET}/pub/te.bin", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    )
    head = "".join(f"{n}: {v}\r\n" for n, v in headers.items() if n.lower() != "content-length")
    start = (
        f"PUT /{BUCKET}/pub/te.bin HTTP/1.1\r\n{head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    answer = raw(
        open_served,
        start.encode() + b"3\r\nabc\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 411")
    assert not (open_served.root / BUCKET / "pub" / "te.bin").exists()
