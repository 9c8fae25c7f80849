"""AWS Signature Version 4, as S3 checks it: a request signed in its ``Authorization`` header or by a
presigned URL's query, verified against the one key pair the server accepts.

The canonical request is rebuilt from what arrived: the method, the path re-encoded from its decoded
form (each byte but the unreserved ones and ``/`` as ``%XX``, once, as S3 signs it), the query's pairs
encoded and sorted, the signed headers' values trimmed, and the payload's hash as the client declared it
(``x-amz-content-sha256``: a hex SHA-256 checked against the body as it is read, ``UNSIGNED-PAYLOAD``,
or a ``STREAMING-`` body whose chunks carry their own signatures, see :class:`ChunkSigner`). The string
to sign and the signing key follow AWS's HMAC-SHA256 chain; signatures are compared in constant time.

A header-signed request must be dated within the allowed clock skew; a presigned one may be used from
its date until ``X-Amz-Expires`` seconds later (at most seven days, as S3 allows).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from deltaglider.serve.s3.errors import S3Error

ALGORITHM: Final = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED: Final = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_UNSIGNED_TRAILER: Final = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
#: The longest life S3 gives a presigned URL.
MAX_EXPIRES: Final = 7 * 24 * 3600
_DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"
#: The query parameters a Signature Version 2 string to sign includes (its "sub-resources").
_V2_SUBRESOURCES: Final = frozenset(
    {
        "acl", "delete", "location", "logging", "partNumber", "policy", "requestPayment", "tagging",
        "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires",
    }
)  # fmt: skip
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_SPACES: Final = re.compile(r" +")


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class Incoming:
    """What the signature covers, as the request arrived: ``headers`` with lowercased names, in order,
    repeated names kept."""

    method: str
    raw_path: bytes
    query_string: bytes
    headers: Sequence[tuple[str, str]]

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class Verified:
    """A request whose signature matched: what the body must then satisfy (``payload``: the declared
    hash or kind), and what a signed chunked body's chunk signatures chain from."""

    payload: str
    seed_signature: str
    amz_date: str
    scope: str
    signing_key: bytes

    def chunk_signer(self) -> ChunkSigner:
        return ChunkSigner(self.signing_key, self.amz_date, self.scope, self.seed_signature)


class ChunkSigner:
    """The signatures of an ``aws-chunked`` body's chunks: each signs its data's hash and the previous
    chunk's signature (the first chunk's, the request's own)."""

    def __init__(self, signing_key: bytes, amz_date: str, scope: str, seed: str) -> None:
        self._key = signing_key
        self._prefix = f"{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n"
        self.previous = seed

    def check(self, signature: str, data_sha256: str) -> None:
        """Accepts the chunk's signature (which the next chunk then chains from), or refuses it."""
        to_sign = f"{self._prefix}{self.previous}\n{EMPTY_SHA256}\n{data_sha256}"
        expected = hmac.new(self._key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise S3Error(
                "SignatureDoesNotMatch",
                "The chunk signature we calculated does not match the signature you provided.",
            )
        self.previous = signature


def is_signed(request: Incoming) -> bool:
    """Whether the request carries a signature of any kind (header or query): an unsigned one is
    anonymous."""
    if request.header("authorization") is not None:
        return True
    return any(
        name.lower() in ("x-amz-signature", "signature", "awsaccesskeyid") for name, _ in _pairs(request)
    )


def verify(request: Incoming, credentials: Credentials | None, now: datetime, max_skew: int) -> Verified:
    """Checks the request's signature; raises the ``S3Error`` S3 would answer when it does not hold."""
    query = dict(_pairs(request))
    if request.header("authorization") is None and "X-Amz-Signature" in query:
        return _verify_presigned(request, query, credentials, now)
    if request.header("authorization") is None and {"AWSAccessKeyId", "Signature"} <= query.keys():
        return _verify_presigned_v2(request, query, credentials, now)
    return _verify_header(request, credentials, now, max_skew)


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_uri(raw_path: bytes) -> str:
    path = urllib.parse.unquote(raw_path.decode("latin-1"), encoding="utf-8", errors="surrogateescape")
    return urllib.parse.quote(path, safe="/~", encoding="utf-8", errors="surrogateescape") or "/"


def canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    encoded = sorted(
        (urllib.parse.quote(name, safe="~"), urllib.parse.quote(value, safe="~")) for name, value in pairs
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_request(
    request: Incoming, signed_headers: Sequence[str], payload: str, pairs: Sequence[tuple[str, str]]
) -> str:
    lines = [request.method, canonical_uri(request.raw_path), canonical_query(pairs)]
    for name in signed_headers:
        value = request.header(name)
        if value is None:
            raise S3Error(
                "AccessDenied",
                f"The signed header {name} is missing from the request",
            )
        lines.append(f"{name}:{_SPACES.sub(' ', value.strip())}")
    lines += ["", ";".join(signed_headers), payload]
    return "\n".join(lines)


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _pairs(request: Incoming) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(
        request.query_string.decode("latin-1"), keep_blank_values=True, encoding="utf-8"
    )


@dataclass(frozen=True)
class _Scope:
    access_key: str
    date: str
    region: str
    service: str

    @property
    def text(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def _scope(credential: str) -> _Scope:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise S3Error(
            "AuthorizationHeaderMalformed", f"the Credential is mal-formed: {credential!r}", status=400
        )
    if parts[3] != "s3":
        raise S3Error(
            "AuthorizationHeaderMalformed",
            f"the service in the Credential must be s3, not {parts[3]!r}",
            status=400,
        )
    return _Scope(*parts[:4])


def _parse_date(text: str | None) -> datetime:
    try:
        if text is None:
            raise ValueError("missing")
        return datetime.strptime(text, _DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise S3Error(
            "AccessDenied", "AWS authentication requires a valid X-Amz-Date (YYYYMMDDTHHMMSSZ)"
        ) from None


def _key_for(scope: _Scope, credentials: Credentials | None) -> bytes:
    if credentials is None or not hmac.compare_digest(scope.access_key, credentials.access_key):
        raise S3Error(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=scope.access_key,
        )
    return signing_key(credentials.secret_key, scope.date, scope.region, scope.service)


def _check_signature(key: bytes, to_sign: str, given: str, canonical: str) -> None:
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.lower()):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            StringToSign=to_sign,
            CanonicalRequest=canonical,
        )


def _signed_headers(text: str) -> list[str]:
    names = [name for name in text.lower().split(";") if name]
    if "host" not in names:
        raise S3Error("AccessDenied", "the Host header must be signed")
    return names


def _verify_header(
    request: Incoming, credentials: Credentials | None, now: datetime, max_skew: int
) -> Verified:
    header = request.header("authorization") or ""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise S3Error("InvalidRequest", "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, eq, value = item.strip().partition("=")
        if eq:
            fields[name] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise S3Error("AuthorizationHeaderMalformed", "The authorization header is malformed.", status=400)
    scope = _scope(fields["Credential"])
    amz_date = request.header("x-amz-date")
    moment = _parse_date(amz_date)
    assert amz_date is not None
    if amz_date[:8] != scope.date:
        raise S3Error("AuthorizationHeaderMalformed", "the Credential's date is not X-Amz-Date's", status=400)
    if abs(now - moment) > timedelta(seconds=max_skew):
        raise S3Error(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            RequestTime=amz_date,
            ServerTime=now.strftime(_DATE_FORMAT),
        )
    payload = request.header("x-amz-content-sha256")
    if payload is None:
        raise S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
    if not (
        _HEX64.fullmatch(payload)
        or payload in (UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_UNSIGNED_TRAILER)
    ):
        raise S3Error(
            "InvalidArgument",
            f"x-amz-content-sha256 must be a SHA-256 or a payload kind we take, not {payload!r}",
        )
    key = _key_for(scope, credentials)
    names = _signed_headers(fields["SignedHeaders"])
    canonical = canonical_request(request, names, payload, _pairs(request))
    to_sign = string_to_sign(amz_date, scope.text, canonical)
    _check_signature(key, to_sign, fields["Signature"], canonical)
    return Verified(payload, fields["Signature"].lower(), amz_date, scope.text, key)


def _verify_presigned(
    request: Incoming, query: dict[str, str], credentials: Credentials | None, now: datetime
) -> Verified:
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise S3Error(
            "AuthorizationQueryParametersError", "X-Amz-Algorithm must be AWS4-HMAC-SHA256", status=400
        )
    for name in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"):
        if name not in query:
            raise S3Error("AuthorizationQueryParametersError", f"the presigned URL lacks {name}", status=400)
    scope = _scope(query["X-Amz-Credential"])
    amz_date = query["X-Amz-Date"]
    moment = _parse_date(amz_date)
    if amz_date[:8] != scope.date:
        raise S3Error(
            "AuthorizationQueryParametersError", "the Credential's date is not X-Amz-Date's", status=400
        )
    expires_text = query["X-Amz-Expires"]
    if not expires_text.isdigit() or not 1 <= int(expires_text) <= MAX_EXPIRES:
        raise S3Error(
            "AuthorizationQueryParametersError",
            f"X-Amz-Expires must be from 1 to {MAX_EXPIRES} seconds, not {expires_text!r}",
            status=400,
        )
    if now < moment - timedelta(minutes=15):
        raise S3Error("AccessDenied", "Request is not valid yet")
    if now > moment + timedelta(seconds=int(expires_text)):
        raise S3Error(
            "AccessDenied",
            "Request has expired",
            XAmzExpires=expires_text,
            Expires=(moment + timedelta(seconds=int(expires_text))).strftime(_DATE_FORMAT),
            ServerTime=now.strftime(_DATE_FORMAT),
        )
    key = _key_for(scope, credentials)
    names = _signed_headers(query["X-Amz-SignedHeaders"])
    pairs = [(name, value) for name, value in _pairs(request) if name != "X-Amz-Signature"]
    payload = request.header("x-amz-content-sha256") or UNSIGNED_PAYLOAD
    canonical = canonical_request(request, names, payload, pairs)
    to_sign = string_to_sign(amz_date, scope.text, canonical)
    _check_signature(key, to_sign, query["X-Amz-Signature"], canonical)
    return Verified(payload, query["X-Amz-Signature"].lower(), amz_date, scope.text, key)


def _verify_presigned_v2(
    request: Incoming, query: dict[str, str], credentials: Credentials | None, now: datetime
) -> Verified:
    """A Signature Version 2 presigned URL (``AWSAccessKeyId``, ``Expires``, ``Signature``), which
    boto3's ``generate_presigned_url`` makes unless told ``signature_version="s3v4"``: HMAC-SHA1 over
    the method, the Content-MD5 and Content-Type headers, the expiry and the resource."""
    expires = query.get("Expires", "")
    if not expires.isdigit():
        raise S3Error("AccessDenied", "Query-string authentication requires Expires")
    if now.timestamp() > int(expires):
        raise S3Error("AccessDenied", "Request has expired", Expires=expires)
    if credentials is None or not hmac.compare_digest(query["AWSAccessKeyId"], credentials.access_key):
        raise S3Error(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=query["AWSAccessKeyId"],
        )
    amz = sorted((name, value.strip()) for name, value in request.headers if name.startswith("x-amz-"))
    subresources = sorted((name, value) for name, value in _pairs(request) if name in _V2_SUBRESOURCES)
    resource = request.raw_path.decode("latin-1")
    if subresources:
        resource += "?" + "&".join(f"{name}={value}" if value else name for name, value in subresources)
    to_sign = "\n".join(
        [
            request.method,
            request.header("content-md5") or "",
            request.header("content-type") or "",
            expires,
            *(f"{name}:{value}" for name, value in amz),
            resource,
        ]
    )
    digest = hmac.new(
        credentials.secret_key.encode(), to_sign.encode("utf-8", "surrogateescape"), hashlib.sha1
    )
    expected = base64.b64encode(digest.digest()).decode()
    if not hmac.compare_digest(expected, query["Signature"]):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
            StringToSign=to_sign,
        )
    return Verified(UNSIGNED_PAYLOAD, "", "", "", b"")
