"""SCPs, permissions boundaries and session policies: what each kind allows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trailgate.policy.kinds import PolicyKind
from trailgate.policy.validate import (
    MISSING_RESOURCES,
    PRINCIPAL_NOT_ALLOWED,
    SCP_MALFORMED_MESSAGE,
    SID_NOT_ALPHANUMERIC,
    VERSION_REQUIRED,
    parse_policy,
    validate_policy,
)

ACCOUNT_A = "111111111111"

FULL_AWS_ACCESS = {
    # Organizations User Guide, "Managing SCPs": the FullAWSAccess policy.
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}

DENY_OUTSIDE_REGIONS = {
    # Organizations User Guide, "Example SCPs": deny access to AWS based on the requested Region.
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyAllOutsideEU",
            "Effect": "Deny",
            "NotAction": ["cloudfront:*", "iam:*", "route53:*", "support:*"],
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1"]},
                "ArnNotLike": {
                    "aws:PrincipalARN": ["arn:aws:iam::*:role/Role1AllowedToBypassThisSCP"]
                },
            },
        }
    ],
}


def test_full_aws_access_scp() -> None:
    assert validate_policy(json.dumps(FULL_AWS_ACCESS), PolicyKind.SCP) == []


def test_region_deny_scp() -> None:
    assert validate_policy(json.dumps(DENY_OUTSIDE_REGIONS, indent=4), PolicyKind.SCP) == []


def test_scp_allow_with_condition_not_action_and_resource_arns() -> None:
    # Allowed since September 2025 (AWS Security Blog, "AWS Organizations service control
    # policy now supports full IAM language").
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:*Object", "ec2:Describe*"],
                "Resource": ["arn:aws:s3:::trail-logs-a/*", "*"],
                "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            },
            {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"},
        ],
    }
    assert validate_policy(policy, PolicyKind.SCP) == []


@pytest.mark.parametrize("key", ["Principal", "NotPrincipal"])
def test_scps_have_no_principals(key: str) -> None:
    statement = {"Effect": "Deny", key: {"AWS": ACCOUNT_A}, "Action": "*", "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    assert validate_policy(policy, PolicyKind.SCP) == [PRINCIPAL_NOT_ALLOWED]


@pytest.mark.parametrize("version", [None, "2008-10-17"])
def test_scps_need_version_2012(version: str | None) -> None:
    policy: dict[str, Any] = {"Statement": FULL_AWS_ACCESS["Statement"]}
    if version:
        policy["Version"] = version
    assert validate_policy(policy, PolicyKind.SCP) == [VERSION_REQUIRED]


def test_scp_sids_are_alphanumeric() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "deny_all", "Effect": "Deny", "Action": "*", "Resource": "*"}],
    }
    assert validate_policy(policy, PolicyKind.SCP) == [SID_NOT_ALPHANUMERIC]


def test_organizations_message_is_exported() -> None:
    assert SCP_MALFORMED_MESSAGE.startswith("The provided policy document does not meet")


@pytest.mark.parametrize("kind", [PolicyKind.BOUNDARY, PolicyKind.SESSION])
def test_boundary_and_session_policies_are_identity_shaped(kind: PolicyKind) -> None:
    # IAM User Guide, "Permissions boundaries for IAM entities": a boundary limiting to S3,
    # CloudWatch and EC2.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:*", "cloudwatch:*", "ec2:*"],
                "Resource": "*",
            }
        ],
    }
    assert validate_policy(json.dumps(policy), kind) == []
    assert parse_policy(json.dumps(policy), kind) == policy


@pytest.mark.parametrize("kind", [PolicyKind.BOUNDARY, PolicyKind.SESSION])
def test_boundary_and_session_policies_refuse_principals(kind: PolicyKind) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*"}],
    }
    assert validate_policy(policy, kind) == [MISSING_RESOURCES, PRINCIPAL_NOT_ALLOWED]


def test_session_policy_without_version_keeps_variables_literal() -> None:
    parsed = parse_policy(
        '{"Statement":{"Effect":"Allow","Action":"s3:GetObject",'
        '"Resource":"arn:aws:s3:::b/${aws:username}/*"}}',
        PolicyKind.SESSION,
    )
    assert parsed["Version"] == "2008-10-17"
