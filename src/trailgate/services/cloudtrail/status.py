"""Logging on and off: StartLogging, StopLogging, GetTrailStatus.

StartLogging makes the trail's cursor start at the newest queued event, so only calls made from
then on are delivered; StopLogging records the newest event still owed (`stop_seq`); the
worker delivers up to it and, for trails with log file validation, writes a final digest. Both
read the newest sequence number under the queue's order lock, so no event is counted on the
wrong side of the switch.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from trailgate.services.cloudtrail.common import (
    find_trail,
    named_arn,
    not_found,
    require_home_region,
    status_time,
    trail_check,
)
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.store.schema_trail import trail_trails
from trailgate.trail import queue, trails


def _authorize(action: str) -> Any:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        return [trail_check(ctx, action, named_arn(ctx, params["Name"]))]

    return authorize


def _resources(ctx: CallContext, trail: trails.Trail) -> None:
    ctx.trail["resources"] = [
        {"accountId": trail.account_id, "type": "AWS::CloudTrail::Trail", "ARN": trail.arn}
    ]


@operation("cloudtrail", "StartLogging", authorize=_authorize("cloudtrail:StartLogging"))
def start_logging(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    runtime = ctx.runtime
    with runtime.db.read() as conn:
        trail = find_trail(conn, ctx, params["Name"])
    require_home_region(ctx, trail)
    interval = timedelta(seconds=float(runtime.config.trail_delivery_interval))
    with runtime.db.begin() as conn:
        queue.lock_order(conn)
        current = trails.get_by_id(conn, trail.id, lock=True)
        if current is None or current.deleted_at is not None:
            raise not_found(ctx, params["Name"])
        if not current.logging:
            newest = queue.max_seq(conn)
            values: dict[str, Any] = {
                "logging": True,
                "stop_seq": None,
                "start_logging_time": ctx.now,
                "next_delivery_due": ctx.now + interval,
                "final_digest_due": False,
            }
            owed = current.stop_seq is not None and current.cursor_seq < current.stop_seq
            if owed:
                # Events of the previous logging period are still being delivered: skip only
                # what was recorded while the trail was stopped.
                gaps = [*current.gaps, [current.stop_seq, newest]]
                values["gaps"] = json.dumps(gaps)
            else:
                values.update(cursor_seq=newest, gaps=None)
            conn.execute(
                update(trail_trails).where(trail_trails.c.id == trail.id).values(**values)
            )
            trails.changed(runtime, conn)
    _resources(ctx, trail)
    return {}


@operation("cloudtrail", "StopLogging", authorize=_authorize("cloudtrail:StopLogging"))
def stop_logging(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    runtime = ctx.runtime
    with runtime.db.read() as conn:
        trail = find_trail(conn, ctx, params["Name"])
    require_home_region(ctx, trail)
    with runtime.db.begin() as conn:
        queue.lock_order(conn)
        current = trails.get_by_id(conn, trail.id, lock=True)
        if current is None or current.deleted_at is not None:
            raise not_found(ctx, params["Name"])
        if current.logging:
            conn.execute(
                update(trail_trails)
                .where(trail_trails.c.id == trail.id)
                .values(
                    logging=False,
                    stop_seq=queue.max_seq(conn),
                    stop_logging_time=ctx.now,
                    final_digest_due=current.log_validation,
                )
            )
            trails.changed(runtime, conn)
    _resources(ctx, trail)
    worker = getattr(runtime, "delivery", None)
    if worker is not None:
        worker.poke()
    return {}


@operation(
    "cloudtrail",
    "GetTrailStatus",
    authorize=_authorize("cloudtrail:GetTrailStatus"),
    read_only=True,
)
def get_trail_status(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    with ctx.runtime.db.read() as conn:
        trail = find_trail(conn, ctx, params["Name"])
    out: dict[str, Any] = {
        "IsLogging": trail.logging,
        "LatestDeliveryTime": trail.latest_delivery_time,
        "LatestDeliveryError": trail.latest_delivery_error,
        "LatestDigestDeliveryTime": trail.latest_digest_time,
        "LatestDigestDeliveryError": trail.latest_digest_error,
        "StartLoggingTime": trail.start_logging_time,
        "StopLoggingTime": trail.stop_logging_time,
        "TimeLoggingStarted": status_time(trail.start_logging_time),
        "TimeLoggingStopped": status_time(trail.stop_logging_time),
        "LatestDeliveryAttemptTime": status_time(trail.latest_delivery_attempt_time),
        "LatestDeliveryAttemptSucceeded": status_time(trail.latest_delivery_succeeded_time),
    }
    return {k: v for k, v in out.items() if v is not None}
