"""Bucket requests: ListBuckets, HeadBucket, GetBucketLocation, CreateBucket, DeleteBucket. Every
bucket of the store is served under its own name (on a folder store, each folder under it)."""

from __future__ import annotations

from datetime import datetime

import anyio.to_thread
from starlette.responses import Response

from deltaglider.serve.s3.context import Call, S3Server
from deltaglider.serve.s3.errors import S3Error
from deltaglider.serve.s3.keys import check_bucket_name
from deltaglider.serve.s3.xmldoc import Child, document


async def list_buckets(server: S3Server, call: Call) -> Response:
    answer = await anyio.to_thread.run_sync(server.store.buckets)
    owner = answer.get("Owner") or {}
    buckets: list[Child] = []
    for bucket in answer.get("Buckets", []):
        item: list[Child] = [("Name", bucket["Name"])]
        created = bucket.get("CreationDate")
        if isinstance(created, datetime):
            item.append(("CreationDate", created))
        buckets.append(("Bucket", item))
    children: list[Child] = [
        (
            "Owner",
            [
                ("ID", str(owner.get("ID", "deltaglider"))),
                ("DisplayName", str(owner.get("DisplayName", "deltaglider"))),
            ],
        ),
        ("Buckets", buckets),
    ]
    return Response(document("ListAllMyBucketsResult", children), media_type="application/xml")


async def head_bucket(server: S3Server, call: Call) -> Response:
    bucket = check_bucket_name(call.bucket)
    if not await anyio.to_thread.run_sync(server.store.bucket_exists, bucket):
        raise S3Error("NoSuchBucket", "The specified bucket does not exist", BucketName=bucket)
    return Response(status_code=200)


async def bucket_location(server: S3Server, call: Call) -> Response:
    await head_bucket(server, call)
    return Response(document("LocationConstraint", []), media_type="application/xml")


async def create_bucket(server: S3Server, call: Call) -> Response:
    bucket = check_bucket_name(call.bucket)
    await anyio.to_thread.run_sync(server.store.create_bucket, bucket)
    return Response(status_code=200, headers={"location": f"/{bucket}"})


async def delete_bucket(server: S3Server, call: Call) -> Response:
    bucket = check_bucket_name(call.bucket)
    await anyio.to_thread.run_sync(server.store.delete_bucket, bucket)
    return Response(status_code=204)
