"""S3's errors: an exception carrying the code, message and HTTP status S3 would answer, and the XML
error document that answers it."""

from __future__ import annotations

import secrets
from typing import Final

from starlette.responses import Response

from deltaglider.serve.s3.xmldoc import document

#: Codes and their statuses as S3 answers them.
STATUS: Final = {
    "AccessDenied": 403,
    "AuthorizationHeaderMalformed": 400,
    "AuthorizationQueryParametersError": 400,
    "BadDigest": 400,
    "BucketAlreadyOwnedByYou": 409,
    "BucketNotEmpty": 409,
    "EntityTooLarge": 400,
    "EntityTooSmall": 400,
    "IncompleteBody": 400,
    "InternalError": 500,
    "InvalidAccessKeyId": 403,
    "InvalidArgument": 400,
    "InvalidBucketName": 400,
    "InvalidDigest": 400,
    "InvalidPart": 400,
    "InvalidPartOrder": 400,
    "InvalidRange": 416,
    "InvalidURI": 400,
    "InvalidRequest": 400,
    "MalformedXML": 400,
    "MethodNotAllowed": 405,
    "MissingContentLength": 411,
    "NoSuchBucket": 404,
    "NoSuchKey": 404,
    "NoSuchUpload": 404,
    "NotImplemented": 501,
    "PreconditionFailed": 412,
    "RequestTimeTooSkewed": 403,
    "SignatureDoesNotMatch": 403,
    "XAmzContentSHA256Mismatch": 400,
}


class S3Error(Exception):
    """An S3 error answer. ``extra``: further elements of the error document (``Key``,
    ``BucketName``...)."""

    def __init__(self, code: str, message: str, *, status: int | None = None, **extra: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS.get(code, 400)
        self.extra = extra

    def body(self, request_id: str) -> bytes:
        return document(
            "Error",
            [("Code", self.code), ("Message", self.message), *self.extra.items(), ("RequestId", request_id)],
            namespace=False,
        )


def request_id() -> str:
    return secrets.token_hex(8).upper()


def error_response(error: S3Error, *, head: bool = False) -> Response:
    """The error's answer; a HEAD's carries no body (as S3's), only the status and headers."""
    rid = request_id()
    headers = {"x-amz-request-id": rid}
    if head:
        return Response(status_code=error.status, headers=headers)
    return Response(error.body(rid), status_code=error.status, headers=headers, media_type="application/xml")
