"""Bucket versioning: Get/PutBucketVersioning. A bucket starts unversioned (its objects carry the
version id "null"); once enabled it can only be suspended, never unversioned again. How writes
and deletes treat versions lives in objects.py and delete.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import errors
from trailgate.services.s3.authz import bucket_check, require_bucket
from trailgate.services.s3.records import bucket_changed, read_bucket, write
from trailgate.store.schema_s3 import s3_buckets

STATUSES = ("Enabled", "Suspended")


def _authorize_get(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:GetBucketVersioning")]


@operation("s3", "GetBucketVersioning", authorize=_authorize_get, read_only=True)
def get_bucket_versioning(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        bucket = read_bucket(ctx.runtime, conn, params["Bucket"])
    if bucket is None:
        raise errors.no_such_bucket(params["Bucket"])
    return {"Status": bucket.versioning} if bucket.versioning else {}


def _authorize_put(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    bucket = require_bucket(ctx, params["Bucket"])
    return [bucket_check(ctx, bucket, "s3:PutBucketVersioning")]


@operation("s3", "PutBucketVersioning", authorize=_authorize_put)
def put_bucket_versioning(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    config = params.get("VersioningConfiguration") or {}
    status = config.get("Status")
    if status not in STATUSES:
        raise errors.malformed_xml()
    if config.get("MFADelete") == "Enabled":
        # MFA delete needs the root's MFA device, which trailgate does not have.
        raise errors.invalid_request("MFA Authentication must be used for this request")
    name = params["Bucket"]
    with write(ctx.runtime) as conn:
        if read_bucket(ctx.runtime, conn, name, lock=True) is None:
            raise errors.no_such_bucket(name)
        conn.execute(update(s3_buckets).where(s3_buckets.c.name == name).values(versioning=status))
        # Readers answer VersionId from the cached bucket: let every worker refresh it.
        bucket_changed(ctx.runtime, conn)
    ctx.runtime.auth_changed()
    return {}
