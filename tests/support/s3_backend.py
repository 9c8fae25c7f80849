"""One S3 endpoint as the S3 tests see it: moto in-process or moto's HTTP server."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from moto.core.authorization import enable_iam_authentication

from support.moto_server import MotoServer

REGION = "us-east-1"


@dataclass
class S3Backend:
    """One S3 endpoint for a test: the in-process mock (``endpoint_url`` None) or the server."""

    kind: str
    client: Any
    endpoint_url: str | None
    server: MotoServer | None

    def new_client(self, **kwargs: Any) -> Any:
        """Another boto3 S3 client on the same store (other credentials, retry settings...)."""
        return boto3.client("s3", region_name=REGION, endpoint_url=self.endpoint_url, **kwargs)

    def new_resource_client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url)

    @contextlib.contextmanager
    def iam_auth(self) -> Iterator[None]:
        """Make the store check credentials and IAM policies inside the block."""
        if self.server is not None:
            with self.server.iam_auth():
                yield
        else:
            with enable_iam_authentication():
                yield

    def create_bucket(self) -> str:
        name = f"dg-test-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name
