"""Identity policies (user, group, role; inline and managed): valid documents and IAM's answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trailgate.policy.kinds import PolicyKind
from trailgate.policy.validate import (
    DUPLICATE_SID,
    LEGACY_PARSE_FAILED,
    MISSING_ACTIONS,
    MISSING_RESOURCES,
    NO_VENDOR,
    ONE_COLON,
    PRINCIPAL_NOT_ALLOWED,
    SID_NOT_ALPHANUMERIC,
    SYNTAX_ERROR,
    VERSION_REQUIRED,
    MalformedPolicyDocument,
    parse_policy,
    validate_policy,
)

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
BUCKET = "trail-logs-a"


def identity(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def allow(**extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": "arn:aws:s3:::example_bucket",
    }
    statement.update(extra)
    return statement


# -- valid documents -------------------------------------------------------------------------


def test_seed_user_policy_allowing_assume_role_in_account_a() -> None:
    # CloudTrail User Guide, "Assuming a Role": the user policy in account B, with account A's
    # placeholder replaced by a 12-digit id.
    text = (
        '{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": '
        f'["sts:AssumeRole"], "Resource": "arn:aws:iam::{ACCOUNT_A}:role/Test" }} ] }}'
    )
    assert validate_policy(text, PolicyKind.IDENTITY) == []
    assert validate_policy(text, PolicyKind.IDENTITY, managed=True) == []


def test_seed_placeholder_account_is_still_a_valid_iam_resource() -> None:
    # IAM checks the ARN's shape, not that the account field is a number.
    text = json.dumps(
        identity(
            {
                "Effect": "Allow",
                "Action": ["sts:AssumeRole"],
                "Resource": "arn:aws:iam::account-A-id:role/Test",
            }
        )
    )
    assert validate_policy(text, PolicyKind.IDENTITY) == []


def test_scenario_1_access_policy_for_account_b() -> None:
    # CloudTrail User Guide, "Creating an access policy to grant access to accounts you own".
    policy = identity(
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{BUCKET}"],
            "Condition": {"StringLike": {"s3:prefix": f"AWSLogs/{ACCOUNT_B}/*"}},
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{BUCKET}/AWSLogs/{ACCOUNT_B}/*"],
        },
    )
    assert validate_policy(json.dumps(policy, indent=2), PolicyKind.IDENTITY) == []


def test_scenario_2_access_policy_for_a_third_party() -> None:
    # CloudTrail User Guide, "Creating an access policy to grant access to a third party".
    policy = identity(
        {
            "Effect": "Allow",
            "Action": ["s3:Get*", "s3:List*"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        }
    )
    assert validate_policy(json.dumps(policy), PolicyKind.IDENTITY) == []


def test_home_directory_policy_with_variables() -> None:
    # IAM User Guide, "Amazon S3: Allows IAM users access to their S3 home directory,
    # programmatically and in the console".
    policy = identity(
        {
            "Sid": "ListYourObjects",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": ["arn:aws:s3:::bucket-name"],
            "Condition": {
                "StringLike": {"s3:prefix": ["home/${aws:username}", "home/${aws:username}/*"]}
            },
        },
        {
            "Sid": "ReadWriteDeleteYourObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": [
                "arn:aws:s3:::bucket-name/home/${aws:username}",
                "arn:aws:s3:::bucket-name/home/${aws:username}/*",
            ],
        },
    )
    assert validate_policy(policy, PolicyKind.IDENTITY) == []


def test_date_and_time_policy() -> None:
    # IAM User Guide, "AWS: Allows access based on date and time".
    policy = identity(
        {
            "Effect": "Allow",
            "Action": "service-prefix:action-name",
            "Resource": "*",
            "Condition": {
                "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
                "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"},
            },
        }
    )
    assert validate_policy(policy, PolicyKind.IDENTITY) == []


def test_mfa_self_management_statement_with_not_action_and_bool() -> None:
    # IAM User Guide, "AWS: Allows MFA-authenticated IAM users to manage their own MFA device".
    policy = identity(
        {
            "Sid": "BlockMostAccessUnlessSignedInWithMFA",
            "Effect": "Deny",
            "NotAction": [
                "iam:CreateVirtualMFADevice",
                "iam:EnableMFADevice",
                "iam:ListMFADevices",
                "iam:ListUsers",
                "iam:ListVirtualMFADevices",
                "iam:ResyncMFADevice",
            ],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
        {
            "Sid": "AllowManageOwnVirtualMFADevice",
            "Effect": "Allow",
            "Action": ["iam:CreateVirtualMFADevice"],
            "Resource": "arn:aws:iam::*:mfa/*",
        },
    )
    assert validate_policy(policy, PolicyKind.IDENTITY) == []


def test_source_ip_policy_with_not_ip_address() -> None:
    # IAM User Guide, "AWS: Denies access to AWS based on the source IP".
    policy = identity(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]},
                "Bool": {"aws:ViaAWSService": "false"},
            },
        }
    )
    assert validate_policy(policy, PolicyKind.IDENTITY) == []


@pytest.mark.parametrize(
    "statement",
    [
        allow(Action="iam: asdf safdsf af "),  # IAM does not check what follows the vendor
        allow(Action="*"),
        allow(Resource=["arn:aws:s3:::example_bucket", "*"]),
        allow(Resource="arn:aws:iam:::user/example_bucket"),
        allow(Resource="arn:aws:s33:::example_bucket"),
        allow(Resource="arn:aws:fdsasf"),
        allow(Resource="arn:aws:cloudwatch:us-east-1::example_bucket"),
        allow(Resource="arn:aws:invalid-service:us-east-1::example_bucket"),
        allow(Resource="arn:aws:iam::*:role/*"),
        allow(Resource="arn:aws:iam::111111111111:root"),
        allow(Resource="arn:aws:s3:us-west-2:111111111111:accesspoint/ap1"),
        allow(Condition={}),
        allow(Condition={"DateGreaterThan": {}}),
        allow(Condition={"DateGreaterThan": {"a": []}}),
        allow(Condition={"a": {}}),  # an unknown operator with nothing under it passes
        allow(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": "Department"}}),
        allow(Condition={"NumericLessThanEquals": {"s3:max-keys": 10}}),
        allow(Condition={"Bool": {"aws:SecureTransport": True}}),
        allow(Condition={"StringEqualsIfExists": {"aws:RequestTag/team": ["a", "b"]}}),
        allow(Condition={"Null": {"aws:TokenIssueTime": "true"}}),
        allow(Sid="dsfsdfsdfsdfsdfsadfsd"),
        allow(Sid=""),
        allow(Action="fsx:ListBucket"),
        allow(NotResource="arn:aws:s3:::example_bucket", Resource=None),
    ],
)
def test_valid_statements(statement: dict[str, Any]) -> None:
    statement = {key: value for key, value in statement.items() if value is not None}
    assert validate_policy(identity(statement), PolicyKind.IDENTITY) == []


def test_statement_may_be_a_single_object() -> None:
    assert validate_policy({"Version": "2012-10-17", "Statement": allow()}, "identity") == []


# -- IAM's recorded answers, first message -----------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("This is not a json document", SYNTAX_ERROR),
        ({"Version": "2013-10-17", "Statement": allow()}, SYNTAX_ERROR),
        ({"Version": "2012-10-17"}, SYNTAX_ERROR),
        ({"Version": "2012-10-17", "Statement": ["afd"]}, SYNTAX_ERROR),
        ({"Version": "2012-10-17", "Statement": []}, SYNTAX_ERROR),
        ({"Version": "2012-10-17", "Statement": allow(), "Extra field": "value"}, SYNTAX_ERROR),
        (identity(allow(**{"Extra field": "value"})), SYNTAX_ERROR),
        ({"Version": "2012-10-17", "Id": ["x"], "Statement": allow()}, SYNTAX_ERROR),
        ({"Version": "2012-10-17", "Id": {}, "Statement": allow()}, SYNTAX_ERROR),
        (identity(allow(Effect="invalid")), SYNTAX_ERROR),
        (identity({"Action": "s3:ListBucket", "Resource": "*"}), SYNTAX_ERROR),
        (identity(allow(Resource={"a": "arn:aws:s3:::example_bucket"})), SYNTAX_ERROR),
        (identity(allow(Effect="Deny", Resource=["adfdf", {}])), SYNTAX_ERROR),
        (identity(allow(Action=[[]])), SYNTAX_ERROR),
        (identity(allow(Action={})), SYNTAX_ERROR),
        (identity(allow(NotAction="s3:ListBucket")), SYNTAX_ERROR),
        (identity(allow(NotResource="*")), SYNTAX_ERROR),
        (identity(allow(Condition=[])), SYNTAX_ERROR),
        (identity(allow(Condition="a")), SYNTAX_ERROR),
        (identity(allow(Condition={"a": "b"})), SYNTAX_ERROR),
        (identity(allow(Condition={"DateGreaterThan": "b"})), SYNTAX_ERROR),
        (identity(allow(Condition={"DateGreaterThan": []})), SYNTAX_ERROR),
        (identity(allow(Condition={"DateGreaterThan": {"a": {}}})), SYNTAX_ERROR),
        (identity(allow(Condition={"x": {"a": "1"}})), SYNTAX_ERROR),
        (
            identity(allow(Condition={"ForAnyValue::StringEqualsIfExists": {"a": "asf"}})),
            SYNTAX_ERROR,
        ),
        (identity(allow(Condition={"StringEquals": {"aws:username": None}})), SYNTAX_ERROR),
        (identity(allow(Condition={"StringEquals": {"aws:username": [["x"]]}})), SYNTAX_ERROR),
        (identity(allow(Sid={})), SYNTAX_ERROR),
        (identity(allow(Sid=[])), SYNTAX_ERROR),
        (identity(allow(Action="invalid")), NO_VENDOR),
        (identity(allow(NotAction="", Action=None)), NO_VENDOR),
        (identity(allow(Action="a a:ListBucket")), "Vendor a a is not valid"),
        (identity(allow(Action="s3:List:Bucket")), ONE_COLON),
        (
            identity(allow(Action="s3s:ListBucket"), allow(Action="s:3s:ListBucket")),
            ONE_COLON,
        ),
        (identity(allow(Resource="invalid resource")), 'Resource invalid resource must be in '
                                                       'ARN format or "*".'),
        (identity(allow(Resource="")), 'Resource  must be in ARN format or "*".'),
        (identity(allow(Resource=["adf"])), 'Resource adf must be in ARN format or "*".'),
        (
            identity(allow(NotAction="s3s:ListBucket", Action=None, Resource="a:bsdfdsafsad")),
            'Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*".',
        ),
        (
            identity(allow(Resource="a:b:cadfsdf")),
            'Partition "b" is not valid for resource "arn:b:cadfsdf:*:*:*".',
        ),
        (
            identity(allow(Resource="aws:s3:::example_bucket")),
            'Partition "s3" is not valid for resource "arn:s3:::example_bucket:*".',
        ),
        (
            identity(
                allow(
                    Resource=["arn:error:s3:::example_bucket", "arn:error:s3::example_bucket"]
                )
            ),
            'Partition "error" is not valid for resource "arn:error:s3:::example_bucket".',
        ),
        (identity({"Effect": "Allow", "Action": "s3:ListBucket"}), MISSING_RESOURCES),
        (identity(allow(Resource=[])), MISSING_RESOURCES),
        (identity({"Effect": "Allow", "Action": "invalid"}), MISSING_RESOURCES),
        (identity({"Effect": "Allow", "Resource": "arn:aws:s3:::example_bucket"}),
         MISSING_ACTIONS),
        (identity({"Effect": "Allow"}), MISSING_ACTIONS),
        (identity(allow(Action=[])), MISSING_ACTIONS),
        (identity({"Effect": "Deny"}, allow()), MISSING_ACTIONS),
        (
            identity(allow(Resource="arn:aws:iam:::example_bucket")),
            'IAM resource path must either be "*", root, or start with user/, federated-user/, '
            "role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, "
            "saml-provider/, oidc-provider/, report/, access-report/.",
        ),
        (
            identity(allow(Resource="arn:aws:iam:us-east-1::example_bucket")),
            "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region "
            "information.",
        ),
        (
            identity(allow(Resource="arn:aws:s3:us-east-1::example_bucket")),
            "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information.",
        ),
        (
            identity(allow(Resource="arn:aws")),
            "Resource vendor must be fully qualified and cannot contain regexes.",
        ),
        (
            identity(allow(Resource="arn:aws:s3*:::bucket")),
            "Resource vendor must be fully qualified and cannot contain regexes.",
        ),
        (identity(allow(Resource="arn:aws:s3::example_bucket")), LEGACY_PARSE_FAILED),
        (identity({"Effect": "Allow", "Resource": "arn:aws:s3::example_bucket"}),
         LEGACY_PARSE_FAILED),
        (identity(allow(Resource="arn:aws::::example_bucket")), LEGACY_PARSE_FAILED),
        (identity(allow(Resource="arn:aws::fdsasf")), LEGACY_PARSE_FAILED),
        (identity(allow(Effect="denY")), LEGACY_PARSE_FAILED),
        (identity({"Effect": "allow", "Resource": "arn:aws:s3:us-east-1::example_bucket"}),
         LEGACY_PARSE_FAILED),
        (identity(allow(Condition={"DateGreaterThan": {"a": "sdfdsf"}})), LEGACY_PARSE_FAILED),
        (identity({"Effect": "Allow", "Condition": {"DateGreaterThan": {"a": "sdfdsf"}}}),
         LEGACY_PARSE_FAILED),
        (identity(allow(Condition={"DateLessThanEquals": {"a": "234-13"}})),
         LEGACY_PARSE_FAILED),
        (
            identity(allow(Condition={"DateLessThanEquals": {"a": "2016-12-13t2:00:00.593194+1"}})),
            LEGACY_PARSE_FAILED,
        ),
        (
            identity(
                allow(
                    Condition={"DateLessThanEquals": {"a": "2016-12-13t2:00:00.1999999999+10:59"}}
                )
            ),
            LEGACY_PARSE_FAILED,
        ),
        (identity(allow(Condition={"DateLessThan": {"a": "9223372036854775808"}})),
         LEGACY_PARSE_FAILED),
        (
            identity(
                allow(
                    Resource="arn:error:s3:::example_bucket",
                    Condition={"DateGreaterThan": {"a": "sdfdsf"}},
                )
            ),
            LEGACY_PARSE_FAILED,
        ),
        (
            identity(allow(Sid="sdf"), {"Sid": "sdf", "Effect": "Allow"}),
            DUPLICATE_SID,
        ),
        (
            identity(allow(Sid="sdf", Effect="aLLow"), {"Sid": "sdf", "Effect": "Allow"}),
            LEGACY_PARSE_FAILED,
        ),
    ],
)
def test_first_message_is_iams(document: Any, message: str) -> None:
    if isinstance(document, dict):
        for statement in document.get("Statement", []):
            if isinstance(statement, dict):
                for key in [k for k, v in statement.items() if v is None]:
                    del statement[key]
    problems = validate_policy(document, PolicyKind.IDENTITY)
    assert problems, "expected the document to be refused"
    assert problems[0] == message


@pytest.mark.parametrize("version", [None, "2008-10-17"])
def test_managed_policies_need_version_2012(version: str | None) -> None:
    document = identity(allow(), version=version)
    assert validate_policy(document, PolicyKind.IDENTITY, managed=True) == [VERSION_REQUIRED]
    assert validate_policy(document, PolicyKind.IDENTITY) == []


def test_version_check_comes_before_legacy_parsing() -> None:
    document = identity(allow(Effect="denY"), version=None)
    assert validate_policy(document, PolicyKind.IDENTITY, managed=True) == [
        VERSION_REQUIRED,
        LEGACY_PARSE_FAILED,
    ]


def test_version_must_be_a_known_string() -> None:
    for version in (2012, None, ["2012-10-17"], "2012-10-17 "):
        document = {"Version": version, "Statement": allow()}
        assert validate_policy(document, PolicyKind.IDENTITY) == [SYNTAX_ERROR]


@pytest.mark.parametrize("key", ["Principal", "NotPrincipal"])
def test_identity_policy_must_not_name_a_principal(key: str) -> None:
    document = identity(allow(**{key: {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"}}))
    assert validate_policy(document, PolicyKind.IDENTITY) == [PRINCIPAL_NOT_ALLOWED]


@pytest.mark.parametrize("sid", ["Allow-Read", "with space", "under_score", "ümlaut"])
def test_identity_sids_are_alphanumeric(sid: str) -> None:
    assert validate_policy(identity(allow(Sid=sid)), PolicyKind.IDENTITY) == [
        SID_NOT_ALPHANUMERIC
    ]


@pytest.mark.parametrize("key", ["Sid", "Effect", "Action", "Resource", "Condition"])
def test_null_elements_are_syntax_errors(key: str) -> None:
    statement = dict(allow(), **{key: None})
    assert validate_policy(identity(statement), PolicyKind.IDENTITY)[0] == SYNTAX_ERROR


def test_empty_sids_do_not_collide() -> None:
    assert validate_policy(identity(allow(Sid=""), allow(Sid="")), PolicyKind.IDENTITY) == []


def test_all_problems_are_reported_in_iam_order() -> None:
    document = identity(
        {"Effect": "Allow", "Action": "nocolon", "Resource": "nothing", "Principal": "*"},
        allow(Effect="allow"),
    )
    assert validate_policy(document, PolicyKind.IDENTITY) == [
        LEGACY_PARSE_FAILED,
        'Resource nothing must be in ARN format or "*".',
        NO_VENDOR,
        PRINCIPAL_NOT_ALLOWED,
    ]


def test_parse_policy_raises_with_every_message() -> None:
    document = identity({"Effect": "Allow"}, allow(Action="x"))
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse_policy(document, PolicyKind.IDENTITY)
    assert str(raised.value) == MISSING_ACTIONS
    assert raised.value.messages == [MISSING_ACTIONS, MISSING_RESOURCES, NO_VENDOR]
    assert not raised.value.size_exceeded


def test_parse_policy_records_the_default_version() -> None:
    parsed = parse_policy(json.dumps({"Statement": allow()}), PolicyKind.IDENTITY)
    assert parsed["Version"] == "2008-10-17"
    assert parsed["Statement"] == allow()


def test_parse_policy_keeps_an_explicit_version_and_does_not_touch_the_input() -> None:
    document = identity(allow())
    parsed = parse_policy(document, PolicyKind.IDENTITY)
    assert parsed == document
    assert parsed is not document
    no_version = {"Statement": allow()}
    parse_policy(no_version, PolicyKind.IDENTITY)
    assert "Version" not in no_version
