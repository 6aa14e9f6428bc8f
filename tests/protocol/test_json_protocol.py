"""The awsJson1.1 protocol (CloudTrail, Organizations) round-tripped through boto3."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from boto_roundtrip import REQUEST_ID, RoundTrip, manual_request, without_metadata
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailgate.errors import AwsError
from trailgate.protocol import Route, codec_for, error_response, route
from trailgate.protocol.routing import RoutingError

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def cloudtrail() -> RoundTrip:
    return RoundTrip("cloudtrail")


@pytest.fixture(scope="module")
def organizations() -> RoundTrip:
    return RoundTrip("organizations")


@pytest.fixture(scope="module")
def cloudtrail_unchecked() -> RoundTrip:
    return RoundTrip("cloudtrail", validate_params=False)


@pytest.fixture(scope="module")
def organizations_unchecked() -> RoundTrip:
    return RoundTrip("organizations", validate_params=False)


# --- CloudTrail ----------------------------------------------------------------------------------


def test_create_trail_round_trip(cloudtrail: RoundTrip) -> None:
    params = {
        "Name": "org-trail",
        "S3BucketName": "shared-logs",
        "S3KeyPrefix": "prefix/with spaces",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "EnableLogFileValidation": False,
        "IsOrganizationTrail": False,
        "TagsList": [{"Key": "owner", "Value": "security"}, {"Key": "empty"}],
    }
    output = {
        "Name": "org-trail",
        "S3BucketName": "shared-logs",
        "S3KeyPrefix": "prefix/with spaces",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "TrailARN": "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail",
        "LogFileValidationEnabled": False,
        "IsOrganizationTrail": False,
    }
    result = cloudtrail.call("create_trail", params, output)
    assert cloudtrail.last is not None
    assert cloudtrail.last.route == Route("cloudtrail", "CreateTrail")
    assert cloudtrail.last.parsed == params
    assert without_metadata(result) == output
    response = cloudtrail.last.response
    assert response is not None
    assert response.header("Content-Type") == "application/x-amz-json-1.1"
    assert response.header("x-amzn-RequestId") == REQUEST_ID
    assert result["ResponseMetadata"]["RequestId"] == REQUEST_ID


def test_lookup_events_timestamps_both_ways(cloudtrail: RoundTrip) -> None:
    params = {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}],
        "StartTime": datetime(2024, 5, 1, 0, 0, 0, tzinfo=UTC),
        "EndTime": datetime(2024, 5, 6, 7, 8, 9, 250000, tzinfo=UTC),
        "MaxResults": 50,
        "NextToken": "tok/+=",
    }
    event = {
        "eventVersion": "1.08",
        "eventName": "ConsoleLogin",
        "eventTime": "2024-05-02T03:04:05Z",
    }
    output = {
        "Events": [
            {
                "EventId": "a1b2",
                "EventName": "ConsoleLogin",
                "ReadOnly": "false",
                "EventTime": datetime(2024, 5, 2, 3, 4, 5, 500000, tzinfo=UTC),
                "EventSource": "signin.amazonaws.com",
                "Username": "alice",
                "Resources": [{"ResourceType": "AWS::IAM::User", "ResourceName": "alice"}],
                "CloudTrailEvent": json.dumps(event),
            }
        ],
        "NextToken": "next",
    }
    result = cloudtrail.call("lookup_events", params, output)
    assert cloudtrail.last is not None and cloudtrail.last.parsed == params
    assert without_metadata(result) == output
    body = json.loads(cloudtrail.last.response.body)  # type: ignore[union-attr]
    assert body["Events"][0]["EventTime"] == 1714619045.5


def test_old_style_target_prefix_is_accepted() -> None:
    request = manual_request(
        "POST",
        "/",
        headers=[
            ("X-Amz-Target", "CloudTrail_20131101.DescribeTrails"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        body=b'{"trailNameList": ["a", "b"], "includeShadowTrails": false}',
    )
    found = route(request)
    assert found == Route("cloudtrail", "DescribeTrails")
    assert codec_for("cloudtrail").parse(request, found) == {
        "trailNameList": ["a", "b"],
        "includeShadowTrails": False,
    }


def test_cloudtrail_error_round_trip(cloudtrail: RoundTrip) -> None:
    error = AwsError(
        "TrailNotFoundException",
        "Unknown trail: arn:aws:cloudtrail:us-east-1:123456789012:trail/x for the user: 1",
    )
    with pytest.raises(cloudtrail.client.exceptions.TrailNotFoundException) as caught:
        cloudtrail.call("get_trail", {"Name": "x"}, error=error)
    assert caught.value.response["Error"] == {"Code": error.code, "Message": error.message}
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    response = cloudtrail.last.response  # type: ignore[union-attr]
    assert response.header("x-amzn-ErrorType") == "TrailNotFoundException"
    assert json.loads(response.body) == {"__type": error.code, "message": error.message}


def test_cloudtrail_missing_required_member(cloudtrail_unchecked: RoundTrip) -> None:
    with pytest.raises(ClientError) as caught:
        cloudtrail_unchecked.call("create_trail", {"Name": "t"}, None)
    assert caught.value.response["Error"] == {
        "Code": "InvalidParameterException",
        "Message": "1 validation error detected: Value null at 's3BucketName' failed to "
        "satisfy constraint: Member must not be null",
    }


def test_cloudtrail_leaves_ranges_to_the_service(cloudtrail_unchecked: RoundTrip) -> None:
    # CloudTrail answers out-of-range MaxResults with its own InvalidMaxResultsException, so the
    # protocol layer passes the value through.
    cloudtrail_unchecked.call("lookup_events", {"MaxResults": 500}, {"Events": []})
    assert cloudtrail_unchecked.last is not None
    assert cloudtrail_unchecked.last.parsed == {"MaxResults": 500}


def test_wrong_json_type_is_serialization_exception(cloudtrail_unchecked: RoundTrip) -> None:
    with pytest.raises(ClientError) as caught:
        cloudtrail_unchecked.call("lookup_events", {"MaxResults": "ten"}, None)
    assert caught.value.response["Error"] == {
        "Code": "SerializationException",
        "Message": "STRING_VALUE can not be converted to an Integer",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Request body is not valid JSON"),
        (b"[1, 2]", "Start of structure or map expected in request body"),
        (b'{"trailNameList": "a"}', "STRING_VALUE can not be converted to a List"),
    ],
)
def test_malformed_json_bodies(body: bytes, message: str) -> None:
    request = manual_request(
        "POST", "/", headers=[("X-Amz-Target", "CloudTrail_20131101.DescribeTrails")], body=body
    )
    with pytest.raises(AwsError) as caught:
        codec_for("cloudtrail").parse(request, route(request))
    assert caught.value.code == "SerializationException"
    assert caught.value.message == message


def test_empty_body_is_an_empty_input() -> None:
    request = manual_request(
        "POST", "/", headers=[("X-Amz-Target", "CloudTrail_20131101.DescribeTrails")], body=b""
    )
    assert codec_for("cloudtrail").parse(request, route(request)) == {}


def test_unknown_operation_error_response() -> None:
    request = manual_request(
        "POST", "/", headers=[("X-Amz-Target", "AWSOrganizationsV20161128.Explode")], body=b"{}"
    )
    with pytest.raises(RoutingError) as caught:
        route(request)
    response = error_response(caught.value, REQUEST_ID)
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "UnknownOperationException"
    assert response.header("x-amzn-ErrorType") == "UnknownOperationException"


# --- Organizations -------------------------------------------------------------------------------


def test_create_account_round_trip(organizations: RoundTrip) -> None:
    params = {
        "Email": "logs+archive@example.com",
        "AccountName": "Log Archive",
        "RoleName": "OrganizationAccountAccessRole",
        "IamUserAccessToBilling": "DENY",
        "Tags": [{"Key": "purpose", "Value": "logs"}],
    }
    output = {
        "CreateAccountStatus": {
            "Id": "car-examplecreateaccountrequestid111",
            "AccountName": "Log Archive",
            "State": "IN_PROGRESS",
            "RequestedTimestamp": WHEN,
        }
    }
    result = organizations.call("create_account", params, output)
    assert organizations.last is not None
    assert organizations.last.route == Route("organizations", "CreateAccount")
    assert organizations.last.parsed == params
    assert without_metadata(result) == output


def test_list_accounts_round_trip(organizations: RoundTrip) -> None:
    output = {
        "Accounts": [
            {
                "Id": "111111111111",
                "Arn": "arn:aws:organizations::111111111111:account/o-exampleorgid/111111111111",
                "Email": "a@example.com",
                "Name": "Management",
                "Status": "ACTIVE",
                "JoinedMethod": "INVITED",
                "JoinedTimestamp": datetime(2020, 1, 1, tzinfo=UTC),
            },
            {
                "Id": "222222222222",
                "Arn": "arn:aws:organizations::111111111111:account/o-exampleorgid/222222222222",
                "Email": "b@example.com",
                "Name": "Log Archive",
                "Status": "ACTIVE",
                "JoinedMethod": "CREATED",
                "JoinedTimestamp": datetime(2021, 6, 7, 8, 9, 10, 123000, tzinfo=UTC),
            },
        ],
        "NextToken": "page2",
    }
    result = organizations.call("list_accounts", {"MaxResults": 2}, output)
    assert organizations.last is not None and organizations.last.parsed == {"MaxResults": 2}
    assert without_metadata(result) == output


def test_organizations_error_uses_capital_message(organizations: RoundTrip) -> None:
    error = AwsError("AccountNotFoundException", "We can't find an account with the AccountId.")
    with pytest.raises(organizations.client.exceptions.AccountNotFoundException) as caught:
        organizations.call("describe_account", {"AccountId": "123456789012"}, error=error)
    assert caught.value.response["Error"]["Message"] == error.message
    body = json.loads(organizations.last.response.body)  # type: ignore[union-attr]
    assert body == {"__type": "AccountNotFoundException", "Message": error.message}


def test_organizations_validation_has_a_reason(organizations_unchecked: RoundTrip) -> None:
    with pytest.raises(ClientError) as caught:
        organizations_unchecked.call("create_account", {"Email": "a@b.c", "AccountName": "x"}, None)
    response = caught.value.response
    assert response["Error"]["Code"] == "InvalidInputException"
    assert response["Reason"] == "MIN_LENGTH_EXCEEDED"
    assert response["Error"]["Message"] == (
        # Email is a sensitive member, so its value is not echoed.
        "1 validation error detected: Value at 'email' failed to satisfy constraint: "
        "Member must have length greater than or equal to 6"
    )


def test_organizations_enum_violation(organizations_unchecked: RoundTrip) -> None:
    with pytest.raises(ClientError) as caught:
        organizations_unchecked.call(
            "create_account",
            {"Email": "abc@example.com", "AccountName": "x", "IamUserAccessToBilling": "MAYBE"},
            None,
        )
    assert caught.value.response["Reason"] == "INVALID_ENUM"
    assert (
        "Member must satisfy enum value set: [ALLOW, DENY]"
        in caught.value.response["Error"]["Message"]
    )


# --- property-based ------------------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    token=st.one_of(st.none(), st.text(max_size=40)),
)
def test_lookup_events_time_and_token_round_trip(
    cloudtrail: RoundTrip, start: datetime, token: str | None
) -> None:
    params: dict[str, object] = {"StartTime": start}
    if token is not None:
        params["NextToken"] = token
    output = {"Events": [{"EventId": "e", "EventTime": start}]}
    result = cloudtrail.call("lookup_events", params, output)
    assert cloudtrail.last is not None and cloudtrail.last.parsed == params
    assert without_metadata(result) == output
