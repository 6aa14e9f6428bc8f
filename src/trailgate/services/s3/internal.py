"""In-process S3 calls made on behalf of a principal (CloudTrail delivering log files).

They go through `pipeline.invoke`: the wire's input validation, the operation's own `authorize`
answered by the policy engine with the caller's extra context keys (aws:SourceArn,
aws:SourceAccount, s3:x-amz-acl) added to every check, the operation, and CloudTrail recording.
Nothing here skips the bucket policy: a delivery the policy does not allow fails with
AccessDenied exactly as an HTTP request would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trailgate.auth.principal import Principal
from trailgate.errors import AwsError
from trailgate.runtime import Runtime
from trailgate.services import ids, registry
from trailgate.services.registry import CallContext


def _origin(principal: Principal) -> str:
    # CloudTrail reports an AWS service's own calls with the service name as source IP and
    # user agent.
    if principal.kind == "AWSService" and principal.service:
        return principal.service
    return "127.0.0.1"


def _service_keys(
    source_arn: str | None, source_account: str | None, context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    keys: dict[str, Any] = dict(context or {})
    if source_arn is not None:
        keys["aws:SourceArn"] = source_arn
    if source_account is not None:
        keys["aws:SourceAccount"] = source_account
    return keys


def call_as(
    runtime: Runtime,
    principal: Principal,
    operation: str,
    params: dict[str, Any],
    *,
    context: Mapping[str, Any] | None = None,
    record: bool = True,
) -> dict[str, Any]:
    """Validate, authorize, run (and record) one S3 operation as `principal`, exactly as the
    pipeline does for a request on the wire; raises the AwsError a client would get."""
    from trailgate.pipeline import invoke

    origin = _origin(principal)
    return invoke(runtime, principal, "s3", operation, params, source_ip=origin,
                  user_agent=origin, extra_context=dict(context or {}), record=record)


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
    keys = _service_keys(source_arn, source_account, context)
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
    keys = _service_keys(source_arn, source_account, context)
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
    from trailgate.pipeline import authorize

    spec = registry.lookup("s3", "PutObject")
    assert spec is not None
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if acl:
        params["ACL"] = acl
    keys = _service_keys(source_arn, source_account, context)
    if acl:
        keys["s3:x-amz-acl"] = acl
    origin = _origin(principal)
    ctx = CallContext(
        runtime=runtime, principal=principal, request_id=ids.request_id(),
        now=runtime.clock.now(), region=runtime.config.region, source_ip=origin,
        user_agent=origin, secure_transport=True,
    )
    try:
        authorize(spec, ctx, params, keys)
    except AwsError as err:
        if err.code == "AccessDenied":
            return False
        raise
    return True
