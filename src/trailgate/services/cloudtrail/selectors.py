"""PutEventSelectors / GetEventSelectors (and GetInsightSelectors, which has nothing to report:
trailgate has no CloudTrail Insights).

A trail uses either basic event selectors or advanced ones; putting one kind replaces the other.
The worker applies the selectors to events recorded from then on that it has not delivered yet.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update

from trailgate.services.cloudtrail.common import (
    error,
    find_trail,
    named_arn,
    require_home_region,
    trail_check,
)
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.store.schema_trail import trail_trails
from trailgate.trail import trails
from trailgate.trail.selectors import DEFAULT_SELECTORS, validate_advanced, validate_basic


def _authorize(action: str) -> Any:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        return [trail_check(ctx, action, named_arn(ctx, params["TrailName"]))]

    return authorize


def _selectors_of(trail: trails.Trail) -> dict[str, Any]:
    if trail.advanced_selectors:
        return {"AdvancedEventSelectors": json.loads(trail.advanced_selectors)}
    selectors = json.loads(trail.event_selectors) if trail.event_selectors else DEFAULT_SELECTORS
    return {"EventSelectors": selectors}


@operation(
    "cloudtrail", "PutEventSelectors", authorize=_authorize("cloudtrail:PutEventSelectors")
)
def put_event_selectors(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    basic = params.get("EventSelectors")
    advanced = params.get("AdvancedEventSelectors")
    if (basic is None) == (advanced is None):
        raise error(
            "InvalidParameterCombinationException",
            "Specify either EventSelectors or AdvancedEventSelectors, not both and not neither.",
        )
    values: dict[str, Any] = {"has_custom_selectors": True}
    if basic is not None:
        values.update(
            event_selectors=json.dumps(validate_basic(basic)), advanced_selectors=None
        )
    else:
        values.update(
            event_selectors=None, advanced_selectors=json.dumps(validate_advanced(advanced))
        )
    runtime = ctx.runtime
    with runtime.db.read() as conn:
        trail = find_trail(conn, ctx, params["TrailName"])
    require_home_region(ctx, trail)
    with runtime.db.begin() as conn:
        conn.execute(update(trail_trails).where(trail_trails.c.id == trail.id).values(**values))
        trails.changed(runtime, conn)
        updated = trails.get_by_id(conn, trail.id)
    assert updated is not None
    ctx.trail["resources"] = [
        {"accountId": trail.account_id, "type": "AWS::CloudTrail::Trail", "ARN": trail.arn}
    ]
    return {"TrailARN": updated.arn, **_selectors_of(updated)}


@operation(
    "cloudtrail",
    "GetEventSelectors",
    authorize=_authorize("cloudtrail:GetEventSelectors"),
    read_only=True,
)
def get_event_selectors(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        trail = find_trail(conn, ctx, params["TrailName"])
    return {"TrailARN": trail.arn, **_selectors_of(trail)}


def _authorize_insights(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
    name = params.get("TrailName") or ""
    return [trail_check(ctx, "cloudtrail:GetInsightSelectors", named_arn(ctx, name))]


@operation(
    "cloudtrail", "GetInsightSelectors", authorize=_authorize_insights, read_only=True
)
def get_insight_selectors(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("TrailName")
    if not name:
        raise error("InvalidParameterException", "TrailName is required.")
    with ctx.runtime.db.read() as conn:
        trail = find_trail(conn, ctx, name)
    raise error(
        "InsightNotEnabledException",
        f"Trail {trail.arn} does not have Insights enabled.",
    )
