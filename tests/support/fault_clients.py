"""moto's server behind a fault proxy, and the clients the fault tests use: one through the proxy with
few retries and short timeouts, one straight to the server for set-up and the final checks."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from deltaglider import DeltaGliderClient, create_client
from support.fault_proxy import FaultPlan, FaultProxy
from support.workload import Report

REGION = "us-east-1"

#: Through the faults: a few attempts, and timeouts short enough that a stalled answer costs ~1 s.
FAULTY_CONFIG = Config(
    retries={"total_max_attempts": 3, "mode": "standard"},
    connect_timeout=1,
    read_timeout=1,
    max_pool_connections=4,
)
#: The proxy's ``stall`` outlasts FAULTY_CONFIG's read timeout.
STALL_S = 1.5


@dataclass
class Endpoint:
    server_url: str
    proxy: FaultProxy

    @classmethod
    @contextlib.contextmanager
    def start(cls, server_url: str, plan: FaultPlan | None = None) -> Iterator[Endpoint]:
        with FaultProxy(server_url, plan or FaultPlan(stall_s=STALL_S)) as proxy:
            yield cls(server_url, proxy)

    def boto(self, *, faulty: bool = True) -> Any:
        if faulty:
            return boto3.client("s3", region_name=REGION, endpoint_url=self.proxy.url, config=FAULTY_CONFIG)
        return boto3.client("s3", region_name=REGION, endpoint_url=self.server_url)

    def client(
        self, cache_dir: Path | None = None, *, faulty: bool = True, multipart_threshold: int | None = None
    ) -> DeltaGliderClient:
        """A deltaglider client; a memory cache unless ``cache_dir`` is given; uploads above
        ``multipart_threshold`` (default: boto3's) go multipart, in parts of that size."""
        options: dict[str, Any] = {"s3_client": self.boto(faulty=faulty), "log_level": "ERROR"}
        if cache_dir is None:
            options["cache_backend"] = "memory"
        else:
            options["cache_dir"] = str(cache_dir)
        if multipart_threshold is not None:
            options["transfer"] = TransferConfig(
                multipart_threshold=multipart_threshold, multipart_chunksize=multipart_threshold
            )
        return create_client(**options)

    def create_bucket(self) -> str:
        name = f"dg-faults-{uuid.uuid4().hex[:12]}"
        self.boto(faulty=False).create_bucket(Bucket=name)
        return name

    def pending_multipart(self, bucket: str) -> int:
        uploads = self.boto(faulty=False).list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return len(uploads)

    def settle_multipart(self, bucket: str, report: Report) -> None:
        """Counts the multipart uploads left pending (a CreateMultipartUpload that S3 carried out but
        whose answer was lost is retried, and the first upload is known to nobody), then lets
        ``client.cleanup`` abort them where the library has it."""
        report.pending_multipart += self.pending_multipart(bucket)
        client = self.client(faulty=False)
        if hasattr(client, "cleanup"):
            client.cleanup(f"s3://{bucket}/", older_than=timedelta(0))
            report.pending_multipart_after_cleanup += self.pending_multipart(bucket)
