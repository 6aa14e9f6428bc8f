"""S3's authorization questions: the AuthzCheck of each action and resource, with the bucket
owner as resource account, the bucket policy as resource policy, and S3's condition keys.

Existence comes first: a request for a bucket that does not exist is answered NoSuchBucket
before any permission is evaluated (S3 does the same: without a bucket there is no owner and no
policy to decide with, and S3 tells even anonymous callers that a name is free). For a bucket
that exists, a caller without permission gets AccessDenied whether or not the key exists; a
missing key is reported as NoSuchKey only to callers allowed s3:ListBucket (see objects.py).

Condition keys set on every request (Service Authorization Reference, Amazon S3, and "Amazon S3
Signature Version 4 Authentication Specific Policy Keys"): s3:authType, s3:signatureversion,
s3:signatureAge, s3:x-amz-content-sha256 and s3:ResourceAccount; s3:TlsVersion is never set
because trailgate does not know the TLS version of a proxy in front of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from trailgate.services.registry import AuthzCheck, CallContext
from trailgate.services.s3 import errors
from trailgate.services.s3.records import Bucket, cached_bucket

_POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})


def require_bucket(ctx: CallContext, name: str | None) -> Bucket:
    if not name:
        raise errors.no_such_bucket("")
    bucket = cached_bucket(ctx.runtime, name)
    if bucket is None:
        raise errors.no_such_bucket(name)
    return bucket


def request_keys(ctx: CallContext) -> dict[str, Any]:
    """The S3 keys that describe how the request was made."""
    keys: dict[str, Any] = {}
    auth = ctx.auth
    if auth is not None and not auth.is_anonymous:
        keys["s3:authType"] = "REST-QUERY-STRING" if auth.presigned else "REST-HEADER"
        if auth.signature_version == "v2":
            keys["s3:signatureversion"] = "AWS"
            keys["s3:signatureAge"] = "0"
        elif auth.signature_version == "v4":
            keys["s3:signatureversion"] = "AWS4-HMAC-SHA256"
            signed = auth.signed_at
            if signed is not None:
                now = ctx.now if ctx.now.tzinfo else ctx.now.replace(tzinfo=UTC)
                age = max(0, int((now - signed).total_seconds() * 1000))
                keys["s3:signatureAge"] = str(age)
    if ctx.request is not None:
        sha = ctx.request.headers.get("x-amz-content-sha256")
        if sha:
            keys["s3:x-amz-content-sha256"] = sha.strip()
    return keys


def _context(
    ctx: CallContext, bucket_owner: str, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    keys = request_keys(ctx)
    keys["s3:ResourceAccount"] = bucket_owner
    if extra:
        keys.update({k: v for k, v in extra.items() if v is not None})
    return keys


def _policy_for(ctx: CallContext, bucket: Bucket, action: str) -> Any:
    # The bucket owner's root may always read, replace or delete the bucket policy, even one
    # that denies everyone (S3 User Guide, bucket policies: "the root user of the account that
    # owns the bucket can always ... GetBucketPolicy, PutBucketPolicy, DeleteBucketPolicy").
    principal = ctx.principal
    if (
        action in _POLICY_ACTIONS
        and principal.kind == "Root"
        and principal.account_id == bucket.owner_account
    ):
        return None
    return bucket.compiled_policy


def bucket_check(
    ctx: CallContext,
    bucket: Bucket,
    action: str,
    extra: Mapping[str, Any] | None = None,
    *,
    item: str | None = None,
) -> AuthzCheck:
    return AuthzCheck(
        action,
        bucket.arn,
        resource_account=bucket.owner_account,
        context=_context(ctx, bucket.owner_account, extra),
        resource_policy=_policy_for(ctx, bucket, action),
        item=item,
    )


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def object_check(
    ctx: CallContext,
    bucket: Bucket,
    key: str,
    action: str,
    extra: Mapping[str, Any] | None = None,
    *,
    item: str | None = None,
) -> AuthzCheck:
    return AuthzCheck(
        action,
        object_arn(bucket.name, key),
        resource_account=bucket.owner_account,
        context=_context(ctx, bucket.owner_account, extra),
        resource_policy=bucket.compiled_policy,
        item=item,
    )


def account_check(
    ctx: CallContext, action: str, extra: Mapping[str, Any] | None = None
) -> AuthzCheck:
    """Actions on no particular resource (ListAllMyBuckets, CreateBucket's account side)."""
    keys = request_keys(ctx)
    if extra:
        keys.update({k: v for k, v in extra.items() if v is not None})
    return AuthzCheck(action, "*", context=keys)


def existing_tag_keys(tags: Mapping[str, str]) -> dict[str, str]:
    return {f"s3:ExistingObjectTag/{k}": v for k, v in tags.items()}


def request_tag_keys(tags: Mapping[str, str]) -> dict[str, Any]:
    keys: dict[str, Any] = {f"s3:RequestObjectTag/{k}": v for k, v in tags.items()}
    if tags:
        keys["s3:RequestObjectTagKeys"] = list(tags)
    return keys


def header_keys(ctx: CallContext, names: tuple[str, ...]) -> dict[str, str]:
    """s3:<header> keys for the request headers S3 exposes as condition keys."""
    keys: dict[str, str] = {}
    if ctx.request is None:
        return keys
    for name in names:
        value = ctx.request.headers.get(name)
        if value is not None:
            keys[f"s3:{name}"] = value.strip()
    return keys


# Headers of a write that S3 exposes as condition keys (s3:x-amz-acl, ...).
WRITE_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write",
    "x-amz-grant-write-acp",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-storage-class",
    "x-amz-website-redirect-location",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
)
