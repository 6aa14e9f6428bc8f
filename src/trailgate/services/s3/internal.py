"""In-process S3 calls made on behalf of a principal (CloudTrail delivering log files).

They run the operation's own `authorize` and the same policy engine call the pipeline makes,
with the caller's extra context keys (aws:SourceArn, aws:SourceAccount, ...) added to every
check, then the operation itself. Nothing here skips the bucket policy: a delivery the policy
does not allow fails with AccessDenied exactly as an HTTP request would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from trailgate import authorization
from trailgate.auth.principal import Principal
from trailgate.errors import AwsError
from trailgate.runtime import Runtime
from trailgate.services import ids, registry
from trailgate.services.registry import AuthzCheck, CallContext

# What CloudTrail reports as the source of calls AWS services make for themselves.
_SERVICE_USER_AGENT = "AWS Internal"


def _context(runtime: Runtime, principal: Principal) -> CallContext:
    source = principal.service if principal.kind == "AWSService" else "127.0.0.1"
    return CallContext(
        runtime=runtime,
        principal=principal,
        request_id=ids.request_id(),
        now=runtime.clock.now(),
        region=runtime.config.region,
        source_ip=source or "127.0.0.1",
        user_agent=_SERVICE_USER_AGENT,
        secure_transport=True,
    )


def _service_keys(
    principal: Principal, source_arn: str | None, source_account: str | None,
    context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    keys: dict[str, Any] = dict(context or {})
    if source_arn is not None:
        keys["aws:SourceArn"] = source_arn
    if source_account is not None:
        keys["aws:SourceAccount"] = source_account
    return keys


def _authorized_checks(
    ctx: CallContext, spec: registry.OperationSpec, params: dict[str, Any],
    extra: Mapping[str, Any],
) -> list[AuthzCheck]:
    assert spec.authorize is not None
    checks = [
        replace(check, context={**check.context, **extra})
        for check in spec.authorize(ctx, params)
    ]
    for check in checks:
        restricted = authorization.session_token_restriction(ctx.principal, check.action)
        if restricted is not None:
            raise restricted
        result = authorization.evaluate_check(ctx, check)
        if spec.per_item and check.item is not None:
            ctx.item_decisions[check.item] = result.allowed
        elif not result.allowed:
            raise authorization.access_denied("s3", result)
    return checks


def call_as(
    runtime: Runtime,
    principal: Principal,
    operation: str,
    params: dict[str, Any],
    *,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Authorize and run one S3 operation as `principal`; raises AwsError like the wire would."""
    spec = registry.lookup("s3", operation)
    if spec is None:
        raise AwsError("NotImplemented", f"{operation} is not implemented", 501)
    ctx = _context(runtime, principal)
    _authorized_checks(ctx, spec, params, dict(context or {}))
    return spec.func(ctx, params)


def put_object_as(
    runtime: Runtime,
    principal: Principal,
    bucket: str,
    key: str,
    body: bytes,
    *,
    content_type: str,
    content_encoding: str | None = None,
    acl: str | None = None,
    metadata: Mapping[str, str] | None = None,
    source_arn: str | None = None,
    source_account: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """PutObject as `principal`; returns PutObject's output (ETag, VersionId)."""
    params: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "Body": body,
        "ContentType": content_type,
        "ContentLength": len(body),
    }
    if content_encoding:
        params["ContentEncoding"] = content_encoding
    if acl:
        params["ACL"] = acl
    if metadata:
        params["Metadata"] = dict(metadata)
    keys = _service_keys(principal, source_arn, source_account, context)
    if acl:
        keys["s3:x-amz-acl"] = acl
    return call_as(runtime, principal, "PutObject", params, context=keys)


def get_bucket_acl_as(
    runtime: Runtime,
    principal: Principal,
    bucket: str,
    *,
    source_arn: str | None = None,
    source_account: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """GetBucketAcl as `principal`; returns its output (Owner, Grants)."""
    keys = _service_keys(principal, source_arn, source_account, context)
    return call_as(runtime, principal, "GetBucketAcl", {"Bucket": bucket}, context=keys)


def may_put_object_as(
    runtime: Runtime,
    principal: Principal,
    bucket: str,
    key: str,
    *,
    acl: str | None = None,
    source_arn: str | None = None,
    source_account: str | None = None,
    context: Mapping[str, Any] | None = None,
) -> bool:
    """Whether PutObject as `principal` would be allowed (CreateTrail checks the bucket policy
    before it accepts a bucket). Raises NoSuchBucket for a missing bucket."""
    spec = registry.lookup("s3", "PutObject")
    assert spec is not None
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if acl:
        params["ACL"] = acl
    keys = _service_keys(principal, source_arn, source_account, context)
    if acl:
        keys["s3:x-amz-acl"] = acl
    try:
        _authorized_checks(_context(runtime, principal), spec, params, keys)
    except AwsError as err:
        if err.code == "AccessDenied":
            return False
        raise
    return True
