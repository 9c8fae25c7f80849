"""``deltaglider put-bucket-acl`` and ``get-bucket-acl``: a bucket's access control list, with the
original DeltaGlider's options (those of ``aws s3api``)."""

from __future__ import annotations

import json
from typing import Any

import click

from deltaglider.cli.buckets import bucket_argument
from deltaglider.cli.common import EXIT_OK
from deltaglider.cli.session import Session

_CANNED = ["private", "public-read", "public-read-write", "authenticated-read"]


def _policy(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        policy = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--access-control-policy") from exc
    if not isinstance(policy, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--access-control-policy")
    return policy


@click.command("put-bucket-acl")
@click.argument("bucket")
@click.option("--acl", type=click.Choice(_CANNED), help="Canned ACL to apply.")
@click.option("--grant-full-control", metavar="GRANTEES", help="Full control (e.g. id=account-id).")
@click.option("--grant-read", metavar="GRANTEES", help="May list the bucket's objects.")
@click.option("--grant-read-acp", metavar="GRANTEES", help="May read the bucket's ACL.")
@click.option("--grant-write", metavar="GRANTEES", help="May create objects in the bucket.")
@click.option("--grant-write-acp", metavar="GRANTEES", help="May write the bucket's ACL.")
@click.option("--access-control-policy", metavar="JSON", help="The whole ACL, as JSON.")
@click.pass_obj
def put_bucket_acl(
    session: Session,
    *,
    bucket: str,
    acl: str | None,
    grant_full_control: str | None,
    grant_read: str | None,
    grant_read_acp: str | None,
    grant_write: str | None,
    grant_write_acp: str | None,
    access_control_policy: str | None,
) -> int:
    """Set the access control list of BUCKET (name, or s3://name). S3 only."""
    name = bucket_argument(bucket)
    settings: dict[str, Any] = {
        "ACL": acl,
        "GrantFullControl": grant_full_control,
        "GrantRead": grant_read,
        "GrantReadACP": grant_read_acp,
        "GrantWrite": grant_write,
        "GrantWriteACP": grant_write_acp,
        "AccessControlPolicy": _policy(access_control_policy),
    }
    given = {key: value for key, value in settings.items() if value is not None}
    if not given:
        raise click.UsageError("give the ACL to set: --acl, a --grant-* option or --access-control-policy")
    session.client.put_bucket_acl(Bucket=name, **given)
    session.out.line(f"ACL updated for bucket: {name}")
    session.out.document({"command": "put-bucket-acl", "bucket": name, "ok": True})
    return EXIT_OK


@click.command("get-bucket-acl")
@click.argument("bucket")
@click.pass_obj
def get_bucket_acl(session: Session, bucket: str) -> int:
    """Print the access control list of BUCKET (name, or s3://name) as JSON, as aws s3api does."""
    response = session.client.get_bucket_acl(Bucket=bucket_argument(bucket))
    acl = {"Owner": response.get("Owner", {}), "Grants": response.get("Grants", [])}
    session.out.data(json.dumps(acl, indent=2, default=str))
    session.out.document(acl)
    return EXIT_OK
