"""The query protocol (IAM, STS) round-tripped through boto3: botocore serializes the request,
we route and parse it; we serialize the response, botocore parses it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from boto_roundtrip import REQUEST_ID, RoundTrip, manual_request, without_metadata
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailgate.errors import AwsError
from trailgate.protocol import Route, codec_for, route

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Logs & <more>",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": "arn:aws:s3:::logs-bucket/AWSLogs/*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "Zürich"}},
            }
        ],
    }
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@pytest.fixture(scope="module")
def iam() -> RoundTrip:
    return RoundTrip("iam")


@pytest.fixture(scope="module")
def sts() -> RoundTrip:
    return RoundTrip("sts")


@pytest.fixture(scope="module")
def iam_unchecked() -> RoundTrip:
    """A client that sends whatever it is given, to exercise server-side validation."""
    return RoundTrip("iam", validate_params=False)


@pytest.fixture(scope="module")
def sts_unchecked() -> RoundTrip:
    return RoundTrip("sts", validate_params=False)


def _user(name: str, **extra: object) -> dict[str, object]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": "AIDAJQABLZS4A3QDU576Q",
        "Arn": f"arn:aws:iam::123456789012:user/{name}",
        "CreateDate": WHEN,
        **extra,
    }


# --- IAM -----------------------------------------------------------------------------------------


def test_create_user_with_tags_round_trip(iam: RoundTrip) -> None:
    params = {
        "Path": "/engineering/",
        "UserName": "bob.smith@example+1",
        "PermissionsBoundary": "arn:aws:iam::123456789012:policy/boundary",
        "Tags": [{"Key": "team", "Value": "Zürich ops"}, {"Key": "empty", "Value": ""}],
    }
    output = {"User": _user("bob.smith@example+1", Tags=params["Tags"])}
    result = iam.call("create_user", params, output)
    assert iam.last is not None
    assert iam.last.route == Route("iam", "CreateUser")
    assert iam.last.parsed == params
    assert without_metadata(result) == output
    assert result["ResponseMetadata"]["RequestId"] == REQUEST_ID


def test_list_users_pagination_members(iam: RoundTrip) -> None:
    params = {"PathPrefix": "/engineering/", "Marker": "opaque/marker==", "MaxItems": 2}
    output = {
        "Users": [
            _user("a"),
            _user("b", PasswordLastUsed=datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC)),
        ],
        "IsTruncated": True,
        "Marker": "next+marker/==",
    }
    result = iam.call("list_users", params, output)
    assert iam.last is not None and iam.last.parsed == params
    assert without_metadata(result) == output


def test_empty_list_output_and_input(iam: RoundTrip) -> None:
    result = iam.call("list_users", {}, {"Users": [], "IsTruncated": False})
    assert without_metadata(result) == {"Users": [], "IsTruncated": False}
    # botocore sends `Tags=` for an explicitly empty list.
    iam.call("create_user", {"UserName": "x", "Tags": []}, {"User": _user("x")})
    assert iam.last is not None and iam.last.parsed == {"UserName": "x", "Tags": []}


def test_put_user_policy_has_no_result_element(iam: RoundTrip) -> None:
    params = {"UserName": "bob", "PolicyName": "logs-read", "PolicyDocument": POLICY}
    result = iam.call("put_user_policy", params, None)
    assert iam.last is not None and iam.last.parsed == params
    assert without_metadata(result) == {}
    assert b"<PutUserPolicyResponse " in iam.last.response.body  # type: ignore[union-attr]
    assert b"Result>" not in iam.last.response.body  # type: ignore[union-attr]


def test_create_role_with_tags_and_url_encoded_policy_documents(iam: RoundTrip) -> None:
    params = {
        "RoleName": "log-reader",
        "AssumeRolePolicyDocument": TRUST,
        "Description": "Reads CloudTrail logs",
        "MaxSessionDuration": 7200,
        "Tags": [{"Key": "owner", "Value": "security"}],
    }
    role = {
        "Path": "/",
        "RoleName": "log-reader",
        "RoleId": "AROADBQP57FF2AEXAMPLE",
        "Arn": "arn:aws:iam::123456789012:role/log-reader",
        "CreateDate": WHEN,
        "AssumeRolePolicyDocument": TRUST,
        "MaxSessionDuration": 7200,
        "Tags": [{"Key": "owner", "Value": "security"}],
    }
    result = iam.call("create_role", params, {"Role": role})
    assert iam.last is not None and iam.last.parsed == params
    # IAM sends policy documents URL-encoded and botocore decodes them to dicts.
    assert b"%7B%22Version%22" in iam.last.response.body  # type: ignore[union-attr]
    assert result["Role"]["AssumeRolePolicyDocument"] == json.loads(TRUST)
    assert {k: v for k, v in result["Role"].items() if k != "AssumeRolePolicyDocument"} == {
        k: v for k, v in role.items() if k != "AssumeRolePolicyDocument"
    }


def test_get_account_authorization_details_nested_output(iam: RoundTrip) -> None:
    output = {
        "UserDetailList": [
            {
                "Path": "/",
                "UserName": "alice",
                "UserId": "AIDA1",
                "Arn": "arn:aws:iam::123456789012:user/alice",
                "CreateDate": WHEN,
                "UserPolicyList": [{"PolicyName": "inline", "PolicyDocument": POLICY}],
                "GroupList": ["admins", "auditors"],
                "AttachedManagedPolicies": [
                    {
                        "PolicyName": "ReadOnly",
                        "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                    }
                ],
                "Tags": [{"Key": "k", "Value": "v"}],
            }
        ],
        "RoleDetailList": [
            {
                "Path": "/",
                "RoleName": "r",
                "RoleId": "AROA1",
                "Arn": "arn:aws:iam::123456789012:role/r",
                "CreateDate": WHEN,
                "AssumeRolePolicyDocument": TRUST,
                "InstanceProfileList": [],
                "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": POLICY}],
                "RoleLastUsed": {"LastUsedDate": WHEN, "Region": "us-east-1"},
            }
        ],
        "Policies": [
            {
                "PolicyName": "managed",
                "PolicyId": "ANPA1",
                "Arn": "arn:aws:iam::123456789012:policy/managed",
                "DefaultVersionId": "v2",
                "AttachmentCount": 1,
                "IsAttachable": True,
                "PolicyVersionList": [
                    {"Document": POLICY, "VersionId": "v2", "IsDefaultVersion": True},
                    {"Document": POLICY, "VersionId": "v1", "IsDefaultVersion": False},
                ],
            }
        ],
        "IsTruncated": False,
    }
    params = {"Filter": ["User", "Role", "LocalManagedPolicy"], "MaxItems": 100}
    result = iam.call("get_account_authorization_details", params, output)
    assert iam.last is not None and iam.last.parsed == params
    decoded = json.loads(json.dumps(output, default=str))
    parsed = json.loads(json.dumps(without_metadata(result), default=str))
    # Every policy document comes back as the dict it encodes; everything else unchanged.
    for user in decoded["UserDetailList"]:
        for policy in user["UserPolicyList"]:
            policy["PolicyDocument"] = json.loads(policy["PolicyDocument"])
    for role in decoded["RoleDetailList"]:
        role["AssumeRolePolicyDocument"] = json.loads(role["AssumeRolePolicyDocument"])
        for policy in role["RolePolicyList"]:
            policy["PolicyDocument"] = json.loads(policy["PolicyDocument"])
    for policy in decoded["Policies"]:
        for version in policy["PolicyVersionList"]:
            version["Document"] = json.loads(version["Document"])
    assert parsed == decoded


def test_map_output_get_account_summary(iam: RoundTrip) -> None:
    output = {"SummaryMap": {"Users": 3, "Roles": 12, "AccountMFAEnabled": 1}}
    result = iam.call("get_account_summary", {}, output)
    assert without_metadata(result) == output
    assert b"<entry><key>Users</key><value>3</value></entry>" in iam.last.response.body  # type: ignore[union-attr]


def test_iam_error_round_trip(iam: RoundTrip) -> None:
    error = AwsError("NoSuchEntity", "The user with name nobody cannot be found.", status=404)
    with pytest.raises(iam.client.exceptions.NoSuchEntityException) as caught:
        iam.call("get_user", {"UserName": "nobody"}, error=error)
    response = caught.value.response
    assert response["Error"] == {
        "Type": "Sender",
        "Code": "NoSuchEntity",
        "Message": "The user with name nobody cannot be found.",
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert response["ResponseMetadata"]["RequestId"] == REQUEST_ID


def test_receiver_fault_error(iam: RoundTrip) -> None:
    error = AwsError("ServiceFailure", "internal", status=500, sender_fault=False)
    with pytest.raises(ClientError) as caught:
        iam.call("list_users", {}, error=error)
    assert caught.value.response["Error"]["Type"] == "Receiver"
    assert caught.value.response["Error"]["Code"] == "ServiceFailure"


# --- STS -----------------------------------------------------------------------------------------


def test_assume_role_round_trip(sts: RoundTrip) -> None:
    params = {
        "RoleArn": "arn:aws:iam::123456789012:role/log-reader",
        "RoleSessionName": "auditor@example.com",
        "PolicyArns": [
            {"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
            {"arn": "arn:aws:iam::123456789012:policy/extra"},
        ],
        "Policy": POLICY,
        "DurationSeconds": 3600,
        "Tags": [{"Key": "project", "Value": "trail"}, {"Key": "cost-center", "Value": "42"}],
        "TransitiveTagKeys": ["project"],
        "ExternalId": "ext-123:abc",
        "SourceIdentity": "alice",
    }
    output = {
        "Credentials": {
            "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
            "SessionToken": "AQoDYXdzEPT//////////wEXAMPLE+/=",
            "Expiration": datetime(2024, 5, 6, 8, 8, 9, 123000, tzinfo=UTC),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": "AROA3XFRBF535PLBIFPI4:auditor@example.com",
            "Arn": "arn:aws:sts::123456789012:assumed-role/log-reader/auditor@example.com",
        },
        "PackedPolicySize": 8,
        "SourceIdentity": "alice",
    }
    result = sts.call("assume_role", params, output)
    assert sts.last is not None
    assert sts.last.route == Route("sts", "AssumeRole")
    assert sts.last.parsed == params
    assert without_metadata(result) == output
    assert b'xmlns="https://sts.amazonaws.com/doc/2011-06-15/"' in sts.last.response.body  # type: ignore[union-attr]


def test_get_caller_identity_round_trip(sts: RoundTrip) -> None:
    output = {
        "UserId": "AIDAEXAMPLE",
        "Account": "123456789012",
        "Arn": "arn:aws:iam::123456789012:user/alice",
    }
    result = sts.call("get_caller_identity", {}, output)
    assert sts.last is not None and sts.last.parsed == {}
    assert without_metadata(result) == output


def test_sts_error_uses_the_same_error_response_wrapper(sts: RoundTrip) -> None:
    error = AwsError(
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/x is not authorized to perform: sts:AssumeRole",
        status=403,
    )
    with pytest.raises(ClientError) as caught:
        sts.call(
            "assume_role",
            {"RoleArn": "arn:aws:iam::1:role/r" + "x" * 10, "RoleSessionName": "s1"},
            error=error,
        )
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["Error"]["Message"] == error.message
    body = sts.last.response.body  # type: ignore[union-attr]
    assert body.startswith(
        b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
    )


# --- validation ----------------------------------------------------------------------------------


def _validation_error(trip: RoundTrip, method: str, params: dict[str, object]) -> str:
    with pytest.raises(ClientError) as caught:
        trip.call(method, params, None)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert error["Type"] == "Sender"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Message"])


def test_pattern_violation_message(iam_unchecked: RoundTrip) -> None:
    message = _validation_error(iam_unchecked, "create_user", {"UserName": "bad name!"})
    assert message == (
        "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )


def test_missing_required_member_message(sts_unchecked: RoundTrip) -> None:
    message = _validation_error(
        sts_unchecked, "assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/r"}
    )
    assert message == (
        "1 validation error detected: Value null at 'roleSessionName' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_several_violations_are_counted_and_joined(sts_unchecked: RoundTrip) -> None:
    message = _validation_error(
        sts_unchecked,
        "assume_role",
        {"RoleArn": "", "RoleSessionName": "ok-name", "DurationSeconds": 60},
    )
    assert message == (
        "3 validation errors detected: "
        "Value '' at 'roleArn' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF"
        "\\uE000-\\uFFFD\\u10000-\\u10FFFF]+; "
        "Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater "
        "than or equal to 20; "
        "Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value "
        "greater than or equal to 900"
    )


def test_enum_violation(iam_unchecked: RoundTrip) -> None:
    message = _validation_error(iam_unchecked, "list_policies", {"Scope": "Everything"})
    assert message == (
        "1 validation error detected: Value 'Everything' at 'scope' failed to satisfy "
        "constraint: Member must satisfy enum value set: [All, AWS, Local]"
    )


def test_nested_list_member_path_and_unicode_tag_pattern(iam_unchecked: RoundTrip) -> None:
    tags = [{"Key": "Ünïcode ключ 名前", "Value": "ok"}, {"Key": "bad$key", "Value": "v"}]
    message = _validation_error(iam_unchecked, "create_user", {"UserName": "u", "Tags": tags})
    assert message == (
        "1 validation error detected: Value 'bad$key' at 'tags.2.member.key' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
    )


def test_list_length_violation(sts_unchecked: RoundTrip) -> None:
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    message = _validation_error(
        sts_unchecked,
        "assume_role",
        {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s1", "Tags": tags},
    )
    assert message.startswith("1 validation error detected: Value '[")
    assert message.endswith(
        "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
    )


def test_sensitive_values_are_not_echoed(iam_unchecked: RoundTrip) -> None:
    message = _validation_error(
        iam_unchecked, "create_login_profile", {"UserName": "u", "Password": "hunter2€"}
    )
    assert message == (
        "1 validation error detected: Value at 'password' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
    )
    assert "hunter2" not in message


def test_malformed_integer_is_a_validation_error(iam_unchecked: RoundTrip) -> None:
    message = _validation_error(iam_unchecked, "list_users", {"MaxItems": "lots"})
    assert "Value 'lots' at 'maxItems'" in message


def test_unknown_parameters_are_ignored() -> None:
    request = manual_request(
        "POST",
        "/",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=b"Action=GetUser&Version=2010-05-08&UserName=bob&Bogus=1&Tags.member.1.Key=x",
        host="iam.amazonaws.com",
    )
    found = route(request)
    assert codec_for("iam").parse(request, found) == {"UserName": "bob"}


def test_list_indexes_are_numeric_and_sparse_indexes_keep_order() -> None:
    params = "&".join(
        f"Filter.member.{i}={name}" for i, name in [(10, "Role"), (2, "User"), (3, "Group")]
    )
    request = manual_request(
        "GET",
        "/",
        query=f"Action=GetAccountAuthorizationDetails&Version=2010-05-08&{params}",
        host="iam.amazonaws.com",
    )
    parsed = codec_for("iam").parse(request, route(request))
    assert parsed == {"Filter": ["User", "Group", "Role"]}


def test_query_string_and_form_body_parameters_merge() -> None:
    request = manual_request(
        "POST",
        "/",
        query="Action=ListUsers&Version=2010-05-08",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=b"PathPrefix=%2Fa%2F&MaxItems=5",
        host="iam.amazonaws.com",
    )
    assert codec_for("iam").parse(request, route(request)) == {"PathPrefix": "/a/", "MaxItems": 5}


# --- property-based ------------------------------------------------------------------------------

_NAME = st.text(alphabet="abcXYZ019+=,.@_-", min_size=1, max_size=64)
_TAG_TEXT = st.text(alphabet=st.sampled_from("abcÄéß日本 _.:/=+-@0123"), min_size=1, max_size=20)
_TAGS = st.lists(st.fixed_dictionaries({"Key": _TAG_TEXT, "Value": _TAG_TEXT}), max_size=5).map(
    lambda tags: list({t["Key"]: t for t in tags}.values())
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_NAME, tags=_TAGS)
def test_create_user_input_round_trips(
    iam: RoundTrip, name: str, tags: list[dict[str, str]]
) -> None:
    params = {"UserName": name, "Tags": tags}
    iam.call("create_user", params, {"User": _user(name, Tags=tags)})
    assert iam.last is not None and iam.last.parsed == params


_ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(_ANY_TEXT.filter(bool), max_size=4),
    marker=st.one_of(st.none(), _ANY_TEXT.filter(bool)),
    seconds=st.integers(min_value=0, max_value=4_000_000_000),
)
def test_list_users_output_round_trips(
    iam: RoundTrip, names: list[str], marker: str | None, seconds: int
) -> None:
    when = datetime.fromtimestamp(seconds, UTC)
    output: dict[str, object] = {
        "Users": [_user(name, CreateDate=when) for name in names],
        "IsTruncated": marker is not None,
    }
    if marker is not None:
        output["Marker"] = marker
    result = iam.call("list_users", {}, output)
    assert without_metadata(result) == output
