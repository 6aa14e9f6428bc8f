"""CloudTrail in the console: event history (LookupEvents with its one lookup attribute, a
time range and paging; each event's full record as JSON) and the trails with their status
(logging or not, latest delivery, latest digest, delivery errors).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from trailgate.console.web import BadRequest, CallFailure, Page, failure_status
from trailgate.errors import AwsError
from trailgate.http import HttpResponse

# LookupEvents' lookup attributes (botocore LookupAttributeKey), in the console's order.
ATTRIBUTES = (
    "EventName",
    "Username",
    "ResourceName",
    "ResourceType",
    "EventSource",
    "EventId",
    "ReadOnly",
    "AccessKeyId",
)
PAGE_SIZE = 50


def _parse_time(value: str, label: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    for layout in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise BadRequest(f"{label} must look like 2024-05-01T10:30 (UTC).")


def _event_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        raw = event.get("CloudTrailEvent") or "{}"
        try:
            record = json.loads(raw)
        except ValueError:
            record = {}
        response = record.get("responseElements") or {}
        login = response.get("ConsoleLogin") or response.get("consoleLogin")
        error = record.get("errorCode") or (
            "Failure" if login == "Failure" else None
        )
        rows.append(
            {
                **event,
                "record": record,
                "failed": error,
                "error_code": record.get("errorCode"),
                "event_type": record.get("eventType"),
                "source_ip": record.get("sourceIPAddress"),
                "pretty": json.dumps(record, indent=2),
            }
        )
    return rows


def event_history(page: Page) -> HttpResponse:
    query = page.request.query
    attribute = query.get("attribute", "EventName")
    if attribute not in ATTRIBUTES:
        attribute = "EventName"
    value = query.get("value", "").strip()
    params: dict[str, Any] = {"MaxResults": PAGE_SIZE}
    if value:
        params["LookupAttributes"] = [{"AttributeKey": attribute, "AttributeValue": value}]
    start = _parse_time(query.get("start", ""), "Start time")
    end = _parse_time(query.get("end", ""), "End time")
    if start is not None:
        params["StartTime"] = start
    if end is not None:
        params["EndTime"] = end
    if query.get("token"):
        params["NextToken"] = query["token"]
    result, failure = page.try_call("cloudtrail", "LookupEvents", params)
    return page.render(
        "events.html",
        failure_status(failure),
        attributes=ATTRIBUTES,
        attribute=attribute,
        value=value,
        start=query.get("start", ""),
        end=query.get("end", ""),
        events=_event_rows((result or {}).get("Events") or []),
        next_token=(result or {}).get("NextToken"),
        failure=failure,
    )


def event_detail(page: Page) -> HttpResponse:
    event_id = page.request.query.get("id", "").strip()
    result = page.call(
        "cloudtrail", "LookupEvents",
        {"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": event_id}]},
    )
    rows = _event_rows(result.get("Events") or [])
    if not rows:
        raise AwsError("NotFound", f"No event with id {event_id} in the event history.", 404)
    return page.render("event.html", event=rows[0])


def trail_list(page: Page) -> HttpResponse:
    failure = None
    trails: list[dict[str, Any]] = []
    try:
        trails = page.call("cloudtrail", "DescribeTrails", {}).get("trailList") or []
    except AwsError as err:
        failure = CallFailure.of(err)
    rows = []
    for trail in trails:
        status, status_failure = page.try_call(
            "cloudtrail", "GetTrailStatus", {"Name": trail.get("TrailARN") or trail["Name"]}
        )
        rows.append({"trail": trail, "status": status or {}, "status_failure": status_failure})
    return page.render("trails.html", failure_status(failure), rows=rows, failure=failure)


ROUTES = [
    ("GET", r"/cloudtrail", event_history),
    ("GET", r"/cloudtrail/event", event_detail),
    ("GET", r"/cloudtrail/trails", trail_list),
]
