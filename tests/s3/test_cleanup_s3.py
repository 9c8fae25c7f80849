"""``client.cleanup`` on S3: pending multipart uploads (what a killed upload leaves: invisible, billed)
are aborted under the prefix asked for, once older than the threshold."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from support.s3_backend import S3Backend

from deltaglider import create_client


def _pending(s3: S3Backend, bucket: str) -> list[str]:
    return sorted(u["Key"] for u in s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def test_cleanup_aborts_stale_multipart_uploads_under_the_prefix(
    s3: S3Backend, bucket: str, tmp_path: Path
) -> None:
    for key in ("app/reference.bin", "app/sub/x.zip.delta", "other/y.zip"):
        upload = s3.client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        s3.client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"part")
    client = create_client(endpoint_url=s3.endpoint_url, cache_dir=str(tmp_path / "c"), log_level="WARNING")

    # moto reports every upload as started on 2010-11-10: a threshold reaching further back keeps them.
    assert client.cleanup(f"s3://{bucket}/app/", older_than=timedelta(days=365 * 100)) == []
    removed = client.cleanup(f"s3://{bucket}/app/", older_than=timedelta(0))

    assert sorted(line.split(":", 2)[1].removeprefix(f"//{bucket}/") for line in removed) == [
        "app/reference.bin",
        "app/sub/x.zip.delta",
    ]
    assert _pending(s3, bucket) == ["other/y.zip"]
    assert client.cleanup(f"s3://{bucket}", older_than=timedelta(0))[0].startswith(
        f"s3://{bucket}/other/y.zip"
    )
    assert _pending(s3, bucket) == []
