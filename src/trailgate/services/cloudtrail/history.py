"""Event history and signing keys: LookupEvents and ListPublicKeys.

LookupEvents covers the caller's account's management events of the request's region for the
last 90 days (data events are never in event history). NextToken is opaque to clients: it names
where the previous page ended and the query it belongs to, so a token used with a different
query is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from trailgate.services.cloudtrail.common import any_resource_check, caller_account, error
from trailgate.services.registry import AuthzCheck, CallContext, operation
from trailgate.trail import keys as signing_keys
from trailgate.trail import lookup as history
from trailgate.trail.queue import RETENTION_DAYS

MAX_RESULTS = 50


def _authorize(action: str) -> Any:
    def authorize(ctx: CallContext, params: dict[str, Any]) -> list[AuthzCheck]:
        return [any_resource_check(action)]

    return authorize


def _query_id(account: str, region: str, attribute: Any, params: dict[str, Any]) -> str:
    # The range as the caller gave it: defaults move with the clock between pages.
    bounds = [params[k].isoformat() if params.get(k) else None for k in ("StartTime", "EndTime")]
    text = json.dumps([account, region, attribute, bounds])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _token(position: history.Position, query: str) -> str:
    raw = json.dumps({"t": position.event_time.isoformat(), "s": position.seq, "q": query})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _position(token: str, query: str) -> history.Position:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["q"] != query:
            raise ValueError("token of another query")
        return history.Position(datetime.fromisoformat(data["t"]), int(data["s"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise error("InvalidNextTokenException", "Invalid NextToken.") from exc


@operation(
    "cloudtrail", "LookupEvents", authorize=_authorize("cloudtrail:LookupEvents"), read_only=True
)
def lookup_events(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise error(
            "InvalidLookupAttributesException",
            "You can specify only one lookup attribute.",
        )
    attribute: tuple[str, str] | None = None
    if attributes:
        key = attributes[0].get("AttributeKey")
        value = attributes[0].get("AttributeValue")
        if key not in history.ATTRIBUTE_KEYS or not value:
            raise error(
                "InvalidLookupAttributesException",
                f"Invalid lookup attribute: {key}. Valid keys are "
                f"{', '.join(history.ATTRIBUTE_KEYS)}.",
            )
        if key == "ReadOnly" and value not in ("true", "false"):
            raise error(
                "InvalidLookupAttributesException",
                "The ReadOnly lookup attribute must be true or false.",
            )
        attribute = (key, value)
    category = params.get("EventCategory")
    if category is not None and category != "insight":
        raise error("InvalidEventCategoryException", f"Invalid EventCategory: {category}.")
    limit = params.get("MaxResults", MAX_RESULTS)
    if not 1 <= int(limit) <= MAX_RESULTS:
        raise error(
            "InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS}."
        )
    now = ctx.now
    start = params.get("StartTime") or now - timedelta(days=RETENTION_DAYS)
    end = params.get("EndTime") or now
    if start > end:
        raise error("InvalidTimeRangeException", "StartTime must not be later than EndTime.")
    if category == "insight":
        return {"Events": []}
    account = caller_account(ctx)
    query = _query_id(account, ctx.region, attribute, params)
    after = _position(params["NextToken"], query) if params.get("NextToken") else None
    with ctx.runtime.db.read() as conn:
        page, following = history.lookup(
            conn,
            account_id=account,
            region=ctx.region,
            attribute=attribute,
            start=start,
            end=end,
            limit=int(limit),
            after=after,
        )
    out: dict[str, Any] = {"Events": [history.event_shape(f) for f in page]}
    if following is not None:
        out["NextToken"] = _token(following, query)
    return out


@operation(
    "cloudtrail",
    "ListPublicKeys",
    authorize=_authorize("cloudtrail:ListPublicKeys"),
    read_only=True,
)
def list_public_keys(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    now = ctx.now
    start = params.get("StartTime")
    end = params.get("EndTime")
    if start is not None and end is not None and start > end:
        raise error("InvalidTimeRangeException", "StartTime must not be later than EndTime.")
    worker = getattr(ctx.runtime, "delivery", None)
    ring = worker.keys if worker is not None else signing_keys.KeyRing(
        ctx.runtime.db, ctx.runtime.sealer
    )
    # Every region always has a current key, as on AWS, even before its first digest.
    ring.current(ctx.region, now)
    with ctx.runtime.db.read() as conn:
        found = signing_keys.public_keys(conn, ctx.region, start or now, end or now)
    return {
        "PublicKeyList": [
            {
                "Value": k.der,
                "ValidityStartTime": k.valid_from,
                "ValidityEndTime": k.valid_to,
                "Fingerprint": k.fingerprint,
            }
            for k in found
        ]
    }
