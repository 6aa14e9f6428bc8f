"""What every CloudTrail operation shares: trail names and ARNs, finding the trail a request
names, the Trail shape of the API, and the authorization checks on trail ARNs.

Messages of InvalidTrailNameException, TrailNotFoundException, TrailAlreadyExistsException and
S3BucketDoesNotExistException follow AWS's wording as quoted in public client test suites; the
others are ours (AWS does not document them).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any

from trailgate.clock import iso_z
from trailgate.errors import AwsError
from trailgate.services.registry import AuthzCheck, CallContext
from trailgate.trail import trails
from trailgate.trail.trails import Trail, trail_arn

_NAME_CHARS = re.compile(r"[A-Za-z0-9._-]+")
_ADJACENT = re.compile(r"[._-]{2}")
_ARN = re.compile(r"arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):(\d{12}):trail/(.+)")


def error(code: str, message: str) -> AwsError:
    return AwsError(code, message, 400)


def validate_name(name: str) -> None:
    """CreateTrail's naming rules (CloudTrail API Reference, CreateTrail `Name`)."""
    if len(name) < 3:
        raise error(
            "InvalidTrailNameException",
            "Trail name too short. Minimum allowed length: 3 characters. "
            f"Specified name length: {len(name)} characters.",
        )
    if len(name) > 128:
        raise error(
            "InvalidTrailNameException",
            "Trail name too long. Maximum allowed length: 128 characters. "
            f"Specified name length: {len(name)} characters.",
        )
    if not name[0].isascii() or not name[0].isalnum():
        raise error("InvalidTrailNameException", "Trail name must starts with a letter or number.")
    if not name[-1].isascii() or not name[-1].isalnum():
        raise error("InvalidTrailNameException", "Trail name must ends with a letter or number.")
    if not _NAME_CHARS.fullmatch(name):
        raise error(
            "InvalidTrailNameException",
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, "
            "periods (.), hyphens (-), and underscores (_).",
        )
    if _ADJACENT.search(name):
        raise error(
            "InvalidTrailNameException",
            "Trail name cannot contain adjacent periods, hyphens or underscores.",
        )
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return
    raise error("InvalidTrailNameException", "Trail name cannot be formatted as an IP address.")


def parse_arn(value: str) -> tuple[str, str, str] | None:
    """(region, account, name) of a trail ARN; None if `value` is not an ARN at all."""
    if not value.startswith("arn:"):
        return None
    match = _ARN.fullmatch(value)
    if match is None:
        raise error("CloudTrailARNInvalidException", f"{value} is not a valid trail ARN.")
    return match.group(2), match.group(3), match.group(4)


def caller_account(ctx: CallContext) -> str:
    return ctx.principal.account_id or ""


def named_arn(ctx: CallContext, name_or_arn: str) -> str:
    """The ARN a request's `Name` stands for (for authorization, before the trail is found)."""
    parsed = _parse_quietly(name_or_arn)
    if parsed is not None:
        return name_or_arn
    with ctx.runtime.db.read() as conn:
        found = _find(conn, ctx, name_or_arn)
    if found is not None:
        return found.arn
    return trail_arn(ctx.region, caller_account(ctx), name_or_arn)


def _parse_quietly(value: str) -> tuple[str, str, str] | None:
    try:
        return parse_arn(value)
    except AwsError:
        return None


def _find(conn: Any, ctx: CallContext, name_or_arn: str) -> Trail | None:
    account = caller_account(ctx)
    parsed = _parse_quietly(name_or_arn)
    candidates = trails.account_trails(conn, account)
    if parsed is not None:
        region, arn_account, name = parsed
        if arn_account != account:
            return None
        for trail in candidates:
            if trail.home_region == region and trail.name == name:
                return trail
        return None
    home = [t for t in candidates if t.name == name_or_arn and t.home_region == ctx.region]
    if home:
        return home[0]
    shadows = [t for t in candidates if t.name == name_or_arn and t.multi_region]
    return shadows[0] if shadows else None


def find_trail(conn: Any, ctx: CallContext, name_or_arn: str) -> Trail:
    """The trail a request names, visible in the request's region, or TrailNotFoundException."""
    if not name_or_arn.startswith("arn:"):
        _check_name_chars(name_or_arn)
    else:
        parse_arn(name_or_arn)
    found = _find(conn, ctx, name_or_arn)
    if found is None:
        raise not_found(ctx, name_or_arn)
    return found


def _check_name_chars(name: str) -> None:
    if not _NAME_CHARS.fullmatch(name):
        raise error(
            "InvalidTrailNameException",
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, "
            "periods (.), hyphens (-), and underscores (_).",
        )


def not_found(ctx: CallContext, name_or_arn: str) -> AwsError:
    return error(
        "TrailNotFoundException",
        f"Unknown trail: {name_or_arn} for the user: {caller_account(ctx)}",
    )


def require_home_region(ctx: CallContext, trail: Trail) -> None:
    if trail.home_region != ctx.region:
        raise error(
            "InvalidHomeRegionException",
            f"This operation must be called from the trail's home region: {trail.home_region}.",
        )


def trail_shape(trail: Trail) -> dict[str, Any]:
    """The API's Trail structure (GetTrail, DescribeTrails)."""
    shape: dict[str, Any] = {
        "Name": trail.name,
        "S3BucketName": trail.s3_bucket,
        "IncludeGlobalServiceEvents": trail.include_global,
        "IsMultiRegionTrail": trail.multi_region,
        "HomeRegion": trail.home_region,
        "TrailARN": trail.arn,
        "LogFileValidationEnabled": trail.log_validation,
        "HasCustomEventSelectors": trail.has_custom_selectors,
        "HasInsightSelectors": False,
        "IsOrganizationTrail": trail.is_organization,
    }
    if trail.s3_prefix:
        shape["S3KeyPrefix"] = trail.s3_prefix
    if trail.sns_topic:
        shape["SnsTopicName"] = trail.sns_topic
    if trail.kms_key_id:
        shape["KmsKeyId"] = trail.kms_key_id
    return shape


def trail_check(
    ctx: CallContext, action: str, arn: str, context: dict[str, Any] | None = None
) -> AuthzCheck:
    parsed = _parse_quietly(arn)
    account = parsed[1] if parsed else caller_account(ctx)
    return AuthzCheck(action, arn, resource_account=account, context=context or {})


def any_resource_check(action: str) -> AuthzCheck:
    return AuthzCheck(action, "*")


def tag_keys(tags: list[dict[str, Any]]) -> dict[str, Any]:
    """aws:RequestTag/<key> and aws:TagKeys for a request that sets tags."""
    keys: dict[str, Any] = {f"aws:RequestTag/{t['Key']}": t.get("Value", "") for t in tags}
    if tags:
        keys["aws:TagKeys"] = [t["Key"] for t in tags]
    return keys


def status_time(moment: datetime | None) -> str | None:
    """GetTrailStatus' string-typed times."""
    if moment is None:
        return None
    return iso_z(moment)
