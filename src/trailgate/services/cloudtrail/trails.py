"""Trail settings: CreateTrail, UpdateTrail, DeleteTrail, GetTrail, DescribeTrails, ListTrails.

A new trail does not log until StartLogging. Its bucket must exist and let CloudTrail deliver
(bucket_check.py). Features trailgate has no service for (SNS topics, KMS keys, CloudWatch Logs,
organization trails) are refused with the error AWS gives when the named resource is unusable,
rather than accepted and silently ignored.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from trailgate.services.cloudtrail import bucket_check
from trailgate.services.cloudtrail.common import (
    any_resource_check,
    caller_account,
    error,
    find_trail,
    named_arn,
    not_found,
    parse_arn,
    require_home_region,
    tag_keys,
    trail_check,
    trail_shape,
    validate_name,
)
from trailgate.services.cloudtrail.tags import validate_tags
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.store.schema_trail import trail_trails
from trailgate.trail import queue, trails
from trailgate.trail.selectors import DEFAULT_SELECTORS
from trailgate.trail.trails import trail_arn

MAX_TRAILS_PER_REGION = 5
MAX_PREFIX = 200


def _output(trail: trails.Trail) -> dict[str, Any]:
    out = trail_shape(trail)
    for key in ("HomeRegion", "HasCustomEventSelectors", "HasInsightSelectors"):
        out.pop(key, None)
    return out


def _validate_unsupported(params: dict[str, Any]) -> None:
    if params.get("SnsTopicName"):
        raise error(
            "InsufficientSnsTopicPolicyException",
            f"SNS topic {params['SnsTopicName']} is not available: trailgate has no SNS.",
        )
    if params.get("KmsKeyId"):
        raise error(
            "KmsKeyNotFoundException",
            f"KMS key {params['KmsKeyId']} is not available: trailgate has no KMS.",
        )
    if params.get("CloudWatchLogsLogGroupArn") or params.get("CloudWatchLogsRoleArn"):
        raise error(
            "InvalidCloudWatchLogsLogGroupArnException",
            "CloudWatch Logs delivery is not available: trailgate has no CloudWatch Logs.",
        )
    if params.get("IsOrganizationTrail"):
        raise error(
            "UnsupportedOperationException",
            "Organization trails are not supported by trailgate; create a trail in each account.",
        )


def _validate_prefix(prefix: str | None) -> None:
    if prefix is not None and len(prefix) > MAX_PREFIX:
        raise error(
            "InvalidS3PrefixException",
            f"S3 key prefix is too long. Maximum allowed length: {MAX_PREFIX} characters.",
        )


def _validate_bucket_name(name: str) -> None:
    from trailgate.services.s3.buckets import valid_bucket_name

    if not valid_bucket_name(name):
        raise error("InvalidS3BucketNameException", f"Bucket name {name} is not valid.")


def _authorize_create(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    arn = trail_arn(ctx.region, caller_account(ctx), params["Name"])
    return [trail_check(ctx, "cloudtrail:CreateTrail", arn, tag_keys(params.get("TagsList") or []))]


@operation("cloudtrail", "CreateTrail", authorize=_authorize_create)
def create_trail(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["Name"]
    validate_name(name)
    bucket = params["S3BucketName"]
    prefix = params.get("S3KeyPrefix") or None
    _validate_bucket_name(bucket)
    _validate_prefix(prefix)
    _validate_unsupported(params)
    multi = bool(params.get("IsMultiRegionTrail", False))
    include_global = bool(params.get("IncludeGlobalServiceEvents", True))
    if multi and not include_global:
        raise error(
            "InvalidParameterCombinationException",
            "Multi-Region trail must include global service events.",
        )
    tags = validate_tags(params.get("TagsList") or [], existing=[])
    account = caller_account(ctx)
    region = ctx.region
    arn = trail_arn(region, account, name)
    runtime = ctx.runtime
    with runtime.db.read() as conn:
        existing = trails.account_trails(conn, account)
    if any(t.name == name and (t.home_region == region or t.multi_region) for t in existing):
        raise error(
            "TrailAlreadyExistsException",
            f"Trail {name} already exists for customer: {account}",
        )
    if len([t for t in existing if t.home_region == region]) >= MAX_TRAILS_PER_REGION:
        raise error(
            "MaximumNumberOfTrailsExceededException",
            f"User: {account} already has {MAX_TRAILS_PER_REGION} trails in {region}.",
        )
    bucket_check.check_delivery_allowed(
        runtime, bucket=bucket, prefix=prefix, account_id=account, trail_arn=arn, region=region
    )
    trail_id = str(uuid.uuid4())
    with runtime.db.begin() as conn:
        try:
            conn.execute(
                insert(trail_trails).values(
                    id=trail_id,
                    account_id=account,
                    home_region=region,
                    name=name,
                    arn=arn,
                    s3_bucket=bucket,
                    s3_prefix=prefix,
                    sns_topic=None,
                    include_global=include_global,
                    multi_region=multi,
                    log_validation=bool(params.get("EnableLogFileValidation", False)),
                    kms_key_id=None,
                    cw_log_group_arn=None,
                    cw_role_arn=None,
                    is_organization=False,
                    event_selectors=json.dumps(DEFAULT_SELECTORS),
                    advanced_selectors=None,
                    has_custom_selectors=False,
                    tags=json.dumps(tags),
                    created_at=ctx.now,
                    logging=False,
                    cursor_seq=0,
                    stop_seq=None,
                    gaps=None,
                    final_digest_due=False,
                )
            )
        except IntegrityError as exc:
            # Created by a concurrent request since the check above.
            raise error(
                "TrailAlreadyExistsException",
                f"Trail {name} already exists for customer: {account}",
            ) from exc
        trails.changed(runtime, conn)
        trail = trails.get_by_id(conn, trail_id)
    assert trail is not None
    ctx.trail["resources"] = [
        {"accountId": account, "type": "AWS::CloudTrail::Trail", "ARN": arn}
    ]
    return _output(trail)


def _authorize_named(action: str, member: str = "Name") -> Any:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        return [trail_check(ctx, action, named_arn(ctx, params[member]))]

    return authorize


@operation("cloudtrail", "UpdateTrail", authorize=_authorize_named("cloudtrail:UpdateTrail"))
def update_trail(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    runtime = ctx.runtime
    with runtime.db.read() as conn:
        trail = find_trail(conn, ctx, params["Name"])
    require_home_region(ctx, trail)
    _validate_unsupported(params)
    values: dict[str, Any] = {}
    bucket = params.get("S3BucketName", trail.s3_bucket)
    prefix = (params["S3KeyPrefix"] or None) if "S3KeyPrefix" in params else trail.s3_prefix
    if "S3BucketName" in params:
        _validate_bucket_name(bucket)
    _validate_prefix(prefix)
    if bucket != trail.s3_bucket or prefix != trail.s3_prefix:
        bucket_check.check_delivery_allowed(
            runtime, bucket=bucket, prefix=prefix, account_id=trail.account_id,
            trail_arn=trail.arn, region=trail.home_region,
        )
        values.update(s3_bucket=bucket, s3_prefix=prefix)
    multi = bool(params.get("IsMultiRegionTrail", trail.multi_region))
    include_global = bool(params.get("IncludeGlobalServiceEvents", trail.include_global))
    if multi and not include_global:
        raise error(
            "InvalidParameterCombinationException",
            "Multi-Region trail must include global service events.",
        )
    values.update(multi_region=multi, include_global=include_global)
    if "EnableLogFileValidation" in params:
        values["log_validation"] = bool(params["EnableLogFileValidation"])
    with runtime.db.begin() as conn:
        conn.execute(update(trail_trails).where(trail_trails.c.id == trail.id).values(**values))
        trails.changed(runtime, conn)
        updated = trails.get_by_id(conn, trail.id)
    if updated is None:
        raise not_found(ctx, params["Name"])
    ctx.trail["resources"] = [
        {"accountId": trail.account_id, "type": "AWS::CloudTrail::Trail", "ARN": trail.arn}
    ]
    return _output(updated)


@operation("cloudtrail", "DeleteTrail", authorize=_authorize_named("cloudtrail:DeleteTrail"))
def delete_trail(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    runtime = ctx.runtime
    with runtime.db.read() as conn:
        trail = find_trail(conn, ctx, params["Name"])
    require_home_region(ctx, trail)
    t = trail_trails.c
    with runtime.db.begin() as conn:
        queue.lock_order(conn)
        current = trails.get_by_id(conn, trail.id, lock=True)
        if current is None or current.deleted_at is not None:
            raise not_found(ctx, params["Name"])
        values: dict[str, Any] = {"deleted_at": ctx.now, "logging": False}
        if current.logging:
            # Events up to now are still owed; the last digest closes the chain.
            values.update(
                stop_seq=queue.max_seq(conn),
                stop_logging_time=ctx.now,
                final_digest_due=current.log_validation,
            )
        conn.execute(update(trail_trails).where(t.id == trail.id).values(**values))
        trails.changed(runtime, conn)
    ctx.trail["resources"] = [
        {"accountId": trail.account_id, "type": "AWS::CloudTrail::Trail", "ARN": trail.arn}
    ]
    _poke(ctx)
    return {}


def _poke(ctx: CallContext) -> None:
    worker = getattr(ctx.runtime, "delivery", None)
    if worker is not None:
        worker.poke()


@operation(
    "cloudtrail", "GetTrail", authorize=_authorize_named("cloudtrail:GetTrail"), read_only=True
)
def get_trail(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        trail = find_trail(conn, ctx, params["Name"])
    return {"Trail": trail_shape(trail)}


def _authorize_describe(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    return [any_resource_check("cloudtrail:DescribeTrails")]


@operation("cloudtrail", "DescribeTrails", authorize=_authorize_describe, read_only=True)
def describe_trails(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    include_shadows = bool(params.get("includeShadowTrails", True))
    wanted = params.get("trailNameList") or []
    with ctx.runtime.db.read() as conn:
        mine = trails.account_trails(conn, caller_account(ctx))
    visible = [
        t
        for t in mine
        if t.home_region == ctx.region or (include_shadows and t.multi_region)
    ]
    if wanted:
        chosen = []
        for item in wanted:
            parsed = parse_arn(item)
            for trail in visible:
                hit = (
                    trail.arn == item
                    if parsed is not None
                    else trail.name == item
                )
                if hit and trail not in chosen:
                    chosen.append(trail)
        visible = chosen
    return {"trailList": [trail_shape(t) for t in visible]}


def _authorize_list(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    return [any_resource_check("cloudtrail:ListTrails")]


@operation("cloudtrail", "ListTrails", authorize=_authorize_list, read_only=True)
def list_trails(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    # Every trail fits in one page (at most five per region), so no NextToken is ever issued.
    with ctx.runtime.db.read() as conn:
        mine = trails.account_trails(conn, caller_account(ctx))
    return {
        "Trails": [
            {"TrailARN": t.arn, "Name": t.name, "HomeRegion": t.home_region} for t in mine
        ]
    }
