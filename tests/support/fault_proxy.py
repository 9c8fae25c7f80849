"""A fault-injecting HTTP reverse proxy on 127.0.0.1, for putting between boto3 and moto's server.

boto3 talks to the proxy (``endpoint_url=proxy.url``); the proxy forwards each request to the upstream
server and, per a seeded random schedule or explicit rules, breaks it on the way: an error status
instead of the answer (before or after the server acted on it), a reset connection (before, during or
after the request), a request or response body with one byte flipped, a response cut short, or an
answer delayed, stalled past the client's timeout or trickled out slowly.

Everything it did is counted in ``proxy.stats`` (requests, faults by kind), so a test or a benchmark
can say how hard the client was hit. Threaded (one thread per client connection) because boto3 pools
connections and s3transfer runs several at once.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import http.server
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

#: Every kind of fault, and what it does.
#: - ``error_500`` / ``slowdown_503``: answered by the proxy, never reaches the server.
#: - ``error_500_after``: the server acted on the request, the client is told it failed.
#: - ``reset_before``: the connection is reset once the request is read; the server never sees it.
#: - ``reset_mid_request``: reset halfway through reading the request body (client is still sending).
#: - ``reset_after``: the server acted on the request, then the connection is reset without an answer.
#: - ``corrupt_request``: one byte of the request body flipped before forwarding (same length).
#: - ``corrupt_response``: one byte of the response body flipped (same length, headers untouched).
#: - ``truncate_response``: the full Content-Length announced, half the body sent, connection closed.
#: - ``delay``: the answer held back ``delay_s`` (shorter than the client's timeout).
#: - ``stall``: the answer held back ``stall_s`` (longer than the client's timeout: it gives up).
#: - ``throttle``: the response body trickled out in small pieces.
FAULT_KINDS: tuple[str, ...] = (
    "error_500",
    "slowdown_503",
    "error_500_after",
    "reset_before",
    "reset_mid_request",
    "reset_after",
    "corrupt_request",
    "corrupt_response",
    "truncate_response",
    "delay",
    "stall",
    "throttle",
)

#: Rule-only: ``hold`` keeps the request (before it reaches the server) until ``proxy.release()``,
#: so a test can act in between, e.g. replace the object a reader has just looked up.
RULE_ONLY_KINDS: tuple[str, ...] = ("hold",)

#: Faults that need a request body (a PUT of data, a part, a multipart completion).
_NEEDS_REQUEST_BODY = frozenset({"reset_mid_request", "corrupt_request"})
#: Faults that need a response body (GET of data, listings); a HEAD or an empty 204 has none.
_NEEDS_RESPONSE_BODY = frozenset({"corrupt_response", "truncate_response", "throttle"})

#: Faults applied to the server's answer on its way back (recorded when applied).
_RESPONSE_KINDS = frozenset({"delay", "stall", "corrupt_response", "truncate_response", "throttle"})

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)


@dataclass(frozen=True)
class Rule:
    """Inject ``kind`` into the next ``count`` requests that match ``method`` and the regexes (searched
    in the path and in the query string). Rules are tried before the random schedule."""

    kind: str
    method: str | None = None
    path: str | None = None
    query: str | None = None
    count: int = 1
    #: For a corrupt_* kind: flip the last byte of this regex's first match in the body (else a
    #: random byte), to break a chosen field: ``<LastModified>\d`` spoils a listing's timestamp.
    at: str | None = None

    def matches(self, method: str, path: str, query: str) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.path is None or re.search(self.path, path) is not None)
            and (self.query is None or re.search(self.query, query) is not None)
        )


@dataclass
class FaultStats:
    requests: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    #: Requests answered 400 because their body did not match the digests sent with it (as S3 does).
    rejected_by_digest: int = 0
    #: (method, path, query, kind) of every injected fault, in order.
    log: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def total_faults(self) -> int:
        return sum(self.faults.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "by_method": dict(self.by_method),
            "faults": dict(sorted(self.faults.items())),
            "total_faults": self.total_faults,
            "rejected_by_digest": self.rejected_by_digest,
        }


@dataclass
class FaultPlan:
    """What to break. ``rate`` is the chance that a request gets a random fault, drawn from ``kinds``
    with ``weights`` (uniform if None); a kind that does not fit the request (a body fault on a body-less
    request) leaves it alone. ``rules`` come first."""

    seed: int = 0
    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    weights: Mapping[str, float] | None = None
    rules: list[Rule] = field(default_factory=list)
    delay_s: float = 0.2
    stall_s: float = 2.0
    throttle_chunk: int = 4096
    throttle_pause_s: float = 0.002

    def __post_init__(self) -> None:
        unknown = (set(self.kinds) - set(FAULT_KINDS)) | (
            {rule.kind for rule in self.rules} - set(FAULT_KINDS) - set(RULE_ONLY_KINDS)
        )
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")


class FaultProxy:
    """Start with ``with FaultProxy(upstream, plan) as proxy:``; point boto3 at ``proxy.url``.

    ``enabled`` may be switched off (set-up, final checks) and on again; ``plan`` may be replaced
    between operations."""

    def __init__(self, upstream_url: str, plan: FaultPlan | None = None, *, s3_checks: bool = True) -> None:
        parsed = urllib.parse.urlsplit(upstream_url)
        if parsed.hostname is None or parsed.port is None:
            raise ValueError(f"upstream must be http://host:port, got {upstream_url!r}")
        self.upstream = (parsed.hostname, parsed.port)
        self.enabled = True
        # S3 refuses a body that does not match the digests the client sent with it. moto 5.2.1 checks
        # none (our server patch, support.moto_checksums, checks PutObject and UploadPart), so the
        # proxy checks every request, the SigV4 payload hash included, as S3 would.
        self.s3_checks = s3_checks
        self.stats = FaultStats()
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._gate = threading.Event()
        self._thread: threading.Thread | None = None
        self.set_plan(plan or FaultPlan())

    def release(self) -> None:
        """Lets every held request (and any later one) go on."""
        self._gate.set()

    def hold(self) -> None:
        """Called by a held request: blocks until ``release`` (a minute at most)."""
        self._gate.wait(timeout=60)

    def wait_held(self, timeout_s: float = 30.0) -> bool:
        """Waits until a request is being held."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.stats.faults["hold"]:
                    return True
            time.sleep(0.01)
        return False

    def set_plan(self, plan: FaultPlan) -> None:
        self._gate.clear()
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)
            self._rule_left = [rule.count for rule in plan.rules]

    @property
    def url(self) -> str:
        assert self._server is not None, "proxy not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultProxy:
        handler = _handler_class(self)
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No faults inside the block."""
        before = self.enabled
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = before

    def choose(self, method: str, path: str, query: str, has_body: bool) -> tuple[str | None, str | None]:
        """The fault for this request and the rule's ``at`` (counted as a request either way)."""
        with self._lock:
            self.stats.requests += 1
            self.stats.by_method[method] += 1
            if not self.enabled:
                return None, None
            plan = self.plan
            for index, rule in enumerate(plan.rules):
                if self._rule_left[index] > 0 and rule.matches(method, path, query):
                    self._rule_left[index] -= 1
                    return rule.kind, rule.at
            if plan.rate <= 0 or self._rng.random() >= plan.rate:
                return None, None
            kinds = list(plan.kinds)
            weights = [plan.weights.get(kind, 0.0) for kind in kinds] if plan.weights else None
            kind = self._rng.choices(kinds, weights=weights)[0]
            if kind in _NEEDS_REQUEST_BODY and not has_body:
                return None, None
            return kind, None

    def flip_position(self, data: bytes, at: str | None = None) -> int:
        """Where to flip a byte: the end of ``at``'s first match, else a seeded random place."""
        if at is not None:
            match = re.search(at.encode(), data)
            if match is not None:
                return match.end() - 1
        with self._lock:
            return self._rng.randrange(len(data))

    def count_rejected(self) -> None:
        with self._lock:
            self.stats.rejected_by_digest += 1

    def record(self, method: str, path: str, query: str, kind: str) -> None:
        with self._lock:
            self.stats.faults[kind] += 1
            self.stats.log.append((method, path, query, kind))


def _error_body(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>fault-proxy</RequestId></Error>"
    ).encode()


_INTERNAL_ERROR = "We encountered an internal error. Please try again."


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _digest_mismatch(headers: Mapping[str, str], body: bytes) -> str | None:
    """The S3 error code for a body that contradicts a digest header, or None (no digest we can check
    counts as a match: CRC32C and CRC64NVME are not in the standard library)."""
    content_sha = headers.get("x-amz-content-sha256") or ""
    if re.fullmatch(r"[0-9a-f]{64}", content_sha) and hashlib.sha256(body).hexdigest() != content_sha:
        return "XAmzContentSHA256Mismatch"
    expected = {
        "Content-MD5": lambda: _b64(hashlib.md5(body).digest()),
        "x-amz-checksum-crc32": lambda: _b64(zlib.crc32(body).to_bytes(4, "big")),
        "x-amz-checksum-sha1": lambda: _b64(hashlib.sha1(body).digest()),
        "x-amz-checksum-sha256": lambda: _b64(hashlib.sha256(body).digest()),
    }
    for name, compute in expected.items():
        sent = headers.get(name)
        if sent is not None and sent != compute():
            return "BadDigest"
    return None


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x5A]) + data[position + 1 :]


@dataclass(frozen=True)
class _Answer:
    """The server's response, read in full."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    payload: bytes


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (stall past its timeout) leaves a broken pipe behind: expected here.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def _handler_class(proxy: FaultProxy) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(_ProxyHandler):
        owner = proxy

    return Handler


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    owner: FaultProxy
    # Keep-alive, as S3 offers: boto3 reuses connections, and a reset then hits a pooled one.
    protocol_version = "HTTP/1.1"
    _upstream: http.client.HTTPConnection | None = None
    _flip_at: str | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the stats say what happened

    def do_GET(self) -> None:
        self._proxy()

    def do_HEAD(self) -> None:
        self._proxy()

    def do_PUT(self) -> None:
        self._proxy()

    def do_POST(self) -> None:
        self._proxy()

    def do_DELETE(self) -> None:
        self._proxy()

    # -- the request ---------------------------------------------------------------------------

    def _body_length(self) -> int | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        return int(self.headers.get("Content-Length") or 0)

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers: dropped (we forward with a Content-Length)
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _proxy(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        method, path, query = self.command, split.path, split.query
        length = self._body_length()
        kind, self._flip_at = self.owner.choose(method, path, query, length is None or length > 0)
        record = (method, path, query)
        body = self._request_side(kind, record, length)
        if body is None:
            return  # answered (or reset) without reaching the server
        self._response_side(kind, record, self._forward(method, body))

    def _request_side(
        self, kind: str | None, record: tuple[str, str, str], length: int | None
    ) -> bytes | None:
        """Reads the request, applying the faults that strike before the server sees it. Returns the
        body to forward, or None when the client was already answered."""
        if kind == "reset_mid_request":
            if length:
                self.rfile.read(length // 2)
            self.owner.record(*record, kind)
            self._reset()
            return None
        body = self._read_chunked() if length is None else self.rfile.read(length)
        if kind == "hold":
            self.owner.record(*record, kind)
            self.owner.hold()
        if kind in ("error_500", "slowdown_503", "reset_before"):
            self.owner.record(*record, kind)
            if kind == "error_500":
                self._answer_error(500, "InternalError", _INTERNAL_ERROR)
            elif kind == "slowdown_503":
                self._answer_error(503, "SlowDown", "Please reduce your request rate.")
            else:
                self._reset()
            return None
        if kind == "corrupt_request" and body:
            self.owner.record(*record, kind)
            body = _flip(body, self.owner.flip_position(body, self._flip_at))
        if self.owner.s3_checks:
            mismatch = _digest_mismatch(self.headers, body)
            if mismatch is not None:
                self.owner.count_rejected()
                self._answer_error(400, mismatch, "The digest you specified did not match what we received.")
                return None
        return body

    def _response_side(self, kind: str | None, record: tuple[str, str, str], answer: _Answer) -> None:
        """Answers the client with the server's response, applying the faults that strike after it."""
        payload = answer.payload
        if kind in ("error_500_after", "reset_after"):
            self.owner.record(*record, kind)
            if kind == "error_500_after":
                self._answer_error(500, "InternalError", _INTERNAL_ERROR)
            else:
                self._reset()
            return
        if kind in _NEEDS_RESPONSE_BODY and not payload:
            kind = None  # nothing to break in a HEAD or an empty answer
        if kind in _RESPONSE_KINDS:
            self.owner.record(*record, kind)
        if kind in ("delay", "stall"):
            time.sleep(self.owner.plan.delay_s if kind == "delay" else self.owner.plan.stall_s)
        if kind == "corrupt_response":
            payload = _flip(payload, self.owner.flip_position(payload, self._flip_at))
        self._send_head(answer.status, answer.reason, answer.headers, len(payload), record[0])
        if record[0] == "HEAD":
            return
        if kind == "truncate_response":
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            self._close_write()
        elif kind == "throttle":
            plan = self.owner.plan
            for start in range(0, len(payload), plan.throttle_chunk):
                self.wfile.write(payload[start : start + plan.throttle_chunk])
                self.wfile.flush()
                time.sleep(plan.throttle_pause_s)
        else:
            self.wfile.write(payload)

    # -- talking to the server -----------------------------------------------------------------

    def _forward(self, method: str, body: bytes) -> _Answer:
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            if self._upstream is None:
                self._upstream = http.client.HTTPConnection(*self.owner.upstream, timeout=60)
            try:
                self._upstream.request(method, self.path, body=body, headers=headers)
                response = self._upstream.getresponse()
                payload = response.read()
            except (ConnectionError, http.client.HTTPException):
                # The server closed our idle keep-alive connection: one fresh try.
                self._upstream.close()
                self._upstream = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self._upstream.close()
                self._upstream = None
            return _Answer(response.status, response.reason, response.getheaders(), payload)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- answering the client ------------------------------------------------------------------

    def _send_head(
        self, status: int, reason: str, headers: list[tuple[str, str]], length: int, method: str
    ) -> None:
        self.send_response_only(status, reason)
        for name, value in headers:
            lowered = name.lower()
            if lowered in _HOP_BY_HOP or lowered in ("content-length", "date", "server"):
                continue
            self.send_header(name, value)
        if method == "HEAD":
            # A HEAD announces the object's size; forward the server's own figure.
            upstream_length = next((v for n, v in headers if n.lower() == "content-length"), "0")
            self.send_header("Content-Length", upstream_length)
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _answer_error(self, status: int, code: str, message: str) -> None:
        body = b"" if self.command == "HEAD" else _error_body(code, message)
        self.send_response_only(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _reset(self) -> None:
        """Closes the client's connection with a TCP RST (no answer, no orderly FIN)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()

    def _close_write(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()
        if self._upstream is not None:
            self._upstream.close()
            self._upstream = None
