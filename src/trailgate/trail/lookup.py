"""LookupEvents over the event queue: an account's management events of one region, newest
first, filtered by at most one attribute and a time range, in pages addressed by
(eventTime, seq) so later arrivals never shift a page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from trailgate.store.schema_trail import trail_event_resources, trail_events

ATTRIBUTE_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)

_COLUMNS = {
    "EventId": trail_events.c.event_id,
    "EventName": trail_events.c.event_name,
    "Username": trail_events.c.username,
    "EventSource": trail_events.c.event_source,
    "AccessKeyId": trail_events.c.access_key_id,
}


@dataclass(frozen=True)
class Position:
    """Where the previous page ended."""

    event_time: datetime
    seq: int


@dataclass(frozen=True)
class Found:
    seq: int
    event_id: str
    event_name: str
    event_source: str
    event_time: datetime
    read_only: bool
    username: str | None
    access_key_id: str | None
    resources: list[dict[str, str]]
    record: str


def lookup(
    conn: Connection,
    *,
    account_id: str,
    region: str,
    attribute: tuple[str, str] | None,
    start: datetime,
    end: datetime,
    limit: int,
    after: Position | None,
) -> tuple[list[Found], Position | None]:
    """One page of events and where the next one starts (None: this was the last)."""
    e = trail_events.c
    query = select(
        e.seq, e.event_id, e.event_name, e.event_source, e.event_time, e.read_only,
        e.username, e.access_key_id, e.resources, e.record,
    ).where(
        e.account_id == account_id,
        e.region == region,
        e.management.is_(True),
        e.event_time >= start,
        e.event_time <= end,
    )  # fmt: skip
    if attribute is not None:
        key, value = attribute
        if key in _COLUMNS:
            query = query.where(_COLUMNS[key] == value)
        elif key == "ReadOnly":
            query = query.where(e.read_only.is_(value == "true"))
        else:
            r = trail_event_resources.c
            column = r.resource_type if key == "ResourceType" else r.resource_name
            matching = select(r.event_id).where(r.account_id == account_id, column == value)
            query = query.where(e.event_id.in_(matching))
    if after is not None:
        query = query.where(
            or_(
                e.event_time < after.event_time,
                and_(e.event_time == after.event_time, e.seq < after.seq),
            )
        )
    query = query.order_by(e.event_time.desc(), e.seq.desc()).limit(limit + 1)
    rows = list(conn.execute(query))
    page = [
        Found(
            seq=row.seq,
            event_id=row.event_id,
            event_name=row.event_name,
            event_source=row.event_source,
            event_time=row.event_time,
            read_only=bool(row.read_only),
            username=row.username,
            access_key_id=row.access_key_id,
            resources=json.loads(row.resources) if row.resources else [],
            record=row.record,
        )
        for row in rows[:limit]
    ]
    following = Position(page[-1].event_time, page[-1].seq) if len(rows) > limit else None
    return page, following


def event_shape(found: Found) -> dict[str, Any]:
    """LookupEvents' Event structure."""
    event: dict[str, Any] = {
        "EventId": found.event_id,
        "EventName": found.event_name,
        "ReadOnly": "true" if found.read_only else "false",
        "EventTime": found.event_time,
        "EventSource": found.event_source,
        "Resources": found.resources,
        "CloudTrailEvent": found.record,
    }
    if found.access_key_id:
        event["AccessKeyId"] = found.access_key_id
    if found.username:
        event["Username"] = found.username
    return event
