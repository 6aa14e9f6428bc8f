"""Trail tags: AddTags, ListTags, RemoveTags (resources named by trail ARN).

A trail holds at most 50 tags; keys are unique (AddTags overwrites the value of a key already
present); RemoveTags removes keys, and a given Value must match for the tag to go.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

from trailgate.services.cloudtrail.common import (
    caller_account,
    error,
    parse_arn,
    tag_keys,
    trail_check,
)
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.store.schema_trail import trail_trails
from trailgate.trail import trails
from trailgate.trail.trails import Trail

MAX_TAGS = 50


def validate_tags(
    new: list[dict[str, Any]], *, existing: list[dict[str, str]]
) -> list[dict[str, str]]:
    """`existing` with `new` applied; InvalidTagParameterException / TagsLimitExceededException."""
    merged = {t["Key"]: t.get("Value", "") for t in existing}
    for tag in new:
        key = tag.get("Key", "")
        if not key or len(key) > 128 or key.lower().startswith("aws:"):
            raise error("InvalidTagParameterException", f"Tag key {key!r} is not valid.")
        value = tag.get("Value", "")
        if len(value) > 256:
            raise error("InvalidTagParameterException", f"Tag value for {key!r} is too long.")
        merged[key] = value
    if len(merged) > MAX_TAGS:
        raise error(
            "TagsLimitExceededException",
            f"The number of tags on the trail would exceed the limit of {MAX_TAGS}.",
        )
    return [{"Key": k, "Value": v} for k, v in merged.items()]


def _resource(ctx: CallContext, resource_id: str) -> Trail:
    parsed = parse_arn(resource_id)
    if parsed is None:
        raise error(
            "CloudTrailARNInvalidException",
            f"{resource_id} is not a valid ARN. Tags can only be applied to trails by ARN.",
        )
    with ctx.runtime.db.read() as conn:
        for trail in trails.account_trails(conn, caller_account(ctx)):
            if trail.arn == resource_id:
                return trail
    raise error("ResourceNotFoundException", f"The resource with ARN {resource_id} was not found.")


def _authorize(action: str, with_tags: bool) -> Any:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        context = tag_keys(params.get("TagsList") or []) if with_tags else {}
        return [trail_check(ctx, action, params["ResourceId"], context)]

    return authorize


def _store(ctx: CallContext, trail: Trail, tags: list[dict[str, str]]) -> None:
    with ctx.runtime.db.begin() as conn:
        conn.execute(
            update(trail_trails).where(trail_trails.c.id == trail.id).values(tags=json.dumps(tags))
        )
    ctx.trail["resources"] = [
        {"accountId": trail.account_id, "type": "AWS::CloudTrail::Trail", "ARN": trail.arn}
    ]


@operation("cloudtrail", "AddTags", authorize=_authorize("cloudtrail:AddTags", True))
def add_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    trail = _resource(ctx, params["ResourceId"])
    _store(ctx, trail, validate_tags(params.get("TagsList") or [], existing=trail.tags))
    return {}


@operation("cloudtrail", "RemoveTags", authorize=_authorize("cloudtrail:RemoveTags", True))
def remove_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    trail = _resource(ctx, params["ResourceId"])
    doomed = params.get("TagsList") or []
    kept = []
    for tag in trail.tags:
        match = any(
            d.get("Key") == tag["Key"] and ("Value" not in d or d["Value"] == tag["Value"])
            for d in doomed
        )
        if not match:
            kept.append(tag)
    _store(ctx, trail, kept)
    return {}


def _authorize_list(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    return [trail_check(ctx, "cloudtrail:ListTags", arn) for arn in params["ResourceIdList"]]


@operation("cloudtrail", "ListTags", authorize=_authorize_list, read_only=True)
def list_tags(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    found = [_resource(ctx, arn) for arn in params["ResourceIdList"]]
    return {"ResourceTagList": [{"ResourceId": t.arn, "TagsList": t.tags} for t in found]}
