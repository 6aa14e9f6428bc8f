"""LookupEvents: one lookup attribute, a time range, pages of at most 50 newest first, and the
errors of the botocore model. Event history needs no trail: every management event of the
account is in it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from trail_support import client, make_user, root_of

from trailgate.testing.server import ServerProcess


def lookup_all(ct: object, **kwargs: object) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    paginator = ct.get_paginator("lookup_events")  # type: ignore[attr-defined]
    for page in paginator.paginate(**kwargs):
        events.extend(page["Events"])
    return events


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_lookup_filters_paging_and_order(server: ServerProcess) -> None:
    root = root_of(server)
    account = server.management_account_id
    iam = client(server, "iam", root)
    for n in range(7):
        iam.create_user(UserName=f"lookup-{n}")
    carl = make_user(server, root, "carl", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]})  # fmt: skip
    client(server, "iam", carl).get_user(UserName="lookup-3")
    ct = client(server, "cloudtrail", root)

    everything = lookup_all(ct)
    times = [e["EventTime"] for e in everything]
    assert times == sorted(times, reverse=True)
    names = [e["EventName"] for e in everything]
    assert names.count("CreateUser") == 8  # seven plus carl
    newest_first = [
        json.loads(e["CloudTrailEvent"])["requestParameters"]["userName"]
        for e in everything
        if e["EventName"] == "CreateUser"
    ]
    assert newest_first[-1] == "lookup-0"

    # Pages of two, following NextToken, give the same events exactly once (LookupEvents
    # calls are events too, so they are left out of the comparison).
    pages = lookup_all(ct, PaginationConfig={"PageSize": 2})
    assert len({e["EventId"] for e in pages}) == len(pages)

    def others(events: list[dict[str, object]]) -> list[object]:
        return [e["EventId"] for e in events if e["EventName"] != "LookupEvents"]

    assert others(pages) == others(everything)
    first = ct.lookup_events(MaxResults=2)
    assert len(first["Events"]) == 2 and "NextToken" in first

    def by(key: str, value: str) -> list[dict[str, object]]:
        return lookup_all(ct, LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])

    created = by("EventName", "CreateUser")
    assert {e["EventName"] for e in created} == {"CreateUser"} and len(created) == 8
    event = created[0]
    assert event["EventSource"] == "iam.amazonaws.com"
    assert event["ReadOnly"] == "false"
    assert event["Username"] == "root"
    assert event["AccessKeyId"] == root["AccessKeyId"]
    record = json.loads(event["CloudTrailEvent"])  # type: ignore[arg-type]
    assert record["eventID"] == event["EventId"]
    assert record["recipientAccountId"] == account
    assert {"ResourceType": "AWS::IAM::User", "ResourceName": "carl"} in created[0]["Resources"]

    [by_id] = by("EventId", str(event["EventId"]))
    assert by_id["EventId"] == event["EventId"]
    carls = by("Username", "carl")
    assert [e["EventName"] for e in carls] == ["GetUser"]
    assert carls[0]["AccessKeyId"] == carl["AccessKeyId"]
    assert by("AccessKeyId", carl["AccessKeyId"])[0]["EventId"] == carls[0]["EventId"]
    assert {e["EventName"] for e in by("ReadOnly", "true")} >= {"GetUser"}
    assert "CreateUser" not in {e["EventName"] for e in by("ReadOnly", "true")}
    assert {e["EventSource"] for e in by("EventSource", "iam.amazonaws.com")} == {
        "iam.amazonaws.com"
    }
    named = by("ResourceName", "lookup-3")
    assert sorted(e["EventName"] for e in named) == ["CreateUser", "GetUser"]
    assert {e["EventName"] for e in by("ResourceType", "AWS::IAM::User")} >= {"CreateUser"}

    # Time range: nothing in the future, everything in the last hour.
    now = datetime.now(UTC)
    hour = timedelta(hours=1)
    assert lookup_all(ct, StartTime=now + hour, EndTime=now + 2 * hour) == []
    recent = lookup_all(ct, StartTime=now - hour, EndTime=now + timedelta(minutes=1))
    assert len(recent) >= len(everything)

    # Another account sees none of it.
    other = server.create_account("Other")
    other_ct = client(
        server,
        "cloudtrail",
        {"AccessKeyId": other["RootAccessKeyId"], "SecretAccessKey": other["RootSecretAccessKey"]},
    )
    assert not [e for e in lookup_all(other_ct) if e["EventName"] == "CreateUser"]


def test_lookup_errors(server: ServerProcess) -> None:
    ct = client(server, "cloudtrail", root_of(server))
    two = [
        {"AttributeKey": "EventName", "AttributeValue": "CreateUser"},
        {"AttributeKey": "Username", "AttributeValue": "root"},
    ]
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(LookupAttributes=two)
    assert error_of(exc) == "InvalidLookupAttributesException"
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "yes"}])
    assert error_of(exc) == "InvalidLookupAttributesException"
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(MaxResults=51)
    assert error_of(exc) == "InvalidMaxResultsException"
    now = datetime.now(UTC)
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(StartTime=now, EndTime=now - timedelta(hours=1))
    assert error_of(exc) == "InvalidTimeRangeException"
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(NextToken="not-a-token")
    assert error_of(exc) == "InvalidNextTokenException"
    token = ct.lookup_events(MaxResults=1).get("NextToken")
    if token:
        # A token belongs to the query that issued it.
        with pytest.raises(ClientError) as exc:
            ct.lookup_events(
                MaxResults=1,
                NextToken=token,
                LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "X"}],
            )
        assert error_of(exc) == "InvalidNextTokenException"
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(EventCategory="everything")
    assert error_of(exc) == "InvalidEventCategoryException"
    assert ct.lookup_events(EventCategory="insight")["Events"] == []
