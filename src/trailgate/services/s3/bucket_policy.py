"""Bucket policies: PutBucketPolicy (validated as S3 does, MalformedPolicy with the validator's
message), GetBucketPolicy, DeleteBucketPolicy (NoSuchBucketPolicy when there is none).

A stored policy is authorization data: each change bumps the auth generation so every worker
evaluates the new document. The owner's root may always call these three operations (authz.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from trailgate.errors import AwsError
from trailgate.policy import PolicyKind, validate_policy
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.services.s3 import errors
from trailgate.services.s3.authz import bucket_check, require_bucket
from trailgate.services.s3.records import bucket_changed, read_bucket, write
from trailgate.store.schema_s3 import s3_buckets


def _no_policy(name: str) -> AwsError:
    return AwsError(
        "NoSuchBucketPolicy",
        "The bucket policy does not exist",
        404,
        extra={"BucketName": name},
    )


def _authorize(action: str) -> Any:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        bucket = require_bucket(ctx, params["Bucket"])
        return [bucket_check(ctx, bucket, action)]

    return authorize


@operation("s3", "GetBucketPolicy", authorize=_authorize("s3:GetBucketPolicy"), read_only=True)
def get_bucket_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Bucket"]
    with ctx.runtime.db.read() as conn:
        bucket = read_bucket(ctx.runtime, conn, name)
    if bucket is None:
        raise errors.no_such_bucket(name)
    if bucket.policy is None:
        raise _no_policy(name)
    return {"Policy": bucket.policy}


@operation("s3", "PutBucketPolicy", authorize=_authorize("s3:PutBucketPolicy"))
def put_bucket_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Bucket"]
    text = params.get("Policy")
    if not text:
        raise AwsError("MissingRequestBodyError", "Request Body is empty", 400)
    problems = validate_policy(text, PolicyKind.RESOURCE, bucket=name)
    if problems:
        raise AwsError("MalformedPolicy", problems[0], 400)
    runtime = ctx.runtime
    # Compiling before the write keeps a document the engine cannot use out of the store.
    runtime.compile(text, PolicyKind.RESOURCE, name=f"bucket-policy/{name}")
    with write(runtime) as conn:
        if read_bucket(runtime, conn, name, lock=True) is None:
            raise errors.no_such_bucket(name)
        conn.execute(update(s3_buckets).where(s3_buckets.c.name == name).values(policy=text))
        bucket_changed(runtime, conn)
    runtime.auth_changed()
    return {}


@operation("s3", "DeleteBucketPolicy", authorize=_authorize("s3:DeleteBucketPolicy"))
def delete_bucket_policy(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Bucket"]
    runtime = ctx.runtime
    with write(runtime) as conn:
        if read_bucket(runtime, conn, name, lock=True) is None:
            raise errors.no_such_bucket(name)
        # S3 answers 204 whether or not a policy was set.
        conn.execute(update(s3_buckets).where(s3_buckets.c.name == name).values(policy=None))
        bucket_changed(runtime, conn)
    runtime.auth_changed()
    return {}
