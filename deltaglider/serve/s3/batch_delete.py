"""DeleteObjects: up to 1,000 keys named in an XML document, each deleted as DeleteObject deletes it;
a key that cannot be (an unsafe name, a base that deltas need) is reported in the answer's ``Error``
entries, the others in ``Deleted`` unless ``Quiet``."""

from __future__ import annotations

from typing import Final

import anyio.to_thread
from starlette.responses import Response

from deltaglider.serve.body import request_document
from deltaglider.serve.s3.context import Call, S3Server
from deltaglider.serve.s3.errors import S3Error
from deltaglider.serve.s3.keys import check_bucket_name, check_object_key
from deltaglider.serve.s3.xmldoc import Child, child_text, children, document, local, parse

#: S3's most keys in one DeleteObjects.
MAX_KEYS: Final = 1000


def _keys(body: bytes) -> tuple[list[str], bool]:
    try:
        root = parse(body)
    except ValueError as exc:
        raise S3Error("MalformedXML", f"The XML you provided was not well-formed: {exc}") from None
    if local(root.tag) != "Delete":
        raise S3Error("MalformedXML", "The XML you provided is not a Delete document.")
    keys = [child_text(element, "Key") or "" for element in children(root, "Object")]
    if not keys or len(keys) > MAX_KEYS:
        raise S3Error("MalformedXML", f"A Delete names from 1 to {MAX_KEYS} objects.")
    return keys, (child_text(root, "Quiet") or "").strip().lower() == "true"


async def delete_objects(server: S3Server, call: Call) -> Response:
    bucket = check_bucket_name(call.bucket)
    body = await request_document(server, call)
    keys, quiet = _keys(body)
    refused: list[Child] = []
    allowed: list[str] = []
    for key in keys:
        try:
            allowed.append(check_object_key(key))
        except S3Error as exc:
            refused.append(("Error", [("Key", key), ("Code", exc.code), ("Message", exc.message)]))
    answer = (
        await anyio.to_thread.run_sync(lambda: server.store.delete_many(bucket, allowed, quiet=quiet))
        if allowed
        else {}
    )
    result: list[Child] = [("Deleted", [("Key", item["Key"])]) for item in answer.get("Deleted", [])]
    result += [
        ("Error", [("Key", item["Key"]), ("Code", item["Code"]), ("Message", item.get("Message", ""))])
        for item in answer.get("Errors", [])
    ]
    result += refused
    return Response(document("DeleteResult", result), media_type="application/xml")
